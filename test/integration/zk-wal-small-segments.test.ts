// A wiped node rebuilds from a log of many small segments in a real ZooKeeper (issue 10's
// soak: tens of thousands of 1-6 entry segments at full load). More segments than its start-up
// check lists (LISTING_LIMIT), so it walks the chain, then replays it in its take-over: both
// forward walks read ahead with lanes (zk-segment-read-ahead.ts). The node starts on an
// empty data folder, verifies the log (its log line says it walked every segment), leads,
// serves every key of the log with its last value, and takes a new write.
// About 10 s on an idle machine: the log is written straight into ZooKeeper in multis.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { writeRestoredTree } from '../../src/coordination/cluster-restore.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { encodeSegment, encodeTail } from '../../src/coordination/records.js';
import type { ZkOp } from '../../src/coordination/zk-api.js';
import { connectZk, type NodeZkSession } from '../../src/coordination/zk-client.js';
import { LISTING_LIMIT } from '../../src/coordination/zk-wal-verify.js';
import { genesisChain } from '../../src/core/chain.js';
import { RaftLog } from '../../src/core/log.js';
import { EntryType, type Entry } from '../../src/core/types.js';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { startZooKeeper, type LocalZooKeeper } from '../../src/harness/zk-launcher.js';
import { encodeCommand } from '../../src/statemachine/command.js';
import { DirectMember, sleep, uniqueCluster } from './helpers.js';

let server: LocalZooKeeper;
let zk: NodeZkSession;

beforeAll(async () => {
  server = await startZooKeeper({ forceSync: false, heapMb: 512 });
  zk = connectZk({ connectString: server.connectString, sessionTimeoutMs: 15_000 });
  await zk.waitConnected(10_000);
});

afterAll(async () => {
  await zk?.close();
  await server?.stop();
});

/** Segment lengths as at full load in the soaks (1-6 entries, 3.4 on average). */
const LENGTHS = [1, 2, 3, 4, 5, 6, 4, 2];
const SEGMENTS = LISTING_LIMIT + 1_000;
const KEYS = 500;
const TERM = 2;

describe('a wiped node and a log of many small segments', () => {
  it('walks and replays it ahead of the chain, leads, and serves every key', async () => {
    const cluster = uniqueCluster('small-segs');
    const paths = new ClusterPaths(cluster);
    const clusterId = createHash('sha256').update(cluster).digest('hex').slice(0, 32);
    // The tree, with no log (the restore's own writer makes one segment per mirror batch).
    await writeRestoredTree(
      { zk, paths, clock: realClock, logger: silentLogger, maxSegmentBytes: 64 * 1024 },
      { identity: { cluster, clusterId, createdAtMs: Date.now() }, epochTerm: TERM, voters: [], entries: [], snapshot: null },
    );
    // The log: key k<i % KEYS> set to v<i>, in segments of LENGTHS, each linking back.
    let count = 0;
    for (let s = 0; s < SEGMENTS; s++) count += LENGTHS[s % LENGTHS.length]!;
    const raw: Entry[] = Array.from({ length: count }, (_, k) => ({
      index: k + 1,
      term: TERM,
      type: EntryType.Normal,
      data: encodeCommand({ kind: 'put', key: `k${k % KEYS}`, value: new TextEncoder().encode(`v${k}`) }, 1_700_000_000_000),
    }));
    const entries = RaftLog.chainFrom(genesisChain(clusterId), raw);
    let ops: ZkOp[] = [];
    let at = 0;
    let prevFirst = 0;
    for (let s = 0; s < SEGMENTS; s++) {
      const segment = entries.slice(at, at + LENGTHS[s % LENGTHS.length]!);
      ops.push({ type: 'create', path: paths.segment(segment[0]!.index), data: encodeSegment(TERM, segment, prevFirst), mode: 'persistent' });
      prevFirst = segment[0]!.index;
      at += segment.length;
      if (ops.length === 250 || s === SEGMENTS - 1) {
        await zk.multi(ops);
        ops = [];
      }
    }
    const tail = await zk.getData(paths.tail);
    await zk.setData(paths.tail, encodeTail({ term: TERM, lastIndex: count, segmentFirstIndex: prevFirst }), tail.stat.version);

    // One node, an empty data folder (the other voter never started: it takes over alone).
    const nodes = await ProcessCluster.start({ zk: server.connectString, cluster, ids: ['a', 'b'], deferred: ['b'], waitForLeader: false });
    try {
      const leader = await nodes.waitForLeader(60_000);
      expect(leader).toBe('a');
      const log = await readFile(nodes.node('a').logFile, 'utf8');
      const verified = log.split('\n').find((l) => l.includes("verified ZooKeeper's log"));
      expect(verified).toBeDefined();
      expect(JSON.parse(verified!)).toMatchObject({ segments: SEGMENTS, how: 'walked', from: 1, to: count });
      const direct = new DirectMember(nodes.node('a').address);
      try {
        for (const k of [0, 1, KEYS - 1]) {
          // The last write of key k was entry index i with i - 1 = k (mod KEYS), i <= count.
          const last = count - 1 - ((count - 1 - k) % KEYS);
          expect(await direct.get(`k${k}`, 'linearizable')).toMatchObject({ found: true, value: `v${last}` });
        }
        let put = await direct.put('after', 'rebuild');
        for (let tries = 0; !('index' in put) && tries < 50; tries++) {
          await sleep(100);
          put = await direct.put('after', 'rebuild');
        }
        expect('index' in put && put.index > count).toBe(true);
      } finally {
        direct.close();
      }
    } finally {
      await nodes.stop();
    }
  }, 90_000);
});
