// A leader's leadership transfer (duoraft admin transfer-leader, a leader's SIGTERM): wait
// until the follower holds and has committed everything, then send it TimeoutNow and stop
// touching the lease, so that its take-over need not wait out the lease window. Given up
// after transferTimeoutTicks steps (the follower did not catch up, or did not take over); if
// the lease was already handed over, the leader takes it back (a take-over still under way
// then fails its lease check). Pure: transfer-driving.ts tells it what the leader sees and
// carries out what it answers (the messages, the lease requests of Ready).

/** What the leader does after a step of the transfer. */
export type TransferStep =
  /** Nothing now: not caught up yet, or TimeoutNow went and the take-over is awaited. */
  | 'wait'
  /** The follower is caught up: send it TimeoutNow and relinquish the lease. */
  | 'hand-over'
  /** Given up before anything was handed over: keep leading as before. */
  | 'given-up'
  /** Given up after TimeoutNow went: keep leading, and take the lease back. */
  | 'take-lease-back';

export class LeaderTransfer {
  private active = false;
  /** Steps since it started (every tick, and every successful append reply, counts one). */
  private elapsed = 0;
  /** TimeoutNow went, and the lease was relinquished: it can no longer be simply called off. */
  private timeoutNowSent = false;
  /** Counts the transfers started: names one, so a late report about an ended one is told apart. */
  private started = 0;
  /** The driver sent the TimeoutNow (its relinquished record landed): only the take-over decides now. */
  private timeoutNowLeft = false;

  constructor(private readonly timeoutSteps: number) {}

  /** Whether a transfer is under way. */
  get transferring(): boolean {
    return this.active;
  }

  /** Which transfer runs now (or ran last): the relinquish it asks for carries this (transfer-driving.ts relinquishFailed). */
  get generation(): number {
    return this.started;
  }

  /** TimeoutNow went (the lease was relinquished) and the follower's take-over is awaited. */
  get handedOver(): boolean {
    return this.active && this.timeoutNowSent;
  }

  /** The hand-over's TimeoutNow is out: from now on an operator's deadline cannot withdraw it. */
  get timeoutNowOut(): boolean {
    return this.handedOver && this.timeoutNowLeft;
  }

  /** The driver sent the TimeoutNow of the transfer under way (after its relinquished record landed). */
  markTimeoutNowLeft(): void {
    if (this.handedOver) this.timeoutNowLeft = true;
  }

  /** Starts one (false when one is under way already). */
  start(): boolean {
    if (this.active) return false;
    this.active = true;
    this.started++;
    this.elapsed = 0;
    this.timeoutNowSent = false;
    this.timeoutNowLeft = false;
    return true;
  }

  /**
   * One step of a transfer under way. `hasFollower`: the leader has a follower to hand over
   * to; `caughtUp`: it holds every entry of the leader's log and all of them are committed.
   */
  step(hasFollower: boolean, caughtUp: boolean): TransferStep {
    this.elapsed++;
    if (this.elapsed > this.timeoutSteps || !hasFollower) return this.end() ? 'take-lease-back' : 'given-up';
    if (this.timeoutNowSent) return 'wait';
    if (!caughtUp) return 'wait';
    this.timeoutNowSent = true;
    return 'hand-over';
  }

  /** The driver's deadline passed: call it off, unless TimeoutNow went already (its take-over decides). */
  abort(): void {
    if (this.active && !this.timeoutNowSent) this.active = false;
  }

  /** Ends a transfer (if any). Returns true when the lease was handed over: the leader must take it back. */
  end(): boolean {
    // handedOver implies active (start, step, abort, end and reset keep it so), so clearing
    // both here is what the core did when it cleared them only inside a running transfer.
    const tookLease = this.active && this.timeoutNowSent;
    this.active = false;
    this.timeoutNowSent = false;
    this.timeoutNowLeft = false;
    return tookLease;
  }

  /** A new term as leader, or leadership lost: no transfer. */
  reset(): void {
    this.active = false;
    this.timeoutNowSent = false;
    this.timeoutNowLeft = false;
  }
}
