// Shared constants of the search's data layout.

/** Leaves the state as it is whenever it succeeds (a read, or a write that reported doing nothing). */
export const READ_ONLY = 1;
/** Sets the state without looking at it: a put, or a del whose answer is unknown. */
export const BLIND = 2;
/**
 * A put placed immediately before it changes nothing anyone sees: a blind write
 * (which overwrites it), or a del that reported deleting (which ran on a present key
 * and still does).
 */
export const ABSORBER = 4;
/** An unknown-outcome incr: consecutive ones commute, so the search takes them in ascending order. */
export const COMMUTES = 8;
/** The end of a linked list; "no operation". */
export const NONE = -1;
