// One shard of the 1,000 seeds CI runs (seeds-N.test.ts). The seeds are cut into eight
// shards of 125 so that the two workers finish together: with four shards of 250 beside
// broken-builds, one worker was often left running a whole shard alone at the end.
import { describe, expect, it } from 'vitest';
import { describeFailures, runSeeds } from './seeds.js';

/** Seeds in each shard; eight shards make the 1,000. */
export const SEEDS_PER_SHARD = 125;

/** Declares the test of shard `shard` (1-based): seeds (shard-1)*125+1 .. shard*125. */
export function seedShard(shard: number): void {
  const first = (shard - 1) * SEEDS_PER_SHARD + 1;
  const last = first + SEEDS_PER_SHARD - 1;
  describe(`simulation seeds ${first}..${last}`, () => {
    it('keeps S1-S5 under every fault, and serves again once healed', async () => {
      const r = await runSeeds(first, SEEDS_PER_SHARD);
      expect(r.failures.map((f) => f.seed), describeFailures(r.failures)).toEqual([]);
      expect(r.ops).toBeGreaterThan(SEEDS_PER_SHARD * 100);
      // Snapshots are taken, published, loaded (restarts, installs, rebuilds) and compacted behind in every shard.
      expect(r.snapshotChecks.published).toBeGreaterThan(SEEDS_PER_SHARD * 3);
      expect(r.snapshotChecks.loaded).toBeGreaterThan(SEEDS_PER_SHARD);
      expect(r.snapshotChecks.compacted).toBeGreaterThan(SEEDS_PER_SHARD * 100);
    }, 600_000);
  });
}
