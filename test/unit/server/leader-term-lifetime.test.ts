// The leader term's lifetime on its own (leader-term-lifetime.ts), without a node: a term is
// led only with the fence details of that very term, they are forgotten when it ends, the
// leader znode is claimed and released with it, and the lease started at a fence stops when
// the take-over does not end in leading that term, and only then.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeEpoch, encodeLease } from '../../../src/coordination/records.js';
import type { SoftState } from '../../../src/core/raft.js';
import type { LeaderClaim } from '../../../src/server/ephemerals.js';
import type { FencedTerm } from '../../../src/server/leadership.js';
import { LeaderTermLifetime } from '../../../src/server/leader-term-lifetime.js';
import { defaultLimits, defaultTiming, type NodeConfig } from '../../../src/server/node-config.js';
import { noTelemetry } from '../../../src/server/telemetry.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';
import { ManualClock } from './manual-clock.js';

const paths = new ClusterPaths('t');
const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', timing: defaultTiming, limits: defaultLimits };
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const soft = (role: SoftState['role'], term: number): SoftState => ({ role, term, leaderId: role === 'leader' ? 'a' : '' });
const fence = (term: number): FencedTerm => ({ term, epochVersion: 2, tailVersion: 0, tailLastIndex: 0, tailSegmentFirstIndex: 0, leaseValidUntil: 50, leaseValidUntilWall: 50 });

function setUp() {
  const clock = new ManualClock();
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 2);
  zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 0, durationMs: 50, driftBound: 0.05 }), 5);
  zk.put(paths.tail, new Uint8Array(), 0);
  const steppedDown: number[] = [];
  /** Terms the core was told lapsed their lease, and terms the host was told are fenced. */
  const lapsed: number[] = [];
  const fencedTerms: number[] = [];
  const claims: Array<LeaderClaim | null> = [];
  let schedules = 0;
  let stopped = false;
  const lifetime = new LeaderTermLifetime({
    zk,
    paths,
    clock,
    logger: silentLogger,
    config,
    selfId: 'a',
    core: {
      mirrorCommitted: () => undefined,
      committedInCurrentTerm: () => false,
      mirrorFenced: (term) => void steppedDown.push(term),
      leaseExpired: (term) => void lapsed.push(term),
      leaseTouchLanded: () => undefined,
      leaseRenewed: () => undefined,
    },
    telemetry: noTelemetry,
    host: {
      stopped: () => stopped,
      schedule: () => void schedules++,
      fenced: (term) => void fencedTerms.push(term),
      setLeaderClaim: (claim) => void claims.push(claim),
      walAppended: () => undefined,
    },
  });
  /** Lease touches ZooKeeper received so far. */
  const touches = (): number => zk.calls.filter((c) => c.includes(`setData ${paths.lease}`)).length;
  /** Lets `ms` of lease intervals pass, with ZooKeeper answering. */
  const pass = async (ms: number): Promise<void> => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.jump(clock.now() + 1);
      await settle();
    }
  };
  /** Another node fenced: the epoch znode moved past the version every lease touch checks. */
  const epochMoves = (): void => zk.put(paths.epoch, encodeEpoch({ term: 9, leaderId: 'b' }), 3);
  return { lifetime, steppedDown, lapsed, fencedTerms, epochMoves, claims, schedules: () => schedules, stop: () => (stopped = true), touches, pass };
}

describe('LeaderTermLifetime', () => {
  it('steps down from a term it leads without that term\'s fence details', () => {
    const t = setUp();
    t.lifetime.takeoverFenced(fence(2));
    t.lifetime.roleChanged(soft('candidate', 3), soft('leader', 3));
    expect(t.steppedDown).toEqual([3]);
    expect(t.schedules()).toBe(1);
    expect(t.lifetime.current()).toBeNull();
    expect(t.claims).toEqual([]);
  });

  it('leads the fenced term with a leader claim, and forgets the fence when the term ends', () => {
    const t = setUp();
    t.lifetime.takeoverFenced(fence(2));
    t.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    expect(t.lifetime.current()?.term).toBe(2);
    expect(t.claims).toEqual([{ term: 2, epochVersion: 2 }]);
    t.lifetime.roleChanged(soft('leader', 2), soft('follower', 2));
    expect(t.lifetime.current()).toBeNull();
    expect(t.claims.at(-1)).toBeNull();
    // The same term again without a new fence: its details are gone, so it steps down.
    t.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    expect(t.steppedDown).toEqual([2]);
    expect(t.lifetime.current()).toBeNull();
  });

  it('stops the lease of a fence whose take-over ends without leading, not while it is still a candidate', async () => {
    const t = setUp();
    t.lifetime.startTermLease(fence(2));
    await t.pass(60);
    t.lifetime.dropUnledLease(soft('candidate', 2));
    const whileCandidate = t.touches();
    await t.pass(60);
    expect(t.touches()).toBeGreaterThan(whileCandidate);
    t.lifetime.dropUnledLease(soft('follower', 2));
    const atStop = t.touches();
    await t.pass(100);
    expect(t.touches()).toBe(atStop);
  });

  it('hands the fence\'s lease to the term it leads, which keeps touching until the term ends', async () => {
    const t = setUp();
    t.lifetime.startTermLease(fence(2));
    t.lifetime.takeoverFenced(fence(2));
    await t.pass(30);
    t.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    t.lifetime.dropUnledLease(soft('leader', 2));
    const led = t.touches();
    await t.pass(60);
    expect(t.touches()).toBeGreaterThan(led);
    // Once the term holds the lease, the fence's is no longer the lifetime's to stop.
    t.lifetime.stopTermLease();
    const afterStopTermLease = t.touches();
    await t.pass(60);
    expect(t.touches()).toBeGreaterThan(afterStopTermLease);
    t.lifetime.stopLeading();
    const atEnd = t.touches();
    await t.pass(100);
    expect(t.touches()).toBe(atEnd);
  });

  it('starts no lease once the node stopped', async () => {
    const t = setUp();
    t.stop();
    t.lifetime.startTermLease(fence(2));
    await t.pass(100);
    expect(t.touches()).toBe(0);
  });
});

// Review 33: the fence's lease asks isClosed() before it reports; the closure reads the
// lifetime's fields (and the node's stopped flag) live. Read at construction, or read from
// the wrong object, the reports of a lease that passed to the leader term would be dropped
// (a stall would not stop writes, an epoch that moved would not depose the leader).
describe('LeaderTermLifetime: what the fence\'s lease reports', () => {
  it('reports a lapse to the core after the lease passed to the leader term', async () => {
    const t = setUp();
    t.lifetime.startTermLease(fence(2));
    t.lifetime.takeoverFenced(fence(2));
    await t.pass(10);
    t.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    t.lifetime.dropUnledLease(soft('leader', 2));
    t.lifetime.current()?.lapseLease();
    expect(t.lapsed).toEqual([2]);
  });

  it('reports an epoch that moved, while a candidate and after the lease passed to the leader term', async () => {
    const candidate = setUp();
    candidate.lifetime.startTermLease(fence(2));
    await candidate.pass(10);
    candidate.epochMoves();
    await candidate.pass(60);
    expect(candidate.fencedTerms).toEqual([2]);

    const leader = setUp();
    leader.lifetime.startTermLease(fence(2));
    leader.lifetime.takeoverFenced(fence(2));
    await leader.pass(10);
    leader.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    leader.lifetime.dropUnledLease(soft('leader', 2));
    leader.epochMoves();
    await leader.pass(60);
    // The fence's lease (now the term's) and the term's mirror may both report it; the lease must.
    expect(leader.fencedTerms.length).toBeGreaterThan(0);
    expect(new Set(leader.fencedTerms)).toEqual(new Set([2]));
  });

  it('reports nothing once the node stopped, even before its keeper is stopped', async () => {
    const t = setUp();
    t.lifetime.startTermLease(fence(2));
    t.lifetime.takeoverFenced(fence(2));
    await t.pass(10);
    t.lifetime.roleChanged(soft('candidate', 2), soft('leader', 2));
    t.stop();
    t.lifetime.current()?.lapseLease();
    expect(t.lapsed).toEqual([]);
  });
});
