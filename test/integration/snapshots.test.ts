// Issue 10 acceptance, against a real ZooKeeper and real processes: snapshots, compaction,
// rebuilding from empty disks, and followers behind the compaction point.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import type { ZkSnapshotManifest } from '../../src/coordination/zk-snapshot-records.js';
import { ZkSnapshotStore } from '../../src/coordination/zk-snapshot-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuoraftClient } from '../../src/client/client.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, DirectMember, missingKeys, uniqueCluster } from './helpers.js';
import { SessionMember } from './session-member.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

/** Small snapshot intervals, so a few hundred writes take several snapshots and compact. */
const SNAPSHOT_ARGS = ['--snapshot-every-entries', '100', '--snapshot-retain-entries', '20'];

async function writeKeys(c: DuoraftClient, prefix: string, n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    // missingKeys expects key "...-N" to hold "value-N".
    const key = `${prefix}-${i}`;
    await c.put(key, `value-${i}`);
    keys.push(key);
  }
  return keys;
}

/** The complete snapshots ZooKeeper holds for the cluster. */
async function zkSnapshots(cluster: string): Promise<ZkSnapshotManifest[]> {
  const session = connectZk({ connectString: zk.connectString });
  try {
    await session.waitConnected(5000);
    return await new ZkSnapshotStore({ zk: session, paths: new ClusterPaths(cluster), clock: realClock, logger: silentLogger, nodeId: 'test' }).list();
  } finally {
    await session.close();
  }
}

async function wipe(cluster: ProcessCluster, id: string): Promise<void> {
  const dir = cluster.node(id).dataDir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

describe('snapshots, compaction and rebuilding (issue 10)', () => {
  it('both nodes stopped and wiped: one fresh node rebuilds from ZooKeeper with every acknowledged write, then a second joins and catches up', async () => {
    const name = uniqueCluster('rebuild');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS });
    let c = await client(zk.connectString, name);
    try {
      const keys = await writeKeys(c, 'k', 450);
      await c.close();
      for (const id of cluster.ids()) await cluster.kill(id);
      for (const id of cluster.ids()) await wipe(cluster, id);
      const [first, second] = cluster.ids();
      // ZooKeeper holds snapshots, and its log was compacted behind them.
      expect((await zkSnapshots(name)).length).toBeGreaterThanOrEqual(1);
      cluster.startNode(first!);
      await cluster.waitForLeader(20_000);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, keys)).toEqual([]);
      expect(await readFile(cluster.node(first!).logFile, 'utf8')).toMatch(/rebuilt from the newest snapshot in ZooKeeper/);
      const after = await writeKeys(c, 'after', 20);
      cluster.startNode(second!);
      const last = (await c.put('last', 'x')).index;
      await cluster.waitForApplied(last, 20_000);
      expect(await missingKeys(c, [...keys, ...after])).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('both nodes killed and restarted on their data folders: they elect, replay and accept writes; then again with one folder deleted', async () => {
    const name = uniqueCluster('restart-both');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS });
    let c = await client(zk.connectString, name);
    try {
      const keys = await writeKeys(c, 'k', 350);
      await c.close();
      for (const id of cluster.ids()) await cluster.kill(id);
      for (const id of cluster.ids()) cluster.startNode(id);
      await cluster.waitForLeader(20_000);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, keys)).toEqual([]);
      const more = await writeKeys(c, 'more', 150);
      await c.close();
      for (const id of cluster.ids()) await cluster.kill(id);
      await wipe(cluster, cluster.ids()[0]!);
      for (const id of cluster.ids()) cluster.startNode(id);
      await cluster.waitForLeader(20_000);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, [...keys, ...more])).toEqual([]);
      const last = (await c.put('last', 'x')).index;
      await cluster.waitForApplied(last, 20_000);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('a follower down while the leader compacted past its log catches up from the leader (a snapshot streamed between the voters)', async () => {
    const name = uniqueCluster('behind-leader');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== leader)!;
      await writeKeys(c, 'early', 20);
      await cluster.kill(follower);
      const keys = await writeKeys(c, 'k', 500);
      cluster.startNode(follower);
      const last = (await c.put('last', 'x')).index;
      await cluster.waitForApplied(last, 30_000).catch(async (err: unknown) => {
        for (const id of [follower, leader]) {
          process.stdout.write(`--- ${id}\n` + (await readFile(cluster.node(id).logFile, 'utf8')).split('\n').filter((l) => /offer|install|follower needs|range|snapshot/i.test(l) && !/saved|taken|uploaded|published|pruned|removed|compacted/.test(l)).slice(0, 30).join('\n') + '\n');
        }
        throw err;
      });
      expect(await missingKeys(c, keys)).toEqual([]);
      const log = await readFile(cluster.node(follower).logFile, 'utf8');
      if (!new RegExp(`"from":"voter ${leader}"[^\\n]*"msg":"snapshot installed"`).test(log)) {
        process.stdout.write(log.split('\n').filter((l) => /snapshot|compact/i.test(l)).join('\n') + '\n---leader---\n');
        process.stdout.write((await readFile(cluster.node(leader).logFile, 'utf8')).split('\n').filter((l) => /snapshot|compact/i.test(l)).join('\n'));
      }
      expect(log).toMatch(new RegExp(`"from":"voter ${leader}"[^\\n]*"msg":"snapshot installed"`));
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('a follower behind the compaction point that cannot reach its leader catches up from ZooKeeper', async () => {
    const name = uniqueCluster('behind-zk');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS, peerProxies: true });
    const c = await client(zk.connectString, name);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== leader)!;
      await writeKeys(c, 'early', 20);
      await cluster.kill(follower);
      const keys = await writeKeys(c, 'k', 500);
      // The link between the voters is cut (both still reach ZooKeeper): the leader cannot
      // feed the restarted follower, which follows ZooKeeper's log and finds it compacted.
      cluster.cutPeerLinks('reset');
      cluster.startNode(follower);
      const last = (await c.put('last', 'x')).index;
      const deadline = Date.now() + 30_000;
      while (((await cluster.memberStatus(follower))?.appliedIndex ?? 0) < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await cluster.memberStatus(follower))?.appliedIndex).toBeGreaterThanOrEqual(last);
      const log = await readFile(cluster.node(follower).logFile, 'utf8');
      expect(log).toMatch(/"from":"ZooKeeper"[^\n]*"msg":"snapshot installed"/);
      cluster.healPeerLinks();
      expect(await missingKeys(c, keys)).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
  it('exactly-once across snapshots: a write retried after a snapshot and a failover, and after a rebuild from ZooKeeper, takes effect once', async () => {
    const name = uniqueCluster('once');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS });
    const c = await client(zk.connectString, name);
    try {
      const first = await cluster.waitForLeader(10_000);
      const m1 = new SessionMember(cluster.node(first).address);
      const session = await m1.register(600_000);
      expect(await m1.incr('c', 10, { sessionId: session, sequence: 1, firstOutstanding: 1 })).toMatchObject({ value: 10 });
      m1.close();
      // Enough writes that snapshots cover the incr and the log holding it is compacted:
      // the session's record of sequence 1 survives only in the snapshots.
      await writeKeys(c, 'k', 300);
      expect((await zkSnapshots(name)).every((m) => m.point.index > 2)).toBe(true);
      await cluster.kill(first);
      const second = await cluster.waitForLeader(10_000, { not: first });
      const m2 = new SessionMember(cluster.node(second).address);
      try {
        expect(await m2.incr('c', 10, { sessionId: session, sequence: 1, firstOutstanding: 1 })).toMatchObject({ value: 10 });
        expect(await m2.incr('c', 10, { sessionId: session, sequence: 2, firstOutstanding: 2 })).toMatchObject({ value: 20 });
      } finally {
        m2.close();
      }
      await writeKeys(c, 'more', 250);
      // Both disks gone: the session table comes back from ZooKeeper's snapshot alone.
      for (const id of cluster.ids()) if (cluster.running(id)) await cluster.kill(id);
      for (const id of cluster.ids()) await wipe(cluster, id);
      cluster.startNode(second);
      await cluster.waitForLeader(20_000);
      const m3 = new SessionMember(cluster.node(second).address);
      try {
        expect(await m3.incr('c', 10, { sessionId: session, sequence: 2, firstOutstanding: 2 })).toMatchObject({ value: 20 });
        expect(await m3.incr('c', 10, { sessionId: session, sequence: 3, firstOutstanding: 3 })).toMatchObject({ value: 30 });
      } finally {
        m3.close();
      }
      const direct = new DirectMember(cluster.node(second).address);
      expect(await direct.get('c', 'linearizable')).toMatchObject({ found: true, value: '30' });
      direct.close();
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
