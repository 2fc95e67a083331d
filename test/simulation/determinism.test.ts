// A seed replays exactly: the same fault schedule, the same events, the same operations.
import { describe, expect, it } from 'vitest';
import { runSimulation } from './sim/run.js';

describe('determinism', () => {
  it('the same seed gives the same run', async () => {
    const a = await runSimulation({ seed: 4242 });
    const b = await runSimulation({ seed: 4242 });
    expect(b.faults).toEqual(a.faults);
    expect(b.events).toBe(a.events);
    expect(b.ops).toEqual(a.ops);
    expect(b.virtualMs).toBe(a.virtualMs);
    expect(b.snapshotChecks).toEqual(a.snapshotChecks);
    expect(a.snapshotChecks.published).toBeGreaterThan(0);
    expect(a.faults.length).toBeGreaterThan(3);
    const c = await runSimulation({ seed: 4243 });
    expect(c.faults).not.toEqual(a.faults);
  }, 120_000);

  it('with listeners too (their feed network, faults and checks)', async () => {
    const a = await runSimulation({ seed: 4242, faultMix: 'listeners' });
    const b = await runSimulation({ seed: 4242, faultMix: 'listeners' });
    expect(b.faults).toEqual(a.faults);
    expect(b.events).toBe(a.events);
    expect(b.ops).toEqual(a.ops);
    expect(b.listenerChecks).toEqual(a.listenerChecks);
    expect(a.listenerChecks.entries).toBeGreaterThan(0);
  }, 120_000);
});
