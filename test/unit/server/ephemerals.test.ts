// Issue 9, hole 3: the `leader` znode lost for good. The fence creates it as an ephemeral of
// the session the fence ran in; when that session expired before the take-over finished,
// nothing recreated it (the one restore attempt ran while the node did not lead yet), and
// clients, which find the leader through it, waited until the next failover. Now the
// ephemerals are restored for the role held now, after every new session, retried (R4).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeLeader, encodeEpoch, encodeLeader } from '../../../src/coordination/records.js';
import { Ephemerals } from '../../../src/server/ephemerals.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';

const paths = new ClusterPaths('t');

function setup() {
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 2, leaderId: 'b' }), 5);
  zk.put(paths.members, new Uint8Array(0), 0);
  const fenced: string[] = [];
  const eph = new Ephemerals({
    zk,
    paths,
    clock: realClock,
    logger: silentLogger,
    selfId: 'b',
    address: 'b:7000',
    member: { id: 'b', address: 'b:7000', kind: 'voter' },
    onFenced: (term, reason) => fenced.push(`${term}: ${reason}`),
  });
  return { zk, eph, fenced };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

function leaderOwner(zk: ScriptedZk): string | undefined {
  return zk.tree.get(paths.leader)?.owner;
}

describe('ephemeral znodes are restored for the role held now (R4)', () => {
  it('a session that expired during the take-over, before the node leads: the leader znode is made when it starts to lead', async () => {
    const { zk, eph } = setup();
    // The fence made the leader znode in session 1 ...
    zk.put(paths.leader, encodeLeader({ id: 'b', term: 2, address: 'b:7000' }), 0, zk.sessionId);
    // ... which expired before the take-over finished: the znode is gone.
    zk.expireSession();
    expect(zk.tree.has(paths.leader)).toBe(false);
    eph.setLeaderClaim({ term: 2, epochVersion: 5 });
    await until(() => leaderOwner(zk) === zk.sessionId);
    expect(leaderOwner(zk)).toBe(zk.sessionId);
    expect(decodeLeader(paths.leader, zk.tree.get(paths.leader)!.data)).toEqual({ id: 'b', term: 2, address: 'b:7000' });
    eph.stop();
  });

  it('a session that expires while leading: both znodes come back in the new session', async () => {
    const { zk, eph } = setup();
    eph.setLeaderClaim({ term: 2, epochVersion: 5 });
    await until(() => leaderOwner(zk) === zk.sessionId && zk.tree.get(paths.member('b'))?.owner === zk.sessionId);
    const first = zk.sessionId;
    zk.expireSession();
    await until(() => leaderOwner(zk) === zk.sessionId && zk.tree.get(paths.member('b'))?.owner === zk.sessionId);
    expect(zk.sessionId).not.toBe(first);
    expect(leaderOwner(zk)).toBe(zk.sessionId);
    expect(zk.tree.get(paths.member('b'))?.owner).toBe(zk.sessionId);
    eph.stop();
  });

  it('retries until done when ZooKeeper cannot be reached at first', async () => {
    const { zk, eph } = setup();
    zk.put(paths.member('b'), new Uint8Array(0), 0, zk.sessionId);
    zk.failNextMulti('NOT_CONNECTED');
    zk.failNextMulti('CONNECTION_LOSS');
    eph.setLeaderClaim({ term: 2, epochVersion: 5 });
    await until(() => leaderOwner(zk) === zk.sessionId);
    expect(leaderOwner(zk)).toBe(zk.sessionId);
    eph.stop();
  });

  it('never makes the znode for a term that was fenced meanwhile: it reports the fence instead', async () => {
    const { zk, eph, fenced } = setup();
    zk.put(paths.epoch, encodeEpoch({ term: 3, leaderId: 'a' }), 6);
    eph.setLeaderClaim({ term: 2, epochVersion: 5 });
    await until(() => fenced.length > 0);
    expect(fenced[0]).toMatch(/^2: the epoch moved/);
    expect(zk.tree.has(paths.leader)).toBe(false);
    eph.stop();
  });

  it('a leader znode of another session (an earlier life) is replaced; one of ours is left alone', async () => {
    const { zk, eph } = setup();
    zk.put(paths.leader, encodeLeader({ id: 'b', term: 2, address: 'b:7000' }), 0, 'ffffffffffffffff');
    eph.setLeaderClaim({ term: 2, epochVersion: 5 });
    await until(() => leaderOwner(zk) === zk.sessionId);
    const multis = zk.calls.filter((c) => c.startsWith('multi')).length;
    eph.leaderZnodeSeen(zk.sessionId, 'b', 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(zk.calls.filter((c) => c.startsWith('multi')).length).toBe(multis);
    eph.stop();
  });
});
