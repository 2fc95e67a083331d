import { describe, expect, it } from 'vitest';
import { PauseMonitor } from '../../../src/server/pause-monitor.js';
import { ManualClock } from './manual-clock.js';

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

describe('pause monitor: a stop only the wall clock saw (issue 9, hole 6)', () => {
  it('reports a VM stop during which the monotonic clock stood still', () => {
    const clock = new ManualClock();
    const stalls: number[] = [];
    const m = new PauseMonitor({ clock, intervalMs: 10, thresholdMs: 50, onStall: (ms) => stalls.push(ms) });
    m.start();
    clock.run(100, 10);
    clock.wallAhead += 5000; // stopped for 5 s: performance.now() did not move
    clock.run(120, 10);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(5000);
    m.stop();
  });

  it('ignores a wall clock stepped back', () => {
    const clock = new ManualClock();
    const stalls: number[] = [];
    const m = new PauseMonitor({ clock, intervalMs: 10, thresholdMs: 50, onStall: (ms) => stalls.push(ms) });
    m.start();
    clock.run(100, 10);
    clock.wallAhead -= 5000;
    clock.run(300, 10);
    expect(stalls).toEqual([]);
    m.stop();
  });
});
