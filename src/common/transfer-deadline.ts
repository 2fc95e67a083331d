// How long a leadership transfer may take, shared by the leader that runs it and the client
// that waits for its answer. The client must wait longer than the leader: one that gives up
// first cannot tell a transfer still running from one done, and a retry of "hand over to the
// other voter" that reaches the new leader hands leadership back.

/** The leader gives a transfer at most this long, then answers: handed over, given up, or unknown. */
export const TRANSFER_TIMEOUT_MS = 5000;

/**
 * One client attempt at a transfer: the leader's deadline, and room for its answer to come
 * back from a busy member over a slow link. Past it the outcome is unknown to the client.
 */
export const TRANSFER_ATTEMPT_TIMEOUT_MS = TRANSFER_TIMEOUT_MS + 2000;

/**
 * The least room the leader keeps between its own transfer deadline and the caller's, for
 * its answer to get back: at its deadline the leader withdraws the hand-over (one turn of its
 * event loop) and answers over the wire. Under load the loop stalls: notes/timing.md measured
 * stalls of 375-507 ms at a load average of 15-19 and a longest one of 675 ms; 750 ms covers
 * them. The wire itself is a millisecond or so between two members.
 */
export const TRANSFER_ANSWER_ROOM_MIN_MS = 750;

/**
 * The share of the caller's time kept as room when that is more than the minimum: a longer
 * call keeps proportionally more, as the client's 7 s attempt keeps 2 s beyond the leader's 5 s.
 */
export const TRANSFER_ANSWER_ROOM_SHARE = 0.2;

/**
 * The shortest transfer the leader starts. The core gives up a transfer after its own
 * timeout, the larger of 1 s and 4 lease windows (node-config.ts); a hand-over ZooKeeper
 * does not confirm takes the lease window (150 ms) more than the fast path, and a stall can
 * add most of a second. One cut shorter would mostly end given up, or unknown when its
 * TimeoutNow left: worse than not starting.
 */
export const TRANSFER_MIN_MS = 1000;

/** The shortest time a caller may leave a transfer request: the shortest transfer and its answer's room. */
export const TRANSFER_MIN_REQUEST_MS = Math.ceil(Math.max(TRANSFER_MIN_MS + TRANSFER_ANSWER_ROOM_MIN_MS, TRANSFER_MIN_MS / (1 - TRANSFER_ANSWER_ROOM_SHARE)));

/** How long the leader may run a transfer for a request, or that the request leaves too little. */
export type TransferBudget = { readonly start: true; readonly timeoutMs: number } | { readonly start: false; readonly neededMs: number };

/**
 * The leader's deadline for a transfer whose caller waits `callerLeftMs` more (the request's
 * gRPC deadline less now; Infinity or NaN when it has none): that less the answer's room,
 * never more than TRANSFER_TIMEOUT_MS. A deadline the client cuts short thus still gets a
 * definite answer (handed over, or given up and still leading) wherever the leader has one,
 * instead of the client calling it lost while the leader still decides. Below
 * TRANSFER_MIN_MS the transfer is not started.
 */
export function transferBudget(callerLeftMs: number): TransferBudget {
  if (!(callerLeftMs < Infinity)) return { start: true, timeoutMs: TRANSFER_TIMEOUT_MS };
  const room = Math.max(TRANSFER_ANSWER_ROOM_MIN_MS, callerLeftMs * TRANSFER_ANSWER_ROOM_SHARE);
  const timeoutMs = Math.min(TRANSFER_TIMEOUT_MS, Math.floor(callerLeftMs - room));
  if (timeoutMs < TRANSFER_MIN_MS) return { start: false, neededMs: TRANSFER_MIN_REQUEST_MS };
  return { start: true, timeoutMs };
}
