// One incarnation of a simulated process. Everything that reaches the process (its timers,
// peer messages, ZooKeeper replies and watch events, client calls) goes through its gate:
// a paused process (SIGSTOP) receives it only when resumed, in order; a dead one
// (SIGKILL) never. A restarted node gets a new gate, so nothing of its previous life
// reaches it.
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import type { SimScheduler } from '../sim-scheduler.js';

export type GateState = 'running' | 'paused' | 'dead';

/** Bound on what queues up for a paused process (a real one has kernel buffers). */
const MAX_QUEUED = 100_000;

export class NodeGate {
  private st: GateState = 'running';
  private queued: Array<() => void> = [];

  constructor(
    private readonly sched: SimScheduler,
    readonly name: string,
  ) {}

  get state(): GateState {
    return this.st;
  }

  /** Runs fn now if the process runs, later if it is paused, never if it is dead. */
  deliver(fn: () => void): void {
    if (this.st === 'dead') return;
    if (this.st === 'paused') {
      if (this.queued.length < MAX_QUEUED) this.queued.push(fn);
      return;
    }
    fn();
  }

  pause(): void {
    if (this.st === 'running') this.st = 'paused';
  }

  resume(): void {
    if (this.st !== 'paused') return;
    this.st = 'running';
    const q = this.queued;
    this.queued = [];
    // In arrival order, each as its own event (as a resumed event loop works through them).
    for (const fn of q) this.sched.schedule(0, () => this.deliver(fn));
  }

  kill(): void {
    this.st = 'dead';
    this.queued = [];
  }

  /** The process's clock: virtual time, with timers that wait out a pause and die with it. */
  clock(wallOffsetMs: number): Clock {
    return {
      now: () => this.sched.now(),
      wallNow: () => this.sched.now() + wallOffsetMs,
      setTimeout: (fn: () => void, ms: number): TimerHandle => this.sched.schedule(ms, () => this.deliver(fn)),
      defer: (fn: () => void): void => {
        this.sched.schedule(0, () => this.deliver(fn));
      },
    };
  }
}
