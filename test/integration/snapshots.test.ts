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
import { client, missingKeys, uniqueCluster } from './helpers.js';

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

  it('a follower down while the leader compacted past its log catches up', async () => {
    const name = uniqueCluster('behind');
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
      await cluster.waitForApplied(last, 30_000);
      const direct = await cluster.memberStatus(follower);
      expect(direct?.appliedIndex).toBeGreaterThanOrEqual(last);
      expect(await missingKeys(c, keys)).toEqual([]);
      // It could not be fed from the log (compacted on the leader and in ZooKeeper): it loaded a snapshot.
      expect(await readFile(cluster.node(follower).logFile, 'utf8')).toMatch(/snapshot installed/);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
