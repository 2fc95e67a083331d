// How a leadership transfer ended for the request that asked for it (or joined it): what the
// operator, the client library and a stopping member are told. A deadline that passed does
// not by itself say whether the follower takes over: once the hand-over's TimeoutNow left,
// its take-over decides, and the leader can neither call it off nor know (review 35).

export type TransferOutcome =
  /** This node no longer leads (the follower took over, or this node stepped down). */
  | 'handed-over'
  /** The transfer was given up before any TimeoutNow of it left, or could not start (no follower), and this node leads on. */
  | 'still-leads'
  /**
   * The deadline passed while the follower may still take over: the TimeoutNow left already,
   * or (for a request that joined another's transfer) that transfer still runs. Also a
   * transfer the core gave up after its TimeoutNow left: the lease is taken back, but the
   * follower's fence against the relinquished record may land before the next touch does
   * (review 37). Who leads is known only by looking (duoraft status).
   */
  | 'unknown';
