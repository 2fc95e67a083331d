// Reads committed entries back from the segment znodes under wal/.
//
// Segment names carry their first index, so the segments covering (afterIndex, upTo]
// are found from one getChildren and read in parallel (bounded). The result is checked
// to be contiguous and to start right after afterIndex; a hole means a corrupt tree.
import { CorruptZnodeError } from '../common/errors.js';
import type { Entry } from '../core/types.js';
import type { ClusterPaths } from './layout.js';
import { parseSegmentName } from './layout.js';
import { decodeSegment } from './records.js';
import type { ZkSession } from './zk-api.js';

/** Bound on segment reads in flight at once. */
const READ_CONCURRENCY = 16;

export interface ReadOptions {
  /** Bound on the number of segments one call reads (the caller asks again for the rest). */
  readonly maxSegments?: number;
  /**
   * The first index of the segment holding `upTo` (the tail record names it). When the
   * entries wanted all lie in it, only that znode is read: no getChildren over wal/.
   */
  readonly tailSegmentFirstIndex?: number;
}

/** Committed entries in (afterIndex, upTo], ascending and contiguous (possibly fewer with maxSegments). */
export async function readCommittedEntries(
  zk: ZkSession,
  paths: ClusterPaths,
  afterIndex: number,
  upTo: number,
  options: ReadOptions = {},
): Promise<Entry[]> {
  if (upTo <= afterIndex) return [];
  const tailFirst = options.tailSegmentFirstIndex ?? 0;
  if (tailFirst > 0 && tailFirst <= afterIndex + 1) {
    const path = paths.segment(tailFirst);
    const seg = decodeSegment(path, (await zk.getData(path)).data);
    if (seg.firstIndex !== tailFirst || seg.lastIndex < upTo) throw new CorruptZnodeError(path, `does not end at the tail's index ${upTo}`);
    return seg.entries.filter((e) => e.index > afterIndex && e.index <= upTo);
  }
  const names = await zk.getChildren(paths.wal);
  const firsts = names
    .map((n) => parseSegmentName(n))
    .filter((f): f is number => f !== null)
    .sort((a, b) => a - b);
  // Segment k covers [firsts[k], firsts[k+1] - 1]; the last one ends at its header's lastIndex.
  const wanted: number[] = [];
  for (let k = 0; k < firsts.length; k++) {
    const first = firsts[k]!;
    const nextFirst = firsts[k + 1];
    if (first > upTo) break;
    if (nextFirst !== undefined && nextFirst - 1 <= afterIndex) continue;
    wanted.push(first);
  }
  if (wanted.length === 0 || wanted[0]! > afterIndex + 1) {
    throw new CorruptZnodeError(paths.wal, `no segment holds index ${afterIndex + 1} (tail says ${upTo})`);
  }
  const limited = options.maxSegments ? wanted.slice(0, options.maxSegments) : wanted;
  const segments = await mapBounded(limited, READ_CONCURRENCY, async (first) => {
    const path = paths.segment(first);
    const { data } = await zk.getData(path);
    const seg = decodeSegment(path, data);
    if (seg.firstIndex !== first) throw new CorruptZnodeError(path, `holds first index ${seg.firstIndex}`);
    return seg;
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
  if (!options.maxSegments && expect !== upTo + 1) {
    throw new CorruptZnodeError(paths.wal, `segments end at ${expect - 1}, tail says ${upTo}`);
  }
  return out;
}

async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
