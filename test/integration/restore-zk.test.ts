// Issue 11 point 5: ZooKeeper's data lost, and `duoraft admin restore-zk`. A cluster takes
// acknowledged writes (with a snapshot and a log after it); ZooKeeper is killed, its dataDir
// deleted, and it is started again empty on the same port. The running nodes reconnect to
// it (their old sessions are unknown there and are replaced) and stop with ZK_DATA_LOST.
// restore-zk refuses a corrupt folder, an unconfirmed run, and running nodes (a fresh node
// that made a tree of another identity, which then holds data and needs --force); then it restores from the leader's folder (compared
// with the follower's), refuses again once ZooKeeper holds the live tree, the nodes start
// and every acknowledged write is there; with the nodes running it refuses once more.
import { cp, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterState } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { connectZk, type NodeZkSession } from '../../src/coordination/zk-client.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { runCli } from './cli-run.js';
import { DirectMember, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

const KEYS = 260;

async function writeKeys(cluster: ProcessCluster, from: number, count: number, acked: Map<string, string>): Promise<void> {
  const leader = await cluster.waitForLeader(20_000);
  const direct = new DirectMember(cluster.node(leader).address);
  try {
    const deadline = Date.now() + 60_000;
    for (let i = from; i < from + count && Date.now() < deadline; ) {
      const r = await direct.put(`k${i}`, `v${i}`);
      if ('index' in r) {
        acked.set(`k${i}`, `v${i}`);
        i++;
        continue;
      }
      // Refused (a lease lapse on a busy machine) or lost in a failover: put the same value
      // again (a put of the same value twice is the same write).
      if (!['NOT_LEADER', 'BUSY', 'UNAVAILABLE', 'UNKNOWN_OUTCOME', 'TIMEOUT'].includes(r.code)) throw new Error(`put k${i}: ${r.code} ${r.message}`);
      await sleep(50);
    }
  } finally {
    direct.close();
  }
  expect(acked.size).toBe(from + count);
}

/** ZooKeeper loses everything: SIGKILL, its dataDir deleted, started again on the same port. */
async function loseZooKeeperData(): Promise<void> {
  await zk.kill();
  await rm(zk.dataDir, { recursive: true, force: true });
  await mkdir(zk.dataDir);
  await zk.restart();
}

async function flipByteInFirstWalFile(dataDir: string): Promise<string> {
  const walDir = join(dataDir, 'wal');
  const name = (await readdir(walDir)).filter((n) => /^wal-\d{16}\.log$/.test(n)).sort()[0]!;
  const file = join(walDir, name);
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const at = Math.floor(size / 3);
    const b = Buffer.alloc(1);
    await handle.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await handle.write(b, 0, 1, at);
  } finally {
    await handle.close();
  }
  return file;
}

function restore(name: string, args: readonly string[], stdin = ''): ReturnType<typeof runCli> {
  return runCli(['admin', 'restore-zk', '--zk', zk.connectString, '--cluster', name, ...args], { stdin, timeoutMs: 60_000 });
}

describe('ZooKeeper data lost: duoraft admin restore-zk', () => {
  it('nodes stop with ZK_DATA_LOST; restore-zk refuses a corrupt folder, no confirmation and registered nodes, restores from the leader\'s folder, refuses a live tree; every acknowledged write is back', async () => {
    const name = uniqueCluster('restore');
    const paths = new ClusterPaths(name);
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: ['--snapshot-every-entries', '100'] });
    let fresh: ProcessCluster | null = null;
    let session: NodeZkSession | null = null;
    try {
      const acked = new Map<string, string>();
      await writeKeys(cluster, 0, KEYS, acked);
      const leader = await cluster.waitForLeader(10_000);
      const follower = cluster.ids().find((id) => id !== leader)!;
      await cluster.waitForApplied(KEYS, 10_000).catch(() => undefined);

      const lostAt = Date.now();
      await loseZooKeeperData();
      // Both nodes reconnect to the empty server and stop on their own.
      const exits = [await cluster.exitOf('a', 60_000), await cluster.exitOf('b', 60_000)];
      const stoppedAfterMs = Date.now() - lostAt;
      expect(exits.map((e) => e?.code)).toEqual([1, 1]);
      for (const id of cluster.ids()) {
        const log = await readFile(cluster.node(id).logFile, 'utf8');
        // The old session is unknown to the emptied server (it never answers its resumption):
        // the client gives it up and starts a new one, on which the node sees the tree gone.
        expect(log, id).toContain('the session could not be resumed within 1.5 session timeouts');
        expect(log, id).toContain('duoraft: ZK_DATA_LOST');
        expect(log, id).toContain('duoraft admin restore-zk');
      }
      process.stdout.write(`restore-zk: both nodes stopped with ZK_DATA_LOST ${stoppedAfterMs} ms after ZooKeeper lost its data\n`);

      session = connectZk({ connectString: zk.connectString });
      await session.waitConnected(10_000);

      // A copy of the leader's folder as it stopped, for a restore into an empty chroot below.
      const copy = join(cluster.workDir, 'leader-copy');
      await cp(cluster.node(leader).dataDir, copy, { recursive: true });

      // A corrupt copy of the leader's folder: refused, nothing written.
      const corrupt = join(cluster.workDir, 'corrupt-copy');
      await cp(cluster.node(leader).dataDir, corrupt, { recursive: true });
      const flipped = await flipByteInFirstWalFile(corrupt);
      const bad = await restore(name, ['--data-dir', corrupt, '--yes']);
      expect(bad.code, bad.stderr).toBe(1);
      expect(bad.stderr).toMatch(/^duoraft: CORRUPT_WAL: .*wal/m);
      expect(bad.stderr).toContain(flipped);
      expect(await session.exists(paths.root)).toBeNull();

      // Not confirmed: refused after showing what it found.
      const unconfirmed = await restore(name, ['--data-dir', cluster.node(leader).dataDir], 'no\n');
      expect(unconfirmed.code).toBe(1);
      expect(unconfirmed.stderr).toContain('RESTORE_REFUSED: not confirmed');
      const shown = unconfirmed.stdout.toString('utf8');
      expect(shown).toContain('what may be lost');
      expect(shown).toMatch(/commit index known here: \d+; chain value there: [0-9a-f]{32}/);
      expect(shown).toContain('ZooKeeper');
      expect(shown).toContain('nothing (the tree is gone)');
      expect(await session.exists(paths.root)).toBeNull();

      // A fresh node (empty folder) makes a tree of another identity and registers: refused.
      fresh = await ProcessCluster.start({ zk: zk.connectString, cluster: name, ids: ['c'], waitForLeader: false });
      const registered = await waitFor(async () => (await session!.getChildren(paths.members).catch((): string[] => [])).includes('c'), 20_000);
      expect(registered).toBe(true);
      const running = await restore(name, ['--data-dir', cluster.node(leader).dataDir, '--yes']);
      expect(running.code).toBe(1);
      expect(running.stderr).toMatch(/RESTORE_REFUSED: members c are registered .*Stop the nodes first/);
      await fresh.signal('c', 'SIGTERM');
      await fresh.stop();
      fresh = null;

      // Alone, the fresh node led and wrote its no-op: a tree of another identity with data.
      const foreign = await restore(name, ['--data-dir', cluster.node(leader).dataDir, '--yes']);
      expect(foreign.code).toBe(1);
      expect(foreign.stderr).toMatch(/RESTORE_REFUSED: ZooKeeper holds a tree of another identity \([0-9a-f]{32}\) with data .*--force/);

      // The restore itself: from the leader's folder, compared with the follower's; --force
      // because the operator knows the other tree is the fresh node's.
      const ok = await restore(name, ['--data-dir', cluster.node(leader).dataDir, '--compare-data-dir', cluster.node(follower).dataDir, '--yes', '--force']);
      const out = ok.stdout.toString('utf8');
      expect(ok.code, `${ok.stderr}\n${out}`).toBe(0);
      expect(out).toContain('the chains agree');
      expect(out).toContain('a tree of another identity');
      expect(out).toMatch(/upload(ed)? the snapshot at index \d+/);
      expect(out).toContain('restored:');
      expect(await session.exists(paths.restoring)).toBeNull();
      process.stdout.write(`restore-zk output:\n${out}`);

      // ZooKeeper now holds the live tree: nothing to restore.
      const again = await restore(name, ['--data-dir', cluster.node(leader).dataDir, '--yes']);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('RESTORE_REFUSED: ZooKeeper holds a live tree of this cluster');

      // The nodes start again on their folders and every acknowledged write is there.
      cluster.startNode('a');
      cluster.startNode('b');
      const newLeader = await cluster.waitForLeader(30_000);
      const direct = new DirectMember(cluster.node(newLeader).address);
      try {
        for (const [key, value] of acked) expect(await direct.get(key, 'linearizable'), key).toMatchObject({ found: true, value });
      } finally {
        direct.close();
      }
      await writeKeys(cluster, KEYS, 20, acked);

      // With the nodes running: refused.
      const live = await restore(name, ['--data-dir', cluster.node(follower).dataDir, '--yes']);
      expect(live.code).toBe(1);
      expect(live.stderr).toMatch(/RESTORE_REFUSED: members .* are registered/);

      // Into a ZooKeeper (here a chroot) without even /duoraft: the restore creates it, and the
      // tree reads back whole.
      await session.create('/elsewhere', new Uint8Array(), 'persistent');
      const chrooted = await runCli(['admin', 'restore-zk', '--zk', `${zk.connectString}/elsewhere`, '--cluster', name, '--data-dir', copy, '--yes'], { timeoutMs: 60_000 });
      expect(chrooted.code, chrooted.stderr).toBe(0);
      const state = await readClusterState(await chrootSession(`${zk.connectString}/elsewhere`), paths);
      expect(state.tail.lastIndex).toBeGreaterThanOrEqual(KEYS);
      expect(await session.exists(`/elsewhere${paths.restoring}`)).toBeNull();
    } finally {
      await session?.close();
      await fresh?.stop();
      await cluster.stop();
    }
  });
});

const opened: NodeZkSession[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
});

async function chrootSession(connectString: string): Promise<NodeZkSession> {
  const s = connectZk({ connectString });
  opened.push(s);
  await s.waitConnected(10_000);
  return s;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}
