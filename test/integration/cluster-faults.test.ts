// Issue 2 acceptance, faults other than a crash:
// (d) SIGSTOP of the leader for 2 s: the follower takes over; after SIGCONT the old leader
//     acknowledges nothing and follows;
// (f) the link between the nodes cut (TCP proxies in front of the peer addresses) while
//     both reach ZooKeeper: at most one change of leader in 10 s, writes keep being
//     acknowledged;
// (g) the leader loses ZooKeeper: it stops acknowledging within the lease time and the
//     follower takes over; the old leader follows it, its commit index held until it sees
//     ZooKeeper again (the commit gate), then catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuoraftError } from '../../src/common/errors.js';
import { defaultTiming } from '../../src/server/node-config.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { DirectMember, Writer, client, missingKeys, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe('faults', () => {
  it('(d) SIGSTOP of the leader for 2 s: the follower takes over; the resumed old leader acknowledges nothing and follows', async () => {
    const name = uniqueCluster('sigstop');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    const old = await cluster.waitForLeader(10_000);
    const toOld = new DirectMember(cluster.node(old).address);
    try {
      const writer = new Writer(c, 'w');
      await sleep(300);
      const pausedAt = Date.now();
      await cluster.pause(old);
      // Sent while it is paused: the old leader reads it only after SIGCONT.
      const lateWrite = toOld.put('late-write', 'must-not-commit', 10_000);
      const lateRead = toOld.get('late-write', 'lease', 10_000);
      const next = await cluster.waitForLeader(10_000, { not: old });
      expect(next).not.toBe(old);
      await sleep(Math.max(0, 2000 - (Date.now() - pausedAt)));
      await cluster.resume(old);
      const w = await lateWrite;
      expect(w).toBeInstanceOf(DuoraftError);
      expect(['NOT_LEADER', 'UNKNOWN_OUTCOME']).toContain((w as DuoraftError).code);
      const r = await lateRead;
      expect(r).toBeInstanceOf(DuoraftError);
      expect((await c.get('late-write')).found).toBe(false);
      // The old leader follows the new one.
      const deadline = Date.now() + 10_000;
      let s = await cluster.memberStatus(old);
      while (Date.now() < deadline && !(s?.role === 'follower' && s.leaderId === next)) {
        await sleep(50);
        s = await cluster.memberStatus(old);
      }
      expect(s).toMatchObject({ role: 'follower', leaderId: next });
      const report = await writer.stop();
      expect(await missingKeys(c, report.acked)).toEqual([]);
    } finally {
      toOld.close();
      await c.close();
      await cluster.stop();
    }
  });

  it('(f) a cut link between the voters while both reach ZooKeeper: at most one leader change in 10 s, writes continue', async () => {
    const name = uniqueCluster('cutlink');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, peerProxies: true });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const followerId = cluster.ids().find((id) => id !== leader)!;
      const writer = new Writer(c, 'w');
      await sleep(300);
      cluster.cutPeerLinks('reset');
      const leaderTerms = new Set<string>();
      const followerRoles = new Set<string>();
      const acksPerSecond: number[] = [];
      let prev = writer.count();
      const start = Date.now();
      while (Date.now() - start < 10_000) {
        for (const s of await cluster.statuses()) {
          if (s.role === 'leader') leaderTerms.add(`${s.id}@${s.term}`);
          if (s.id === followerId) followerRoles.add(s.role);
        }
        await sleep(100);
        if (Date.now() - start >= (acksPerSecond.length + 1) * 1000) {
          acksPerSecond.push(writer.count() - prev);
          prev = writer.count();
        }
      }
      // The cut took effect (the follower stopped hearing its leader), and the follower
      // kept itself current from ZooKeeper meanwhile.
      const lagging = await Promise.all([cluster.memberStatus(leader), cluster.memberStatus(followerId)]);
      cluster.healPeerLinks();
      const report = await writer.stop();
      expect(followerRoles).toContain('precandidate');
      expect(lagging[1]!.appliedIndex).toBeGreaterThan(lagging[0]!.commitIndex - 500);
      expect(leaderTerms.size).toBeGreaterThanOrEqual(1);
      expect(leaderTerms.size - 1).toBeLessThanOrEqual(1);
      // Every second of the cut saw acknowledged writes.
      expect(acksPerSecond.filter((n) => n === 0)).toEqual([]);
      expect(await missingKeys(c, report.acked)).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('(g) a leader cut off from ZooKeeper stops acknowledging within its lease and the follower takes over', async () => {
    const name = uniqueCluster('cutzk');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, zkProxies: true });
    const c = await client(zk.connectString, name);
    const old = await cluster.waitForLeader(10_000);
    const toOld = new DirectMember(cluster.node(old).address);
    try {
      const writer = new Writer(c, 'w');
      await sleep(300);
      const cutAt = Date.now();
      cluster.cutZk(old, 'reset');
      // Past its lease (plus a tick), the old leader must answer no lease read and no write.
      await sleep(defaultTiming.leaseDurationMs + 2 * defaultTiming.tickMs + 20 - (Date.now() - cutAt));
      const lease = await toOld.get('anything', 'lease', 3000).catch((e: Error) => e);
      expect(lease).toBeInstanceOf(Error);
      const write = await toOld.put('after-cut', 'x', 3000).catch((e: Error) => e);
      expect(write).toBeInstanceOf(Error);
      // Without ZooKeeper its commit index can no longer move as leader.
      const lapsed = await cluster.memberStatus(old);
      const next = await cluster.waitForLeader(10_000, { not: old });
      expect(next).not.toBe(old);
      const before = writer.count();
      await sleep(500);
      expect(writer.count()).toBeGreaterThan(before);
      // Still cut off, the old leader follows the new one without seeing its term in the
      // epoch: it takes the new leader's entries, but its commit index is held (the commit
      // gate, fuzz finding 9), so none of the new term's writes commit or apply there.
      const [held, leading] = await Promise.all([cluster.memberStatus(old), cluster.memberStatus(next)]);
      expect(held).toMatchObject({ role: 'follower', leaderId: next, term: leading!.term, commitIndex: lapsed!.commitIndex });
      expect(held!.commitIndex).toBeLessThan(leading!.commitIndex);
      cluster.healZk(old);
      const report = await writer.stop();
      expect(await missingKeys(c, report.acked)).toEqual([]);
      expect((await c.get('after-cut')).found).toBe(false);
      // Once it reaches ZooKeeper again the old leader learns the new epoch and follows.
      const deadline = Date.now() + 15_000;
      let s = await cluster.memberStatus(old);
      while (Date.now() < deadline && !(s?.role === 'follower' && s.leaderId === next)) {
        await sleep(50);
        s = await cluster.memberStatus(old);
      }
      expect(s).toMatchObject({ role: 'follower', leaderId: next });
      // ...and catches up with everything the new leader committed.
      const target = (await cluster.memberStatus(next))!.commitIndex;
      while (Date.now() < deadline && (s?.appliedIndex ?? 0) < target) {
        await sleep(50);
        s = await cluster.memberStatus(old);
      }
      expect(s!.appliedIndex).toBeGreaterThanOrEqual(target);
    } finally {
      toOld.close();
      await c.close();
      await cluster.stop();
    }
  });
});
