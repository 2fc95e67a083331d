// Review 29: a transfer given up while the hand-over's lease record waits for a touch in
// flight (LeaseKeeper.revoke waits until none is) must not write that record afterwards.
//
// The core gives a transfer up after transferTimeoutTicks however far the hand-over got, and
// then the driver takes the lease back (LeaderTerm.resumeLease: a new keeper, touching at
// once). If the old keeper still waited for its last touch then, its relinquished record went
// out AFTER the new keeper's first touch: it landed at a version above a touch that gave the
// leader a lease again, and the TimeoutNow named it. The follower, seeing exactly that
// record, fenced at once against it, before the new keeper's next touch: a deposed leader
// whose lease still held by its clock (stale lease reads, S4).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeLease, encodeEpoch, encodeLease } from '../../../src/coordination/records.js';
import type { ZkOp, ZkOpResult } from '../../../src/coordination/zk-api.js';
import { type LeaderHost, LeaderTerm } from '../../../src/server/leadership.js';
import { defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { ManualClock } from './manual-clock.js';

const paths = new ClusterPaths('t');
const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', timing: defaultTiming, limits: defaultLimits };

/** A ScriptedZk whose multis wait, in order (one session is FIFO), while `holding`. */
class HeldZk extends ScriptedZk {
  holding = false;
  private readonly held: Array<() => void> = [];
  override multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    if (!this.holding) return super.multi(ops);
    return new Promise((resolve, reject) => this.held.push(() => super.multi(ops).then(resolve, reject)));
  }
  release(): void {
    this.holding = false;
    for (const run of this.held.splice(0)) run();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const host: LeaderHost = {
  mirrorCommitted: () => undefined,
  fenced: () => undefined,
  leaseExpired: () => undefined,
  leaseRenewed: () => undefined,
  leaseTouchLanded: () => undefined,
};

describe('a transfer given up while the lease is being relinquished', () => {
  it('writes no relinquished record after the lease was taken back', async () => {
    const clock = new ManualClock();
    const zk = new HeldZk();
    zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 2);
    zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 0, durationMs: 50, driftBound: 0.05 }), 5);
    zk.put(paths.tail, new Uint8Array(), 0);
    const leading = new LeaderTerm({
      zk,
      paths,
      clock,
      logger: silentLogger,
      config,
      selfId: 'a',
      fenced: { term: 1, epochVersion: 2, tailVersion: 0, tailLastIndex: 0, tailSegmentFirstIndex: 0, leaseValidUntil: 50, leaseValidUntilWall: 50 },
      host,
    });
    // A touch is in flight when the hand-over starts.
    zk.holding = true;
    clock.jump(0);
    const relinquished = leading.relinquishLease().then(
      (version) => ({ version }),
      (err: unknown) => ({ err }),
    );
    await settle();
    // The transfer times out meanwhile: the lease is taken back (a new keeper touches at once).
    leading.resumeLease();
    clock.jump(1);
    // ZooKeeper answers, in order: the old touch, then the new keeper's.
    zk.release();
    await settle();
    clock.run(10, 1);
    await settle();
    // The resumed lease holds again (its touch, sent at 1, landed).
    expect(leading.leaseHolds()).toBe(true);
    // So no hand-over: the record must not be written, and no version named.
    const outcome = await relinquished;
    expect(outcome).toHaveProperty('err');
    const record = decodeLease(paths.lease, zk.tree.get(paths.lease)!.data);
    expect(record.relinquished).toBe(false);
    leading.close();
  });
});
