// Issue 2 acceptance, with real processes and a real ZooKeeper:
// (a) two nodes elect exactly one leader; (b) writes reach the follower;
// (c) SIGKILL of the leader: the follower takes over, every acknowledged write is
//     readable, the old leader restarts, rejoins as follower and catches up;
// (e) a follower restarted on its data folder catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('two-node cluster', () => {
  it('(a) elects exactly one leader, and the follower agrees on it', async () => {
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: uniqueCluster('elect') });
    try {
      const leader = await cluster.waitForLeader(10_000);
      // Watch for a while: never two leaders, and both agree.
      for (let i = 0; i < 10; i++) {
        const ss = await cluster.statuses();
        expect(ss).toHaveLength(2);
        const leaders = ss.filter((s) => s.role === 'leader');
        expect(leaders.map((s) => s.id)).toEqual([leader]);
        const follower = ss.find((s) => s.id !== leader)!;
        expect(follower).toMatchObject({ role: 'follower', leaderId: leader, term: leaders[0]!.term });
        await sleep(100);
      }
    } finally {
      await cluster.stop();
    }
  });

  it('(b) writes reach the follower', async () => {
    const name = uniqueCluster('replicate');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      let last = 0;
      for (let i = 0; i < 50; i++) last = (await c.put(`k${i}`, `v${i}`)).index;
      await cluster.waitForApplied(last, 10_000);
      const followerId = cluster.ids().find((id) => id !== leader)!;
      const follower = new DirectMember(cluster.node(followerId).address);
      try {
        const r = await follower.get('k49', 'stale');
        expect(r).toMatchObject({ found: true, value: 'v49' });
        // A follower refuses a linearizable read and points at the leader.
        const lin = await follower.get('k49', 'linearizable');
        expect(lin).toMatchObject({ code: 'NOT_LEADER', leaderId: leader });
      } finally {
        follower.close();
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('(c) after SIGKILL of the leader the follower takes over, nothing acknowledged is lost, and the old leader rejoins', async () => {
    const name = uniqueCluster('sigkill');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      const first = await cluster.waitForLeader(10_000);
      const writer = new Writer(c, 'w');
      await sleep(500);
      await cluster.kill(first);
      const second = await cluster.waitForLeader(10_000, { not: first });
      expect(second).not.toBe(first);
      const before = writer.count();
      await sleep(500);
      expect(writer.count()).toBeGreaterThan(before); // writes resumed on the new leader
      cluster.startNode(first);
      await sleep(700);
      const report = await writer.stop();
      expect(report.acked.length).toBeGreaterThan(20);
      expect(await missingKeys(c, report.acked)).toEqual([]);
      // The old leader is back as a follower of the new one and has caught up.
      const leaderStatus = (await cluster.memberStatus(second))!;
      await cluster.waitForApplied(leaderStatus.commitIndex, 10_000);
      const old = (await cluster.memberStatus(first))!;
      expect(old).toMatchObject({ role: 'follower', leaderId: second });
      const direct = new DirectMember(cluster.node(first).address);
      try {
        const lastKey = report.acked[report.acked.length - 1]!;
        expect(await direct.get(lastKey, 'stale')).toMatchObject({ found: true });
      } finally {
        direct.close();
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('(e) a follower restarted on its data folder catches up', async () => {
    const name = uniqueCluster('restart');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const followerId = cluster.ids().find((id) => id !== leader)!;
      for (let i = 0; i < 30; i++) await c.put(`before-${i}`, `v${i}`);
      await cluster.kill(followerId);
      let last = 0;
      for (let i = 0; i < 100; i++) last = (await c.put(`during-${i}`, `v${i}`)).index;
      cluster.startNode(followerId);
      await cluster.waitForApplied(last, 15_000);
      const f = (await cluster.memberStatus(followerId))!;
      expect(f).toMatchObject({ role: 'follower', leaderId: leader });
      expect(f.appliedIndex).toBeGreaterThanOrEqual(last);
      const direct = new DirectMember(cluster.node(followerId).address);
      try {
        expect(await direct.get('during-99', 'stale')).toMatchObject({ found: true, value: 'v99' });
        expect(await direct.get('before-0', 'stale')).toMatchObject({ found: true, value: 'v0' });
      } finally {
        direct.close();
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
