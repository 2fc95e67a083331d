// A cluster tree in a real ZooKeeper with a leader's log in it, written by the real WAL
// mirror: for the tests of snapshots, compaction, the reader and inspect.
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { ensureClusterTree } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { decodeTail, encodeEpoch } from '../../src/coordination/records.js';
import { WalMirror } from '../../src/coordination/wal-mirror.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { EntryType, type Entry } from '../../src/core/types.js';

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

export const entryOf = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(`entry-${index}`.padEnd(100, '.')) });

/**
 * Appends `count` entries after the tail through a WalMirror, `perSegment` entries per
 * segment (entries of 100 bytes). Resolves with the tail afterwards.
 */
export async function appendEntries(zk: ZkSession, f: LeaderFixture, count: number, perSegment: number): Promise<{ lastIndex: number; segmentFirstIndex: number }> {
  const tailRead = await zk.getData(f.paths.tail);
  const tail = decodeTail(f.paths.tail, tailRead.data);
  const last = tail.lastIndex + count;
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
    mirror.enqueue(Array.from({ length: count }, (_, k) => entryOf(tail.lastIndex + 1 + k, f.term)));
  });
  const after = decodeTail(f.paths.tail, (await zk.getData(f.paths.tail)).data);
  return { lastIndex: after.lastIndex, segmentFirstIndex: after.segmentFirstIndex };
}
