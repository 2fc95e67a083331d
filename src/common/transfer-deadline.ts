// How long a leadership transfer may take, shared by the leader that runs it and the client
// that waits for its answer. The client must wait longer than the leader: one that gives up
// first cannot tell a transfer still running from one done, and a retry of "hand over to the
// other voter" that reaches the new leader hands leadership back.

/** The leader gives a transfer this long, then answers: handed over, given up, or unknown. */
export const TRANSFER_TIMEOUT_MS = 5000;

/**
 * One client attempt at a transfer: the leader's deadline, and room for its answer to come
 * back from a busy member over a slow link. Past it the outcome is unknown to the client.
 */
export const TRANSFER_ATTEMPT_TIMEOUT_MS = TRANSFER_TIMEOUT_MS + 2000;
