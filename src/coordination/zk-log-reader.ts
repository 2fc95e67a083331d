// Reads committed entries back from the segment znodes under wal/.
//
// The segments are found along their chain (zk-segment-walk.ts), never by listing wal/:
// the cost of a read is the segments between where it starts and what it returns, not the
// length of the history. The result is checked to be contiguous and to start right after
// afterIndex; a hole means a corrupt tree (CorruptZnodeError), entries that compaction
// already removed mean "load a snapshot first" (CompactedError).
import { CorruptZnodeError } from '../common/errors.js';
import type { Entry } from '../core/types.js';
import type { ClusterPaths } from './layout.js';
import type { ZkSession } from './zk-api.js';
import { SegmentWalk } from './zk-segment-walk.js';

export interface ReadOptions {
  /** Bound on the number of segments one call reads (the caller asks again for the rest). */
  readonly maxSegments?: number;
  /**
   * The first index of the segment holding `upTo` (the tail record names it). When the
   * entries wanted all lie in it, only that znode is read; otherwise a walk backwards may
   * start there. Absent: the tail record is read when a walk needs it.
   */
  readonly tailSegmentFirstIndex?: number;
  /**
   * The first index of a segment known to start at or before afterIndex + 1: a snapshot
   * manifest's nextSegmentFirstIndex after loading that snapshot. The read walks forwards
   * from it. A hint that names a segment compacted since is ignored.
   */
  readonly startSegmentFirstIndex?: number;
  /** Lanes a forward walk reads ahead with (default DEFAULT_READ_LANES; 0: one segment at a time, for benchmarks). */
  readonly readLanes?: number;
}

/**
 * Committed entries in (afterIndex, upTo], ascending and contiguous (possibly fewer with
 * maxSegments; a read that stops early ends at a segment's end, so the next one starts
 * exactly at a segment: one getData finds it). Throws CompactedError when afterIndex + 1
 * was compacted away, CorruptZnodeError for a broken log.
 */
export async function readCommittedEntries(
  zk: ZkSession,
  paths: ClusterPaths,
  afterIndex: number,
  upTo: number,
  options: ReadOptions = {},
): Promise<Entry[]> {
  if (upTo <= afterIndex) return [];
  const walk = new SegmentWalk(zk, paths, options.readLanes);
  const segments = await walk.segmentsFrom(afterIndex + 1, {
    upTo,
    ...(options.maxSegments !== undefined ? { maxSegments: Math.max(1, options.maxSegments) } : {}),
    ...(options.tailSegmentFirstIndex !== undefined ? { tailSegmentFirstIndex: options.tailSegmentFirstIndex } : {}),
    ...(options.startSegmentFirstIndex !== undefined ? { startHint: options.startSegmentFirstIndex } : {}),
  });
  const out: Entry[] = [];
  let expect = afterIndex + 1;
  for (const seg of segments) {
    for (const e of seg.entries) {
      if (e.index < expect) continue;
      if (e.index > upTo) break;
      if (e.index !== expect) throw new CorruptZnodeError(paths.segment(seg.firstIndex), `gap: expected index ${expect}, found ${e.index}`);
      out.push(e);
      expect++;
    }
  }
  const complete = expect === upTo + 1;
  const stoppedEarly = options.maxSegments !== undefined && segments.length >= options.maxSegments;
  if (!complete && !stoppedEarly) {
    const last = segments[segments.length - 1];
    throw new CorruptZnodeError(last ? paths.segment(last.firstIndex) : paths.wal, `segments end at ${expect - 1}, the tail says ${upTo}`);
  }
  return out;
}
