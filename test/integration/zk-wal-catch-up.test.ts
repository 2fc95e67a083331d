// A new leader compacts wal/ behind the snapshots its predecessor left in ZooKeeper, without
// taking a snapshot of its own (src/server/wal-compactor.ts; notes/snapshots.md, "Who
// compacts wal/, and when"). Against a real ZooKeeper and real node processes.
//
// The old leader's compaction must not happen: ZooKeeper refuses it. The test takes the
// DELETE permission off wal/ (deleting a child needs it on the parent; creating segments and
// moving the tail and the wal head need only CREATE and WRITE, so commits go on), so the
// old leader uploads its two snapshots but its compaction fails (NO_AUTH), as when a leader
// is deposed between its upload and its compaction. Then the old leader is SIGKILLed, the
// permission given back, and the new leader must delete the covered segments by itself.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/common/real-clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { decodeWalHead, type WalHeadRecord } from '../../src/coordination/records.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { ZK_PERMS, type ZkAclAccess, type ZkAclEntry } from '../../src/coordination/zk-acl.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { ZkSnapshotStore } from '../../src/coordination/zk-snapshot-store.js';
import type { DuoraftClient } from '../../src/client/client.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { runCli } from './cli-run.js';
import { client, missingKeys, uniqueCluster } from './helpers.js';

/** Snapshots only when asked (duoraft admin snapshot), never by the policy or the budget during the test. */
const NODE_ARGS = ['--snapshot-every-entries', '1000000', '--snapshot-retain-entries', '20'];
const EVERYONE_BUT_DELETE: readonly ZkAclEntry[] = [{ scheme: 'world', id: 'anyone', perms: ZK_PERMS.ALL & ~ZK_PERMS.DELETE }];
const EVERYONE: readonly ZkAclEntry[] = [{ scheme: 'world', id: 'anyone', perms: ZK_PERMS.ALL }];

let zk: LocalZooKeeper;
let session: ZkSession & ZkAclAccess;

beforeAll(async () => {
  zk = await startZooKeeper();
  session = connectZk({ connectString: zk.connectString });
  await session.waitConnected(5000);
});

afterAll(async () => {
  await session?.close();
  await zk?.stop();
});

async function writeKeys(c: DuoraftClient, prefix: string, n: number): Promise<{ keys: string[]; last: number }> {
  const keys: string[] = [];
  let last = 0;
  for (let i = 0; i < n; i++) {
    const key = `${prefix}-${i}`;
    last = (await c.put(key, `value-${i}`)).index; // one put at a time: about a segment each
    keys.push(key);
  }
  return { keys, last };
}

async function walHead(paths: ClusterPaths): Promise<WalHeadRecord> {
  return decodeWalHead(paths.wal, (await session.getData(paths.wal)).data);
}

describe('a new leader compacts wal/ behind the snapshots already in ZooKeeper', () => {
  it('after a failover, the new leader deletes the segments the older kept snapshot covers, takes no snapshot, and loses nothing', async () => {
    const started = Date.now();
    const name = uniqueCluster('wal-catch-up');
    const paths = new ClusterPaths(name);
    const store = new ZkSnapshotStore({ zk: session, paths, clock: realClock, logger: silentLogger, nodeId: 'test' });
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: NODE_ARGS });
    let c = await client(zk.connectString, name);
    const at = ['--zk', zk.connectString, '--cluster', name];
    try {
      const old = await cluster.waitForLeader(10_000);
      const first = await writeKeys(c, 'a', 30);
      await session.setAcl(paths.wal, EVERYONE_BUT_DELETE);

      // Two snapshots uploaded by the old leader; its compaction through the older one is refused.
      const s1 = await runCli(['admin', 'snapshot', '--json', ...at]);
      expect(s1.code).toBe(0);
      expect(JSON.parse(s1.stdout.toString()) as { publish: string }).toMatchObject({ publish: 'published' });
      const second = await writeKeys(c, 'b', 30);
      const s2 = await runCli(['admin', 'snapshot', '--json', ...at]);
      expect(s2.code).toBe(0);
      const refused = (JSON.parse(s2.stdout.toString()) as { publish: string }).publish;
      expect(refused).toMatch(/^failed: .*NO_AUTH/);
      const snapshots = (await store.list()).map((m) => m.point.index);
      expect(snapshots).toHaveLength(2);
      const [newest, older] = snapshots as [number, number];
      expect(older).toBeGreaterThanOrEqual(first.last);
      expect(newest).toBeGreaterThanOrEqual(second.last);
      expect(await walHead(paths)).toEqual({ firstSegmentIndex: 1, snapshotIndex: 0 }); // nothing compacted
      expect(await session.exists(paths.segment(1))).not.toBeNull();

      // The old leader dies; the new one finds wal/ uncompacted behind the older snapshot.
      await c.close();
      await cluster.kill(old);
      await session.setAcl(paths.wal, EVERYONE);
      const leader = await cluster.waitForLeader(20_000, { not: old });
      expect(leader).not.toBe(old);

      const deadline = Date.now() + 20_000;
      let head = await walHead(paths);
      while (head.snapshotIndex !== older && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        head = await walHead(paths);
      }
      // Compacted exactly through the older snapshot: the oldest segment left holds the entry after it.
      expect(head.snapshotIndex).toBe(older);
      expect(head.firstSegmentIndex).toBeGreaterThan(1);
      expect(head.firstSegmentIndex).toBeLessThanOrEqual(older + 1);
      expect(await session.exists(paths.segment(1))).toBeNull();
      expect(await session.exists(paths.segment(head.firstSegmentIndex))).not.toBeNull();
      // ... by the new leader, from the snapshots it found: it took none itself.
      expect((await store.list()).map((m) => m.point.index)).toEqual([newest, older]);
      const log = await readFile(cluster.node(leader).logFile, 'utf8');
      expect(log).toMatch(new RegExp(`"through":${older}[^\\n]*"msg":"zk wal: compacted behind the snapshots in ZooKeeper"`));
      expect(log).not.toMatch(/"msg":"snapshot taken"/);

      // Nothing lost, and writes go on.
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, [...first.keys, ...second.keys])).toEqual([]);
      await c.put('after', 'value-0');
      process.stdout.write(`zk-wal-catch-up: ${Date.now() - started} ms\n`);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });

  it('a new leader publishes its newest local snapshot when ZooKeeper holds only older ones (one taken while following)', async () => {
    const name = uniqueCluster('publish-local');
    const paths = new ClusterPaths(name);
    const store = new ZkSnapshotStore({ zk: session, paths, clock: realClock, logger: silentLogger, nodeId: 'test' });
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: NODE_ARGS });
    let c = await client(zk.connectString, name);
    const at = ['--zk', zk.connectString, '--cluster', name];
    try {
      const old = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== old)!;
      const first = await writeKeys(c, 'a', 20);
      const onLeader = JSON.parse((await runCli(['admin', 'snapshot', '--json', ...at])).stdout.toString()) as { index: number; publish: string };
      expect(onLeader.publish).toBe('published');
      const second = await writeKeys(c, 'b', 20);
      await cluster.waitForApplied(second.last, 10_000);
      const onFollower = JSON.parse((await runCli(['admin', 'snapshot', '--json', '--address', cluster.node(follower).address, ...at])).stdout.toString()) as { index: number; publish: string };
      expect(onFollower.publish).toBe('not-leader');
      expect(onFollower.index).toBeGreaterThan(onLeader.index);
      expect((await store.list()).map((m) => m.point.index)).toEqual([onLeader.index]);

      await c.close();
      await cluster.kill(old);
      expect(await cluster.waitForLeader(20_000, { not: old })).toBe(follower);
      const deadline = Date.now() + 20_000;
      let newest = 0;
      while (newest !== onFollower.index && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        newest = (await store.list())[0]?.point.index ?? 0;
      }
      expect(newest).toBe(onFollower.index);
      expect(await readFile(cluster.node(follower).logFile, 'utf8')).toMatch(/"msg":"publishing the newest local snapshot: ZooKeeper holds only older ones"/);
      c = await client(zk.connectString, name);
      expect(await missingKeys(c, [...first.keys, ...second.keys])).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
