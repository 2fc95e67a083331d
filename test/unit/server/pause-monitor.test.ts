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
