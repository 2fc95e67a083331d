// The link between one follower and the leader of the model ensemble: two FIFO
// directions, like the TCP connection a real follower keeps to its leader. Up: the
// writes and session checks the follower forwards. Down: the leader's transactions and
// its answers to those checks, in the leader's order. Each message takes a seeded,
// variable latency, never overtaking an earlier one.
//
// A held link carries nothing in either direction and closes nothing (a stalled
// follower, a GC pause, a network that queues): messages wait, and all of them arrive
// in order once it is released. The follower keeps answering its clients from what it
// has meanwhile: that is how a real follower serves stale reads.
import type { SimScheduler } from '../sim-scheduler.js';

export interface ChannelNetwork {
  readonly sched: SimScheduler;
  /** One message's latency on this link, in virtual ms. */
  lag(): number;
}

/** One direction: messages in order, those due at the same time delivered as one event. */
class Direction {
  private lastAt = 0;
  /** The batch scheduled last, while it can still take messages due at the same time. */
  private open: { readonly at: number; readonly fns: Array<() => void> } | null = null;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly net: ChannelNetwork) {}

  send(fn: () => void, held: boolean): void {
    if (held) {
      this.waiting.push(fn);
      return;
    }
    this.schedule(fn);
  }

  /** The link is released: what waited leaves now, in order. */
  flush(): void {
    const waiting = this.waiting.splice(0);
    for (const fn of waiting) this.schedule(fn);
  }

  private schedule(fn: () => void): void {
    const sched = this.net.sched;
    const at = Math.max(this.lastAt, sched.now() + this.net.lag());
    this.lastAt = at;
    if (this.open !== null && this.open.at === at) {
      this.open.fns.push(fn);
      return;
    }
    const batch = { at, fns: [fn] };
    this.open = batch;
    sched.schedule(at - sched.now(), () => {
      if (this.open === batch) this.open = null;
      for (const f of batch.fns) f();
    });
  }
}

export class LeaderChannel {
  private held = false;
  private readonly up: Direction;
  private readonly down: Direction;

  constructor(net: ChannelNetwork) {
    this.up = new Direction(net);
    this.down = new Direction(net);
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Follower to leader: `arrive` runs at the leader. */
  toLeader(arrive: () => void): void {
    this.up.send(arrive, this.held);
  }

  /** Leader to follower: `arrive` runs at the follower. */
  toFollower(arrive: () => void): void {
    this.down.send(arrive, this.held);
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.up.flush();
    this.down.flush();
  }
}
