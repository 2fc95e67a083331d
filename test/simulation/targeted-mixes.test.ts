// The correct build under the targeted fault mixes whose broken twins are in
// broken-builds.test.ts: each broken build is caught under its mix, and the correct build
// passes the same seeds of it. (A file of its own so that the two workers share the
// simulation tier evenly.)
import { describe, expect, it } from 'vitest';
import { describeFailures, runSeeds } from './sim/seeds.js';

describe('the correct build under the targeted fault mixes', () => {
  it('the correct build passes the kill-deposed-leader schedule', async () => {
    const r = await runSeeds(1, 100, { faultMix: 'kill-deposed-leader' });
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures, ' --mix kill-deposed-leader')).toEqual([]);
  }, 300_000);

  it('the correct build passes the stale-tail-takeover schedule', async () => {
    const r = await runSeeds(1, 100, { faultMix: 'stale-tail-takeover' });
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures, ' --mix stale-tail-takeover')).toEqual([]);
  }, 300_000);

  it('the correct build passes the same targeted schedule', async () => {
    const r = await runSeeds(1, 40, { faultMix: 'slow-leader-zk' });
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures, ' --mix slow-leader-zk')).toEqual([]);
  }, 300_000);
});
