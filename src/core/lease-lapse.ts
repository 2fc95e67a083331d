// A leader's lease lapse, as the core counts it (pure: ticks in, answers out).
//
// A lapsed lease (ZooKeeper slow or unreachable) does not end the term: the driver stops
// lease reads at once, but the leader keeps taking writes (every write is an epoch-checked
// ZooKeeper multi, so nothing is acknowledged after a fence), heartbeating and objecting to
// pre-votes for `silenceTicks`, so that one lost packet on its ZooKeeper connection does not
// cost a failover. Past that it falls silent, so its follower may take over. Silence counts
// time without ZooKeeper answering: a touch that lands, even too late to renew, starts it
// again (notes/timing.md).
export class LeaseLapse {
  private lapsed = false;
  private ticks = 0;

  constructor(private readonly silenceTicks: number) {}

  /** The lease could not be renewed in time. */
  expired(): void {
    if (this.lapsed) return;
    this.lapsed = true;
    this.ticks = 0;
  }

  /** A touch landed (in time or not): ZooKeeper answers, so silence starts again. */
  touchLanded(): void {
    if (this.lapsed) this.ticks = 0;
  }

  /** A touch renewed the lease. True when that ended a lapse. */
  renewed(): boolean {
    if (!this.lapsed) return false;
    this.lapsed = false;
    return true;
  }

  /** A new term, or this node stopped leading. */
  reset(): void {
    this.lapsed = false;
    this.ticks = 0;
  }

  tick(): void {
    if (this.lapsed) this.ticks++;
  }

  get isLapsed(): boolean {
    return this.lapsed;
  }

  /** Lapsed for at least silenceTicks: no writes, no heartbeats, no objections. */
  get silent(): boolean {
    return this.lapsed && this.ticks >= this.silenceTicks;
  }
}
