// What the fuzz suite found beyond issue 11's list, each as a test that reproduces it.
//
// 1. A foreign write to the tail znode under a pipelined write load (the fuzz suite's znode
//    target wrote a corrupt value, then put the original back) left a gap in ZooKeeper's log:
//    the leader's multis are chained on the tail's version (V, V+1, ...), and one foreign
//    setData moves it by one, so the multi expecting V fails while the next one, expecting
//    V+1, succeeds. The mirror then counted the missing batch as committed (the tail it read
//    back is one its own chain could have left), and every later take-over failed its replay
//    ("gap: expected index N, found N+1"), fencing again and again (the epoch reached term
//    978 in a minute): the cluster never served again. Here the foreign write is the most
//    innocent one there is: the tail's own current value written back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { decodeTail } from '../../src/coordination/records.js';
import { connectZk, type NodeZkSession } from '../../src/coordination/zk-client.js';
import { readCommittedEntries } from '../../src/coordination/zk-log-reader.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, missingKeys, sleep, uniqueCluster, Writer } from './helpers.js';

let zk: LocalZooKeeper;
let session: NodeZkSession;

beforeAll(async () => {
  zk = await startZooKeeper();
  session = connectZk({ connectString: zk.connectString });
  await session.waitConnected(5000);
});

afterAll(async () => {
  await session?.close();
  await zk?.stop();
});

describe('found by the fuzz suite', () => {
  it('the tail rewritten with its own value under a pipelined write load: no gap in ZooKeeper\'s log, nothing lost, a SIGKILL of the leader still fails over', async () => {
    const name = uniqueCluster('tail-rewrite');
    const paths = new ClusterPaths(name);
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name });
    const c = await client(zk.connectString, name);
    try {
      await cluster.waitForLeader(10_000);
      // Concurrent writers: the leader keeps several multis in flight.
      const writers = Array.from({ length: 24 }, (_, k) => new Writer(c, `w${k}`));
      await sleep(500);
      let rewrites = 0;
      for (let i = 0; i < 40; i++) {
        const now = await session.getData(paths.tail);
        const r = await session.setData(paths.tail, now.data, now.stat.version).catch(() => null);
        if (r) rewrites++;
        await sleep(25);
      }
      await sleep(1000);
      const reports = await Promise.all(writers.map((w) => w.stop()));
      const acked = reports.flatMap((r) => r.acked);
      // ZooKeeper's log has no gap: every entry up to the tail reads back, in order.
      const tail = decodeTail(paths.tail, (await session.getData(paths.tail)).data);
      let entries = -1;
      let gap = '';
      try {
        entries = (await readCommittedEntries(session, paths, 0, tail.lastIndex)).length;
      } catch (err) {
        gap = (err as Error).message;
      }
      process.stdout.write(`fuzz finding (tail rewrite): ${rewrites} rewrites, ${acked.length} writes acknowledged, ZooKeeper's log up to ${tail.lastIndex}: ${gap || `${entries} entries, no gap`}\n`);
      expect(gap).toBe('');
      expect(entries).toBe(tail.lastIndex);
      // Nothing acknowledged lost, and the log can be replayed: a SIGKILL of the leader fails over.
      await cluster.waitForLeader(20_000);
      expect(await missingKeys(c, acked)).toEqual([]);
      const leader = await cluster.waitForLeader(10_000);
      await cluster.kill(leader);
      const next = await cluster.waitForLeader(20_000, { not: leader });
      expect(next).not.toBe(leader);
      await c.put('after-failover', 'ok');
      expect(await missingKeys(c, acked)).toEqual([]);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
