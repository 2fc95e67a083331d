import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import { PauseMonitor } from '../../../src/server/pause-monitor.js';

/** A clock whose timers fire only when the test advances time (and late when it jumps). */
class ManualClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t;
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

describe('pause monitor', () => {
  it('reports a stall with its length, and nothing while the loop runs on time', () => {
    const clock = new ManualClock();
    const stalls: number[] = [];
    const m = new PauseMonitor({ clock, intervalMs: 10, thresholdMs: 50, onStall: (ms) => stalls.push(ms) });
    m.start();
    clock.run(500, 10);
    expect(stalls).toEqual([]);
    clock.jump(clock.now() + 310); // the loop was blocked for 300 ms past the timer
    expect(stalls).toEqual([300]);
    clock.run(800, 10);
    expect(stalls).toEqual([300]);
    m.stop();
    clock.jump(clock.now() + 1000);
    expect(stalls).toEqual([300]);
  });

  it('does not report delays below the threshold', () => {
    const clock = new ManualClock();
    const stalls: number[] = [];
    const m = new PauseMonitor({ clock, intervalMs: 10, thresholdMs: 50, onStall: (ms) => stalls.push(ms) });
    m.start();
    clock.jump(10 + 49);
    expect(stalls).toEqual([]);
  });
});
