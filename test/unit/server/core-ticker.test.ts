// CoreTicker: ticks count real elapsed time, never run ahead, and a long stall counts as at
// most 50 ticks (the lease window is then credited with less time than passed, never more).
import { describe, expect, it } from 'vitest';
import { CoreTicker } from '../../../src/server/core-ticker.js';
import { ManualClock } from './manual-clock.js';

function ticker(clock: ManualClock): { t: CoreTicker; ticks: () => number; timers: () => number } {
  let ticks = 0;
  let timers = 0;
  const t = new CoreTicker({ clock, tickMs: 10, tick: () => void ticks++, ticked: () => undefined, onTimer: () => void timers++ });
  return { t, ticks: () => ticks, timers: () => timers };
}

describe('CoreTicker', () => {
  it('runs one tick per 10 ms on time, and none ahead when asked early', () => {
    const clock = new ManualClock();
    const k = ticker(clock);
    k.t.start();
    clock.run(100, 1);
    expect(k.ticks()).toBe(10);
    expect(k.timers()).toBe(10);
    clock.jump(105);
    k.t.catchUp();
    expect(k.ticks()).toBe(10);
    k.t.stop();
  });

  it('after a stall the ticks owed run at once, bounded: a stall of 2 s counts as 50 ticks, and the count stays in step with time', () => {
    const clock = new ManualClock();
    const k = ticker(clock);
    k.t.start();
    // The event loop was blocked for 2 s; the overdue timer fires and catches up first.
    clock.jump(2000);
    expect(k.ticks()).toBe(50);
    clock.run(2030, 1);
    expect(k.ticks()).toBe(53);
    k.t.stop();
    clock.run(3000, 10);
    expect(k.ticks()).toBe(53);
  });
});
