// The leader's side of a hand-over (fuzz finding 5): its lease ends first, then one last
// record, checked against the epoch like every touch, says it was relinquished; the
// TimeoutNow names that write's version.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { LeaseKeeper } from '../../../src/coordination/lease.js';
import { decodeLease, encodeEpoch, encodeLease } from '../../../src/coordination/records.js';
import { ZkError } from '../../../src/coordination/zk-api.js';
import { ManualClock } from '../server/manual-clock.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');

function leaseOf(zk: ScriptedZk, clock: ManualClock): LeaseKeeper {
  return new LeaseKeeper({
    zk,
    paths,
    clock,
    logger: silentLogger,
    term: 1,
    leaderId: 'a',
    epochVersion: 2,
    intervalMs: 20,
    durationMs: 50,
    driftBound: 0.05,
    initialValidUntil: 50,
    initialValidUntilWall: 50,
    onExpired: () => undefined,
    onRenewed: () => undefined,
    onFenced: () => undefined,
  });
}

function cluster(): { zk: ScriptedZk; clock: ManualClock } {
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 2);
  zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 0, durationMs: 50, driftBound: 0.05 }), 5);
  return { zk, clock: new ManualClock() };
}

/** Lets the scripted ZooKeeper's answers (microtasks) arrive. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('relinquishing the lease for a hand-over', () => {
  it('ends the lease at once, then writes a relinquished record and returns its version', async () => {
    const { zk, clock } = cluster();
    const lease = leaseOf(zk, clock);
    clock.jump(0); // the first touch
    await settle();
    expect(lease.holds()).toBe(true);
    expect(zk.tree.get(paths.lease)!.version).toBe(6);
    const version = lease.relinquish();
    // No lease read from here on, before the record is even sent.
    expect(lease.holds()).toBe(false);
    expect(await version).toBe(7);
    const record = decodeLease(paths.lease, zk.tree.get(paths.lease)!.data);
    expect(record).toMatchObject({ term: 1, leaderId: 'a', durationMs: 50, relinquished: true });
    // No touch follows it.
    clock.run(200, 10);
    await settle();
    expect(zk.tree.get(paths.lease)!.version).toBe(7);
  });

  it('is refused when the epoch moved (the record is epoch-checked like every touch)', async () => {
    const { zk, clock } = cluster();
    const lease = leaseOf(zk, clock);
    zk.put(paths.epoch, encodeEpoch({ term: 2, leaderId: 'b' }), 3);
    const err: unknown = await lease.relinquish().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkError);
    expect(err).toMatchObject({ code: 'BAD_VERSION', failedOp: 0 });
    expect(decodeLease(paths.lease, zk.tree.get(paths.lease)!.data).relinquished).toBe(false);
  });

  it('rejects when its outcome is unknown (then there is no hand-over)', async () => {
    const { zk, clock } = cluster();
    const lease = leaseOf(zk, clock);
    zk.failNextMulti('CONNECTION_LOSS', true);
    await expect(lease.relinquish()).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
  });
});
