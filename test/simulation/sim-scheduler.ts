// Virtual time for the deterministic simulator. Everything in a simulated run (node
// drivers, the ZooKeeper model, the simulated network and disks, the fault schedule)
// schedules its work here; events at the same virtual time run in the order they were
// scheduled. One seeded PRNG drives every random choice, so a seed replays a run exactly.
import type { Clock, TimerHandle } from '../../src/common/clock.js';
import { SeededRandom } from '../../src/core/random.js';

/** An event is its own handle: one object per schedule() (a run schedules hundreds of thousands). */
class SimEvent implements TimerHandle {
  cancelled = false;

  constructor(
    readonly at: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

export class SimScheduler {
  readonly random: SeededRandom;
  private time = 0;
  private seq = 0;
  /** Binary min-heap on (at, seq). */
  private readonly heap: SimEvent[] = [];

  constructor(readonly seed: number) {
    this.random = new SeededRandom(seed);
  }

  now(): number {
    return this.time;
  }

  /** Runs fn after delayMs of virtual time (0: after everything already due now). */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const ev = new SimEvent(this.time + Math.max(0, delayMs), this.seq++, fn);
    this.push(ev);
    return ev;
  }

  pending(): number {
    return this.heap.length;
  }

  /** Time of the next event, or Infinity. */
  nextAt(): number {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Runs the next event, then lets every promise job it started settle (so async code
   * continues as it would in a real event loop), and returns false when nothing is left.
   */
  async step(): Promise<boolean> {
    const ev = this.popLive();
    if (!ev) return false;
    this.time = ev.at;
    ev.fn();
    await drained();
    return true;
  }

  /** Runs events until virtual time `until` (or maxEvents), settling promise jobs after each. */
  async runUntil(until: number, maxEvents = Number.POSITIVE_INFINITY): Promise<number> {
    let n = 0;
    while (n < maxEvents && this.nextAt() <= until) {
      await this.step();
      n++;
    }
    if (this.time < until && this.nextAt() > until) this.time = until;
    return n;
  }

  private popLive(): SimEvent | undefined {
    for (;;) {
      const ev = this.pop();
      if (!ev || !ev.cancelled) return ev;
    }
  }

  // Sifts move a hole rather than swap pairs (a destructuring swap builds an array until
  // the code is optimised). (at, seq) orders events totally, so any correct heap pops the
  // same sequence.
  private push(ev: SimEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(ev, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = ev;
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r]!, h[l]!) ? r : l;
        const child = h[c]!;
        if (!before(child, last)) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Lets pending promise jobs run. Chains of awaits need several microtask turns; a
 * setImmediate runs only after all of them (it is the one real-event-loop primitive the
 * simulator uses, and it reads no clock).
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * settle() for the scheduler's own step, with the same guarantee at a fifth of the cost:
 * the promise resolves only once the microtask and nextTick queues are empty, and waiters
 * resolve in the order they asked. Node drains both queues between two immediates of one
 * check phase (processImmediate's runNextTicks), so IMMEDIATES_AHEAD immediates queued
 * together let as many events run, each after a full drain, in one turn of the event loop
 * instead of one turn each (its poll, an epoll_wait, and a call into JS per event were
 * ~4 us of the ~30 us an event costs). Nothing in a simulated run waits on real I/O or
 * timers, so fewer turns of the loop change nothing it does (the digests of
 * scripts/sim-digest.mjs are identical). Tests that mix real I/O keep settle().
 */
const IMMEDIATES_AHEAD = 32;
const drainWaiters: Array<() => void> = [];
let drainWaiterHead = 0;
let immediatesQueued = 0;

function drained(): Promise<void> {
  return new Promise((resolve) => {
    drainWaiters.push(resolve);
    while (immediatesQueued < IMMEDIATES_AHEAD) {
      immediatesQueued++;
      setImmediate(resolveNextDrainWaiter);
    }
  });
}

function resolveNextDrainWaiter(): void {
  immediatesQueued--;
  if (drainWaiterHead === drainWaiters.length) return; // nobody waits: let the loop go idle
  const resolve = drainWaiters[drainWaiterHead]!;
  drainWaiterHead++;
  // Drop the resolved prefix now and then rather than shift() per waiter.
  if (drainWaiterHead === drainWaiters.length) {
    drainWaiters.length = 0;
    drainWaiterHead = 0;
  }
  resolve();
  // Keep IMMEDIATES_AHEAD queued for the next turn of the loop while events keep coming.
  immediatesQueued++;
  setImmediate(resolveNextDrainWaiter);
}

/** A Clock over virtual time, for one simulated process. `skewMs` offsets its wall clock. */
export class SimClock implements Clock {
  constructor(
    private readonly sched: SimScheduler,
    private readonly wallOffsetMs = 1_700_000_000_000,
  ) {}

  now(): number {
    return this.sched.now();
  }

  wallNow(): number {
    return this.sched.now() + this.wallOffsetMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.sched.schedule(ms, fn);
  }

  defer(fn: () => void): void {
    this.sched.schedule(0, fn);
  }
}
