// Compaction of wal/: deleting the segments a complete snapshot covers.
//
// Only a segment whose entries all lie at or below the snapshot's index goes, and never the
// segment the tail names (so the chain always has its newest link, and the tail record
// never points at nothing). Segments go oldest first, from the wal head forwards, in
// multis of a bounded number of deletes; each multi checks the caller's epoch version
// and moves the wal head (the data of the wal znode, checked by version) to the oldest
// segment left. So the head always names a segment that exists, a deposed leader deletes
// nothing, and two compactions never interleave.
//
// Finding the segments costs one read of each (the next one's name is the last index + 1),
// read ahead by a few lanes at once (zk-segment-read-ahead.ts), so the walk is not one round
// trip per segment; a call deletes at most maxSegments and says whether more are left.
// The multis go one at a time, in chain order, while the lanes read on.
import type { Clock } from '../common/clock.js';
import { CorruptZnodeError, InvalidArgumentError, UnavailableError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from './layout.js';
import { decodeTail, decodeWalHead, encodeWalHead, type WalHeadRecord } from './records.js';
import type { ZkOp, ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';
import { epochMulti, readOrNull, retryStep, settle, sameBytes, type EpochWriter } from './zk-epoch-multi.js';
import { SegmentWalk } from './zk-segment-walk.js';
import { decodeManifest, type ZkSnapshotManifest } from './zk-snapshot-records.js';

export const DEFAULT_COMPACTION_DELETES_PER_MULTI = 100;
export const DEFAULT_COMPACTION_MAX_SEGMENTS = 10_000;

export interface CompactionContext {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface CompactionOptions {
  readonly epochVersion: number;
  /** The complete snapshot that allows the compaction: segments up to its index go. */
  readonly covering: ZkSnapshotManifest;
  readonly deletesPerMulti?: number;
  /** Bound on the segments one call deletes (and reads). */
  readonly maxSegments?: number;
  /** Lanes reading the chain ahead (0: one segment at a time; default DEFAULT_READ_LANES). */
  readonly readLanes?: number;
}

export interface CompactionReport {
  readonly deletedSegments: number;
  /** The data bytes of the segments deleted. */
  readonly deletedBytes: number;
  /** The wal head afterwards. */
  readonly head: WalHeadRecord;
  /** Whether covered segments are left (maxSegments was reached): call again. */
  readonly more: boolean;
}

export async function compactWal(ctx: CompactionContext, o: CompactionOptions): Promise<CompactionReport> {
  const { zk, paths, logger } = ctx;
  const through = o.covering.point.index;
  const perMulti = Math.max(1, Math.min(1000, o.deletesPerMulti ?? DEFAULT_COMPACTION_DELETES_PER_MULTI));
  const maxSegments = Math.max(1, o.maxSegments ?? DEFAULT_COMPACTION_MAX_SEGMENTS);
  const w: EpochWriter = { zk, paths, clock: ctx.clock, epochVersion: o.epochVersion };
  const started = ctx.clock.now();
  await requireManifest(zk, paths, o.covering);

  const headRead = await readOrNull(zk, paths.wal);
  if (!headRead) throw new CorruptZnodeError(paths.wal, 'missing: the cluster tree is incomplete');
  let head = decodeWalHead(paths.wal, headRead.data);
  let headVersion = headRead.version;
  const tail = decodeTail(paths.tail, (await zk.getData(paths.tail)).data);
  const nothing = (more: boolean): CompactionReport => ({ deletedSegments: 0, deletedBytes: 0, head, more });
  if (tail.lastIndex === 0 || head.firstSegmentIndex > through) return nothing(false);

  const walk = new SegmentWalk(zk, paths, o.readLanes);
  // Names past through + 1 are never needed: the segment after the last covered one starts there at the latest.
  const readAhead = walk.readAheadFrom(head.firstSegmentIndex, through + 1);
  let deletedSegments = 0;
  let deletedBytes = 0;
  let more = false;
  let batch: Array<{ path: string; bytes: number }> = [];
  const flush = async (nextFirst: number): Promise<void> => {
    if (batch.length === 0) return;
    const newHead: WalHeadRecord = { firstSegmentIndex: nextFirst, snapshotIndex: through };
    headVersion = await moveHead(w, batch.map((b) => b.path), head, newHead, headVersion);
    head = newHead;
    deletedSegments += batch.length;
    deletedBytes += batch.reduce((n, b) => n + b.bytes, 0);
    batch = [];
  };
  try {
    let seg = await readAhead.take(head.firstSegmentIndex);
    if (!seg) throw new CorruptZnodeError(paths.segment(head.firstSegmentIndex), 'missing: the wal head names it as the oldest segment');
    while (seg.record.lastIndex <= through && seg.record.firstIndex !== tail.segmentFirstIndex) {
      if (deletedSegments + batch.length >= maxSegments) {
        more = true;
        break;
      }
      batch.push({ path: paths.segment(seg.record.firstIndex), bytes: seg.bytes });
      const nextFirst = seg.record.lastIndex + 1;
      const next = await readAhead.take(nextFirst);
      if (!next) throw new CorruptZnodeError(paths.segment(nextFirst), `missing: the segment from ${seg.record.firstIndex} ends at ${seg.record.lastIndex} and the tail is at ${tail.lastIndex}`);
      if (batch.length >= perMulti) await flush(nextFirst);
      seg = next;
    }
    await flush(seg.record.firstIndex);
  } finally {
    readAhead.close();
  }
  if (deletedSegments > 0) logger.info({ through, deletedSegments, deletedBytes, head: head.firstSegmentIndex, more, ms: Math.round(ctx.clock.now() - started) }, 'zk wal: compacted');
  return { deletedSegments, deletedBytes, head, more };
}

/** The covering snapshot must be complete in ZooKeeper, exactly as given. */
async function requireManifest(zk: ZkSession, paths: ClusterPaths, m: ZkSnapshotManifest): Promise<void> {
  const path = paths.snapshotManifest(m.point.index);
  const read = await readOrNull(zk, path);
  if (!read) throw new InvalidArgumentError(`compaction refused: no manifest at ${path}; segments go only after their snapshot is complete in ZooKeeper`);
  const there = decodeManifest(path, read.data, m.point.index);
  if (!sameBytes(there.sha256, m.sha256) || there.point.term !== m.point.term) throw new InvalidArgumentError(`compaction refused: the manifest at ${path} is not the snapshot given`);
}

/**
 * One multi: check(epoch), delete the segments, setData(wal head). Returns the head's new
 * version. The head's version check keeps two compactions from interleaving; the very first
 * compaction finds the wal znode at version 0, which a multi cannot check (the client
 * library turns 0 into "any", notes/zookeeper.md), so it relies on the epoch check alone:
 * only the current leader compacts, one compaction at a time.
 */
async function moveHead(w: EpochWriter, segments: readonly string[], from: WalHeadRecord, to: WalHeadRecord, headVersion: number): Promise<number> {
  const { paths } = w;
  const ops: ZkOp[] = [
    ...segments.map((path): ZkOp => ({ type: 'delete', path, version: -1 })),
    { type: 'setData', path: paths.wal, data: encodeWalHead(to), version: headVersion >= 1 ? headVersion : -1 },
  ];
  let version = -1;
  await retryStep(w, `compact wal/ up to segment ${to.firstSegmentIndex}`, async () => {
    try {
      const results = await epochMulti(w, ops, 'compaction');
      const last = results?.[results.length - 1];
      if (last?.type === 'setData') {
        version = last.stat.version;
        return true;
      }
    } catch (err) {
      if (!(err instanceof ZkError && (err.code === 'BAD_VERSION' || err.code === 'NO_NODE'))) throw err;
      // Someone else moved the head or deleted segments meanwhile: an earlier attempt of ours
      // that landed after all, or a concurrent compaction (a bug of the caller).
    }
    await settle(w);
    const now = await readOrNull(w.zk, paths.wal);
    if (!now) throw new CorruptZnodeError(paths.wal, 'missing: the cluster tree is incomplete');
    const head = decodeWalHead(paths.wal, now.data);
    if (head.firstSegmentIndex === to.firstSegmentIndex && head.snapshotIndex === to.snapshotIndex) {
      version = now.version;
      return true;
    }
    if (head.firstSegmentIndex === from.firstSegmentIndex && now.version === headVersion) return false;
    throw new UnavailableError(`compaction stopped: the wal head moved to ${head.firstSegmentIndex} under us (another compaction ran); start again`);
  });
  return version;
}
