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

describe('pause monitor: where a stall came from', () => {
  it("reports the process's CPU time over the late timer's whole wait with the stall", () => {
    const clock = new ManualClock();
    let cpu = 1000;
    const reports: Array<{ ms: number; waitedMs: number; cpuMs: number } | null> = [];
    const m = new PauseMonitor({
      clock,
      intervalMs: 10,
      thresholdMs: 50,
      cpuTimeMs: () => cpu,
      onStall: (ms, c) => reports.push(c ? { ms, waitedMs: c.waitedMs, cpuMs: c.cpuMs } : null),
    });
    m.start();
    clock.run(100, 10);
    // A busy turn: 200 ms late, and the process used 190 ms of CPU meanwhile.
    cpu += 190;
    clock.jump(clock.now() + 210);
    // Kept off the cores: 120 ms late, 3 ms of CPU.
    cpu += 3;
    clock.jump(clock.now() + 130);
    expect(reports).toEqual([
      { ms: 200, waitedMs: 210, cpuMs: 190 },
      { ms: 120, waitedMs: 130, cpuMs: 3 },
    ]);
    m.stop();
  });

  it('without a CPU source the report carries no CPU figures', () => {
    const clock = new ManualClock();
    const reports: unknown[] = [];
    const m = new PauseMonitor({ clock, intervalMs: 10, thresholdMs: 50, onStall: (_ms, c) => reports.push(c) });
    m.start();
    clock.jump(clock.now() + 100);
    expect(reports).toEqual([null]);
  });
});
