// Review of issue 9, hole 6: the lease a take-over starts must hold only while BOTH clocks
// say so, like every later touch.
//
// The fence multi touches the lease, so the new leader's lease runs from the fence's send
// time. takeOver() reports that time on the monotonic clock only, and LeaseKeeper derived its
// wall-clock bound from the monotonic time left when it is constructed (after the replay).
// A VM stop between the fence and that moment freezes performance.now(): the monotonic bound
// still looks fresh, and the wall bound, computed from it, moves forward by the whole stop.
// The pause monitor does not reliably save it: its timer runs on the frozen monotonic clock,
// so it fires up to one interval after the resume, and it drops a stall it sees while the
// node is still a candidate (the replay may still be running).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { LeaseKeeper } from '../../../src/coordination/lease.js';
import { encodeConfig, encodeEpoch, encodeLeader, encodeLease, encodeSegment, encodeTail } from '../../../src/coordination/records.js';
import { takeOver } from '../../../src/coordination/takeover.js';
import { ManualClock } from '../server/manual-clock.js';
import { chainedLog } from './chained-entries.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');
/** A's log: entries 1..5 of term 1, chained. */
const logOfA = chainedLog([1, 1, 1, 1, 1]);
const e = (index: number, _term: number) => logOfA[index - 1]!;
const DURATION = 100;

describe('the lease started by the fence (hole 6, both clocks)', () => {
  it('does not hold after a VM stop between the fence and the start of leading', async () => {
    const clock = new ManualClock();
    const zk = new ScriptedZk();
    zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 3);
    // The fence checks the config in which the taker is a voter.
    zk.put(paths.config, encodeConfig({ voters: ['a', 'b'], listeners: [] }), 1);
    zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 9, durationMs: DURATION, driftBound: 0.05 }), 10);
    zk.put(paths.leader, encodeLeader({ id: 'a', term: 1, address: 'a:1' }), 0, 'aaaa');
    zk.put(paths.segment(1), encodeSegment(1, [e(1, 1), e(2, 1)]), 0);
    zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 2, segmentFirstIndex: 1 }), 1);
    zk.afterMulti = (ops) => {
      if (!ops.some((o) => o.path === paths.epoch && o.type === 'setData')) return;
      zk.afterMulti = null;
      // The fence landed; now the VM is stopped for 2 s: the wall clock moves, the
      // monotonic clock does not.
      clock.wallAhead += 2000;
    };
    const out = await takeOver({
      zk,
      paths,
      clock,
      logger: silentLogger,
      selfId: 'b',
      address: 'b:1',
      request: { term: 1, leaseVersion: 10, commit: 2, transfer: false },
      leaseDurationMs: DURATION,
      driftBound: 0.05,
      replayDeadlineMs: 2000,
    });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    // What LeaderTerm does when the core leads the fenced term (src/server/leadership.ts).
    const lease = new LeaseKeeper({
      zk,
      paths,
      clock,
      logger: silentLogger,
      term: 2,
      leaderId: 'b',
      epochVersion: out.epochVersion,
      intervalMs: 20,
      durationMs: DURATION,
      driftBound: 0.05,
      initialValidUntil: out.leaseValidUntil,
      initialValidUntilWall: out.leaseValidUntilWall,
      onExpired: () => undefined,
      onRenewed: () => undefined,
      onFenced: () => undefined,
    });
    // 2 s of real time have passed since the fence was sent; its lease was 100 ms.
    expect(lease.holds()).toBe(false);
    lease.stop();
  });
});
