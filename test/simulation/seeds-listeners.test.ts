// Seeds 1..40 of --mix listeners in CI (issue 13): 2-3 listeners beside the voters, half the
// faults aimed at them; L1-L4 (sim/listener-invariants.ts) beside S1-S5.
import { describe, expect, it } from 'vitest';
import { describeFailures, runSeeds } from './sim/seeds.js';

const SEEDS = 40;

describe('simulation seeds 1..40 with listeners', () => {
  it('listeners never write what only voters write, never count as voters, apply only committed entries, and catch up once healed', async () => {
    const r = await runSeeds(1, SEEDS, { faultMix: 'listeners' });
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures, ' --mix listeners')).toEqual([]);
    // The checks ran: listeners were fed over streams, and what they applied was compared.
    expect(r.listenerChecks.listeners).toBeGreaterThanOrEqual(SEEDS * 2);
    expect(r.listenerChecks.streams).toBeGreaterThan(SEEDS * 2);
    expect(r.listenerChecks.entries).toBeGreaterThan(SEEDS * 500);
    // Fed by a follower, by another listener, and reading ZooKeeper directly: each in many runs.
    expect(r.listenerChecks.fedByVoter).toBeGreaterThan(SEEDS / 2);
    expect(r.listenerChecks.fedByListener).toBeGreaterThan(SEEDS / 4);
    expect(r.listenerChecks.fedByZooKeeper).toBeGreaterThan(SEEDS / 4);
    expect(r.ops).toBeGreaterThan(SEEDS * 100);
  }, 300_000);
});
