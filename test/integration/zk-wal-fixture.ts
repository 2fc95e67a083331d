// A cluster tree in a real ZooKeeper with a leader's log in it, written by the real WAL
// mirror: for the tests of snapshots, compaction, the reader and inspect.
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { ensureClusterTree } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { decodeSegment, decodeTail, encodeEpoch } from '../../src/coordination/records.js';
import { WalMirror } from '../../src/coordination/wal-mirror.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { chainNext } from '../../src/core/chain.js';
import { EntryType, type ChainedEntry } from '../../src/core/types.js';

export interface LeaderFixture {
  readonly paths: ClusterPaths;
  readonly term: number;
  readonly epochVersion: number;
}

/** Creates the cluster tree and makes `id` the leader of term 1 (the epoch moves to version 2). */
export async function clusterWithLeader(zk: ZkSession, cluster: string, id = 'a'): Promise<LeaderFixture> {
  const paths = new ClusterPaths(cluster);
  const state = await ensureClusterTree(zk, paths);
  const stat = await zk.setData(paths.epoch, encodeEpoch({ term: 1, leaderId: id }), state.epoch.version);
  return { paths, term: 1, epochVersion: stat.version };
}

/** Another node takes over: the epoch moves on, and the old version fences every write checked against it. */
export async function depose(zk: ZkSession, f: LeaderFixture, by = 'b'): Promise<LeaderFixture> {
  const { stat } = await zk.getData(f.paths.epoch);
  const next = await zk.setData(f.paths.epoch, encodeEpoch({ term: f.term + 1, leaderId: by }), stat.version);
  return { paths: f.paths, term: f.term + 1, epochVersion: next.version };
}

/** Entries after `prev` (the chain value of the entry before the first), each chained onto the one before. */
export function entriesAfter(prev: Uint8Array, first: number, count: number, term: number): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  let chain = prev;
  for (let index = first; index < first + count; index++) {
    const base = { index, term, type: EntryType.Normal, data: new TextEncoder().encode(`entry-${index}`.padEnd(100, '.')) };
    chain = chainNext(chain, base);
    out.push({ ...base, chain });
  }
  return out;
}

/**
 * Appends `count` entries after the tail through a WalMirror, `perSegment` entries per
 * segment (entries of 100 bytes). Resolves with the tail afterwards.
 */
export async function appendEntries(zk: ZkSession, f: LeaderFixture, count: number, perSegment: number): Promise<{ lastIndex: number; segmentFirstIndex: number }> {
  const tailRead = await zk.getData(f.paths.tail);
  const tail = decodeTail(f.paths.tail, tailRead.data);
  const last = tail.lastIndex + count;
  // The chain goes on from the tail's last entry (a fixed genesis of zeros for an empty log).
  let prev: Uint8Array = new Uint8Array(16);
  if (tail.lastIndex > 0) {
    const seg = decodeSegment(f.paths.segment(tail.segmentFirstIndex), (await zk.getData(f.paths.segment(tail.segmentFirstIndex))).data);
    prev = seg.entries[seg.entries.length - 1]!.chain;
  }
  await new Promise<void>((resolve, reject) => {
    const mirror = new WalMirror({
      zk,
      paths: f.paths,
      clock: realClock,
      logger: silentLogger,
      term: f.term,
      epochVersion: f.epochVersion,
      tailVersion: tailRead.stat.version,
      tailLastIndex: tail.lastIndex,
      tailSegmentFirstIndex: tail.segmentFirstIndex,
      maxInflight: 4,
      maxBatchBytes: perSegment * 132,
      maxQueuedEntries: count + 1,
      onCommitted: (i) => {
        if (i === last) {
          mirror.close();
          resolve();
        }
      },
      onFenced: (r) => reject(new Error(`fenced: ${r}`)),
      onFailed: (r) => reject(new Error(`failed: ${r}`)),
    });
    mirror.enqueue(entriesAfter(prev, tail.lastIndex + 1, count, f.term));
  });
  const after = decodeTail(f.paths.tail, (await zk.getData(f.paths.tail)).data);
  return { lastIndex: after.lastIndex, segmentFirstIndex: after.segmentFirstIndex };
}
