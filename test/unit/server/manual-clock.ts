import type { Clock, TimerHandle } from '../../../src/common/clock.js';

/** A clock whose timers fire only when the test advances time (and late when it jumps). */
export class ManualClock implements Clock {
  private t = 0;
  /** How far the wall clock is ahead of the monotonic one (a VM stop moves only the wall clock). */
  wallAhead = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t + this.wallAhead;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => { timer.live = false; } };
  }
  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }
  /** Jumps to `to` in one go (a stall), then runs what became due. */
  jump(to: number): void {
    this.t = to;
    const due = this.timers.filter((x) => x.live && x.at <= to);
    this.timers = this.timers.filter((x) => !due.includes(x));
    for (const x of due) x.fn();
  }
  /** Advances smoothly, firing timers on time. */
  run(until: number, step: number): void {
    while (this.t < until) this.jump(this.t + step);
  }
}

