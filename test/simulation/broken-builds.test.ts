// Issue 4 acceptance: a deliberately broken build is caught by the simulator. The faults
// are switched on through the node's test-only options (TestFaults).
import { BROKEN_BUILDS } from '../../src/server/broken-builds.js';
import { describe, expect, it } from 'vitest';
import { runSeeds } from './sim/seeds.js';

/** Bound on the seeds the hole-2 build may take to fail (it stops at the first). */
const SEEDS_HOLE_2 = 200;

describe('the simulator catches broken builds', () => {
  it('acknowledging a write before the ZooKeeper multi returns (S2)', async () => {
    const r = await runSeeds(1, 10, { brokenBuild: BROKEN_BUILDS['ack-before-commit'] }, true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.some((f) => f.violations.some((v) => v.startsWith('S2')))).toBe(true);
  }, 300_000);

  it('reading the tail before fencing (S3), under sudden slowdowns of the leader link to ZooKeeper', async () => {
    const r = await runSeeds(1, 40, { brokenBuild: BROKEN_BUILDS['read-tail-before-fence'], faultMix: 'slow-leader-zk' }, true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.some((f) => f.violations.some((v) => v.startsWith('S3') || v.startsWith('S2') || v.startsWith('S4')))).toBe(true);
  }, 300_000);

  it('issue 9 hole 1: replies before the WAL is durable, heartbeat commits without the term check, a kept match (S3), when the deposed leader is killed as it follows', async () => {
    const r = await runSeeds(1, 100, { brokenBuild: BROKEN_BUILDS['commit-without-term'], faultMix: 'kill-deposed-leader' }, true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.some((f) => f.violations.some((v) => v.startsWith('S3')))).toBe(true);
  }, 300_000);

  it('issue 9 hole 2: the take-over reads the tail on a new session without sync() and the mirror takes any tail (S3), when that session lands on a lagging ZooKeeper follower', async () => {
    // Stops at the first failure: seed 32 today (notes/results.md has the rate over 1,000 seeds).
    const r = await runSeeds(1, SEEDS_HOLE_2, { brokenBuild: BROKEN_BUILDS['tail-without-sync'], faultMix: 'stale-tail-takeover' }, true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.some((f) => f.violations.some((v) => v.startsWith('S3') || v.startsWith('S2')))).toBe(true);
  }, 300_000);

  it('issue 13: a follower that feeds its listeners an uncommitted suffix (L3), with listeners beside the voters', async () => {
    // Stops at the first failure (seed 1 today; 6 of seeds 1-10 fail). The correct build's
    // twin is seeds-listeners.test.ts.
    const r = await runSeeds(1, 20, { brokenBuild: BROKEN_BUILDS['feed-uncommitted'], faultMix: 'listeners' }, true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.some((f) => f.violations.some((v) => v.startsWith('L3')))).toBe(true);
  }, 300_000);

});
