// Issue 10 point 7, against a real ZooKeeper and real processes: a snapshot in ZooKeeper
// whose chunk does not verify, or whose manifest is missing, is refused with an error that
// names the znode; the node falls back to the previous snapshot and a longer replay; with
// nothing usable left it says so and serves nothing rather than wrong data.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuoraftClient } from '../../src/client/client.js';
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { decodeEpoch } from '../../src/coordination/records.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import type { ZkSnapshotManifest } from '../../src/coordination/zk-snapshot-records.js';
import { ZkSnapshotStore } from '../../src/coordination/zk-snapshot-store.js';
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

/** Small snapshot intervals: a few hundred writes leave two complete snapshots and a compacted log. */
const SNAPSHOT_ARGS = ['--snapshot-every-entries', '100', '--snapshot-retain-entries', '20'];

async function writeKeys(c: DuoraftClient, prefix: string, n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${prefix}-${i}`;
    await c.put(key, `value-${i}`);
    keys.push(key);
  }
  return keys;
}

async function withZk<T>(fn: (session: ZkSession) => Promise<T>): Promise<T> {
  const session = connectZk({ connectString: zk.connectString });
  try {
    await session.waitConnected(5000);
    return await fn(session);
  } finally {
    await session.close();
  }
}

function store(session: ZkSession, cluster: string): ZkSnapshotStore {
  return new ZkSnapshotStore({ zk: session, paths: new ClusterPaths(cluster), clock: realClock, logger: silentLogger, nodeId: 'test' });
}

/** Flips one byte in the middle of a chunk's znode (the sealed record's CRC no longer matches). */
async function corruptChunk(session: ZkSession, cluster: string, m: ZkSnapshotManifest): Promise<string> {
  const path = new ClusterPaths(cluster).snapshotChunk(m.point.index, 0);
  const { data, stat } = await session.getData(path);
  const bad = Buffer.from(data);
  bad[Math.floor(bad.length / 2)]! ^= 0xff;
  await session.setData(path, bad, stat.version);
  return path;
}

/** Both voters killed and their data folders emptied: the next start rebuilds from ZooKeeper alone. */
async function killAndWipeBoth(cluster: ProcessCluster): Promise<void> {
  for (const id of cluster.ids()) await cluster.kill(id);
  for (const id of cluster.ids()) {
    const dir = cluster.node(id).dataDir;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
}

/** Writes until ZooKeeper holds two complete snapshots and its log starts after index 1. */
async function clusterWithTwoSnapshots(name: string): Promise<{ cluster: ProcessCluster; keys: string[]; snapshots: ZkSnapshotManifest[] }> {
  const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: SNAPSHOT_ARGS });
  const c = await client(zk.connectString, name);
  try {
    const keys = await writeKeys(c, 'k', 450);
    await killAndWipeBoth(cluster);
    const snapshots = await withZk((s) => store(s, name).list());
    expect(snapshots.length).toBe(2);
    return { cluster, keys, snapshots };
  } finally {
    await c.close();
  }
}

describe('snapshot integrity in ZooKeeper (issue 10 point 7)', () => {
  it('a corrupt chunk of the newest snapshot: named in the error, the previous snapshot and a longer replay rebuild every acknowledged write', async () => {
    const name = uniqueCluster('corrupt-chunk');
    const { cluster, keys, snapshots } = await clusterWithTwoSnapshots(name);
    let c: DuoraftClient | undefined;
    try {
      const [newest, previous] = snapshots;
      const path = await withZk((s) => corruptChunk(s, name, newest!));
      const first = cluster.ids()[0]!;
      cluster.startNode(first);
      await cluster.waitForLeader(20_000);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, keys)).toEqual([]);
      await c.put('after', 'x');
      const log = await readFile(cluster.node(first).logFile, 'utf8');
      expect(log).toContain(path);
      expect(log).toMatch(/does not verify; falling back to the previous one/);
      expect(log).toMatch(new RegExp(`"index":${previous!.point.index}[^\\n]*rebuilt from the newest snapshot in ZooKeeper`));
    } finally {
      await c?.close();
      await cluster.stop();
    }
  });

  it('a missing manifest: that snapshot is not complete, the previous one is used', async () => {
    const name = uniqueCluster('no-manifest');
    const { cluster, keys, snapshots } = await clusterWithTwoSnapshots(name);
    let c: DuoraftClient | undefined;
    try {
      const [newest, previous] = snapshots;
      await withZk(async (s) => {
        const path = new ClusterPaths(name).snapshotManifest(newest!.point.index);
        await s.delete(path, -1);
      });
      const first = cluster.ids()[0]!;
      cluster.startNode(first);
      await cluster.waitForLeader(20_000);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, keys)).toEqual([]);
      const log = await readFile(cluster.node(first).logFile, 'utf8');
      expect(log).toMatch(new RegExp(`"index":${previous!.point.index}[^\\n]*rebuilt from the newest snapshot in ZooKeeper`));
    } finally {
      await c?.close();
      await cluster.stop();
    }
  });

  it('every snapshot corrupt and the log compacted: the node says so and serves nothing', async () => {
    const name = uniqueCluster('nothing-usable');
    const { cluster, snapshots } = await clusterWithTwoSnapshots(name);
    let c: DuoraftClient | undefined;
    try {
      await withZk(async (s) => {
        for (const m of snapshots) await corruptChunk(s, name, m);
      });
      const epochBefore = await withZk(async (s) => decodeEpoch('epoch', (await s.getData(new ClusterPaths(name).epoch)).data).term);
      const first = cluster.ids()[0]!;
      cluster.startNode(first);
      c = await client(zk.connectString, name, 3000);
      await expect(c.put('must-not-land', 'x')).rejects.toThrow();
      // A loaded machine may take a while to start the process: wait (bounded) for the line.
      let log = '';
      for (let i = 0; i < 100 && !/does not take over/.test(log); i++) {
        await new Promise((r) => setTimeout(r, 100));
        log = await readFile(cluster.node(first).logFile, 'utf8');
      }
      expect(log).toMatch(/no usable snapshot in ZooKeeper/);
      // It does not even try to lead: no fence moved the epoch (each would rewrite the lease
      // and hold up the take-over of a healthy peer that comes back).
      expect(log).toMatch(/does not take over: it has no state to lead with/);
      const epochAfter = await withZk(async (s) => decodeEpoch('epoch', (await s.getData(new ClusterPaths(name).epoch)).data).term);
      expect(epochAfter).toBe(epochBefore);
      const status = await cluster.memberStatus(first);
      expect(status?.role).not.toBe('leader');
      expect(status?.appliedIndex ?? 0).toBe(0);
    } finally {
      await c?.close();
      await cluster.stop();
    }
  });
});
