// Issue 13: a voter replaced while it was alive (thought dead: paused past its session, its
// member znode gone) must not fence. Its role watch stops it once it reads the new config,
// but before that read arrives its core may already ask for a take-over. The fence multi
// checks the config version in which the node is a voter (takeover.ts), so the promotion's
// compare-and-set on `config` makes that fence fail, and a node that reads a config without
// itself among the voters never sends one.
//
// On the ZooKeeper model (one server), with the real promotion (promoteListener) and the
// real take-over (takeOver).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { clusterTreeOps, createParentIfMissing } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { promoteListener, registerListener } from '../../src/coordination/listener-config.js';
import { decodeEpoch, decodeLeader, encodeLease, encodeLeader, encodeMember } from '../../src/coordination/records.js';
import { type TakeoverOutcome, takeOver } from '../../src/coordination/takeover.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { SimClock, SimScheduler, settle } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const paths = new ClusterPaths('fence');

async function drive<T>(sched: SimScheduler, promise: Promise<T>, limitMs = 30_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  const deadline = sched.now() + limitMs;
  for (let events = 0; !done && events < 200_000 && sched.nextAt() <= deadline; events++) await sched.step();
  if (!done) throw new Error(`not settled by virtual time ${deadline}`);
  return promise;
}

interface World {
  readonly sched: SimScheduler;
  readonly model: ZkModel;
  /** The session of b, the voter about to be replaced. */
  readonly b: ZkSession;
  /** An operator's session (duoraft admin promote). */
  readonly admin: ZkSession;
  /** What b's watches saw before the promotion. */
  readonly seen: { epochVersion: number; leaseVersion: number; configVersion: number };
}

/** a leads term 1 (its leader znode, its lease); b follows; l1 is a running listener. b has not heard of any change. */
async function world(seed: number): Promise<World> {
  const sched = new SimScheduler(seed);
  const model = new ZkModel(sched, { servers: 1 });
  const a = model.connect('a');
  const b = model.connect('b');
  const l1 = model.connect('l1');
  const admin = model.connect('admin');
  await drive(sched, Promise.all([a, b, l1, admin].map((s) => s.waitConnected(5000))));
  await drive(sched, createParentIfMissing(a));
  await drive(
    sched,
    a.multi(
      clusterTreeOps(paths, {
        identity: { cluster: paths.cluster, clusterId: 'c1', createdAtMs: 0 },
        epoch: { term: 1, leaderId: 'a' },
        tail: { term: 0, lastIndex: 0, segmentFirstIndex: 0 },
        config: { voters: ['a', 'b'], listeners: [] },
        walHead: null,
      }),
    ),
  );
  await drive(sched, a.setData(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 1, durationMs: 110, driftBound: 0.05 }), -1));
  await drive(sched, a.create(paths.leader, encodeLeader({ id: 'a', term: 1, address: 'a:1' }), 'ephemeral'));
  await drive(sched, registerListener(l1, paths, 'l1'));
  await drive(sched, l1.create(paths.member('l1'), encodeMember({ id: 'l1', address: 'l1:1', kind: 'listener' }), 'ephemeral'));
  const epoch = await drive(sched, b.getData(paths.epoch));
  const lease = await drive(sched, b.getData(paths.lease));
  const config = await drive(sched, b.getData(paths.config));
  return { sched, model, b, admin, seen: { epochVersion: epoch.stat.version, leaseVersion: lease.stat.version, configVersion: config.stat.version } };
}

function takeOverAsB(w: World, known: 'watches' | 'none'): Promise<TakeoverOutcome> {
  return drive(
    w.sched,
    takeOver({
      zk: w.b,
      paths,
      clock: new SimClock(w.sched),
      logger: silentLogger,
      selfId: 'b',
      address: 'b:1',
      request: { term: 1, leaseVersion: w.seen.leaseVersion, commit: 0, transfer: false },
      leaseDurationMs: 110,
      driftBound: 0.05,
      replayDeadlineMs: 2000,
      ...(known === 'watches'
        ? { known: { epochTerm: 1, epochLeader: 'a', epochVersion: w.seen.epochVersion, leaderExists: true, config: { version: w.seen.configVersion, voter: true } } }
        : {}),
    }),
  );
}

function epochAndLeader(w: World): { epochLeader: string; term: number; leaderZnode: string } {
  const e = decodeEpoch(paths.epoch, w.model.dataOf(paths.epoch)!);
  const l = w.model.dataOf(paths.leader);
  return { epochLeader: e.leaderId, term: e.term, leaderZnode: l ? decodeLeader(paths.leader, l).id : '' };
}

describe('the fence checks the config (a replaced voter cannot fence)', () => {
  it('the control: with the config unchanged, b fences and leads term 2', async () => {
    const w = await world(1);
    const out = await takeOverAsB(w, 'watches');
    expect(out.ok).toBe(true);
    expect(epochAndLeader(w)).toEqual({ epochLeader: 'b', term: 2, leaderZnode: 'b' });
  });

  it('b replaced by l1 while its watches still show the old config: the fence fails on check(config), and the fresh read refuses it', async () => {
    const w = await world(2);
    const change = await drive(w.sched, promoteListener(w.admin, paths, { listener: 'l1', replace: 'b', clock: new SimClock(w.sched), leaseWatchMs: 50 }));
    expect(change.after.voters).toEqual(['a', 'l1']);
    const out = await takeOverAsB(w, 'watches');
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.result.reason).toMatch(/not a voter in the cluster configuration/);
    expect(epochAndLeader(w)).toEqual({ epochLeader: 'a', term: 1, leaderZnode: 'a' });
  });

  it('a take-over that reads the config itself (no watch seen yet) does not fence either', async () => {
    const w = await world(3);
    await drive(w.sched, promoteListener(w.admin, paths, { listener: 'l1', replace: 'b', clock: new SimClock(w.sched), leaseWatchMs: 50 }));
    const out = await takeOverAsB(w, 'none');
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.result.reason).toMatch(/b is not a voter/);
    expect(epochAndLeader(w)).toEqual({ epochLeader: 'a', term: 1, leaderZnode: 'a' });
  });
});
