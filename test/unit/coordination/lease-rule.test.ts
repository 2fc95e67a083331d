// Issue 9, holes 5 and 6: the lease rule across processes and clocks.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { LeaseKeeper } from '../../../src/coordination/lease.js';
import { pb } from '../../../src/common/proto.js';
import { decodeLease, encodeEpoch, encodeLease, leaseWindowFor, seal } from '../../../src/coordination/records.js';
import { core, tickN } from '../core/helpers.js';
import { ManualClock } from '../server/manual-clock.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');

describe('the lease record carries the leader\'s duration (R6)', () => {
  it('round-trips duration and drift bound, and refuses nonsense as corrupt', () => {
    const r = decodeLease(paths.lease, encodeLease({ term: 3, leaderId: 'a', seq: 7, durationMs: 400, driftBound: 0.05 }));
    expect(r).toEqual({ term: 3, leaderId: 'a', seq: 7, durationMs: 400, driftBound: 0.05, relinquished: false });
    expect(() => decodeLease(paths.lease, encodeLease({ term: 3, leaderId: 'a', seq: 1, durationMs: 0, driftBound: 0 }))).toThrow(/without a duration/);
    expect(() => decodeLease(paths.lease, encodeLease({ term: 3, leaderId: 'a', seq: 1, durationMs: 3_600_000, driftBound: 0 }))).toThrow(/over/);
  });

  it('says whether the lease was relinquished (a hand-over); a record written before the field existed was not', () => {
    const given = decodeLease(paths.lease, encodeLease({ term: 3, leaderId: 'a', seq: 8, durationMs: 50, driftBound: 0.05, relinquished: true }));
    expect(given).toMatchObject({ term: 3, leaderId: 'a', relinquished: true });
    // The bytes an older version writes: fields 1 to 5 only.
    const old = seal('lease', pb.wal.LeaseRecord.encode({ term: 3, leaderId: 'a', seq: 9, durationMs: 50, driftBoundPpm: 50_000 }).finish());
    expect(decodeLease(paths.lease, old)).toEqual({ term: 3, leaderId: 'a', seq: 9, durationMs: 50, driftBound: 0.05, relinquished: false });
  });

  it('the window a follower needs exceeds D(1+ρ)/(1−ρ), with ρ the larger of the two bounds', () => {
    const rec = { term: 1, leaderId: 'a', seq: 1, durationMs: 400, driftBound: 0.01 };
    expect(leaseWindowFor(rec, 0.05)).toBeCloseTo((400 * 1.05) / 0.95, 6);
    expect(leaseWindowFor({ ...rec, driftBound: 0.1 }, 0.05)).toBeCloseTo((400 * 1.1) / 0.9, 6);
  });

  it('a follower waits out the window the leader requires even when its own is shorter', () => {
    // Own window: 13 ticks. The leader published a lease needing 47 ticks.
    const b = core('b', 'a');
    b.observeLease(5, 47);
    let requestedAt = -1;
    for (let t = 1; t <= 200 && requestedAt < 0; t++) {
      b.tick();
      const rd = b.ready();
      for (const m of rd.messages) if (m.type === 'vote') b.step({ type: 'unreachable', from: 'a', to: 'b', term: 0 });
      if (rd.takeover || b.ready().takeover) requestedAt = t;
    }
    expect(requestedAt).toBeGreaterThanOrEqual(48);
  });

  it('the own window stays a floor when the leader publishes a shorter lease', () => {
    const b = core('b', 'a');
    b.observeLease(5, 2);
    const rds = tickN(b, 13);
    for (const rd of rds) for (const m of rd.messages) if (m.type === 'vote') b.step({ type: 'unreachable', from: 'a', to: 'b', term: 0 });
    expect(rds.some((rd) => rd.takeover)).toBe(false);
  });
});

describe('the leader\'s lease holds only while both clocks say so (hole 6)', () => {
  it('a stop that froze the monotonic clock ends the lease on the wall clock', async () => {
    const clock = new ManualClock();
    const zk = new ScriptedZk();
    zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 2);
    zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 0, durationMs: 110, driftBound: 0.05 }), 2);
    const lease = new LeaseKeeper({
      zk,
      paths,
      clock,
      logger: silentLogger,
      term: 1,
      leaderId: 'a',
      epochVersion: 2,
      intervalMs: 20,
      durationMs: 110,
      driftBound: 0.05,
      initialValidUntil: 110,
      initialValidUntilWall: 110,
      onExpired: () => undefined,
      onRenewed: () => undefined,
      onFenced: () => undefined,
    });
    expect(lease.holds()).toBe(true);
    clock.wallAhead += 10_000; // the VM was stopped for 10 s; performance.now() did not move
    expect(lease.holds()).toBe(false);
    lease.stop();
    // and the touches carry the duration for followers
    await new Promise((r) => setTimeout(r, 5));
  });
});
