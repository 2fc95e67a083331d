// Seeds 251..500 of the 1,000 CI runs (sharded so they run on every core).
import { describe, expect, it } from 'vitest';
import { describeFailures, runSeeds } from './sim/seeds.js';

describe('simulation seeds 251..500', () => {
  it('keeps S1-S5 under every fault, and serves again once healed', async () => {
    const r = await runSeeds(251, 250);
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures)).toEqual([]);
    expect(r.ops).toBeGreaterThan(250 * 100);
    // Snapshots are taken, published, loaded (restarts, installs, rebuilds) and compacted behind in every batch.
    expect(r.snapshotChecks.published).toBeGreaterThan(250 * 3);
    expect(r.snapshotChecks.loaded).toBeGreaterThan(250);
    expect(r.snapshotChecks.compacted).toBeGreaterThan(250 * 100);
  }, 600_000);
});
