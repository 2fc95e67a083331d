// A voter restarted on its own data folder after its local WAL was compacted behind a
// snapshot starts from that snapshot and the WAL after it (issue 10 point 3). Before the
// fix (PROPOSED FIX in src/server/run-node.ts) the WAL was judged corrupt whenever it did
// not start at index 1, set aside, and the node rebuilt from ZooKeeper and its peer: safe,
// but every restart of a long-lived node did the work of a wiped one.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { writeKeys } from '../../src/harness/bench-snapshots.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe('restart on a compacted local WAL', () => {
  it('loads the local snapshot and replays the WAL after it, without setting the WAL aside', async () => {
    const name = uniqueCluster('wal-compacted');
    // Local WAL files roll at 4 MiB: 6,000 writes of 1 KiB fill two, and snapshots every
    // 1,000 entries let the first go.
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: ['--snapshot-every-entries', '1000'] });
    let c = await client(zk.connectString, name);
    try {
      const load = await writeKeys(c, 6_000, 6_000, 1024, 32);
      expect(load.errors).toBe(0);
      await c.close();
      for (const id of cluster.ids()) await cluster.kill(id);
      for (const id of cluster.ids()) cluster.startNode(id);
      await cluster.waitForLeader(30_000);
      c = await client(zk.connectString, name);
      for (const k of [0, 2_999, 5_999]) expect((await c.get(`k-${k}`)).found, `k-${k}`).toBe(true);
      const last = (await c.put('after', 'x')).index;
      await cluster.waitForApplied(last, 30_000);
      for (const id of cluster.ids()) {
        const log = await readFile(cluster.node(id).logFile, 'utf8');
        const restart = log.slice(log.lastIndexOf('--- start 2 ---'));
        expect(restart, id).toMatch(/snapshot loaded/);
        expect(restart, id).not.toMatch(/nothing holds the entries before it/);
        expect(restart, id).not.toMatch(/local WAL set aside|rebuilding this node from ZooKeeper/);
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  }, 120_000);
});
