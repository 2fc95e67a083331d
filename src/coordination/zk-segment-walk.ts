// Finding WAL segments in ZooKeeper without listing wal/.
//
// Segments form a chain: the one after seg-<f> (holding f..l) is seg-<l + 1>, and each
// segment's header names the first index of the one before it (a back-link). The tail
// record names the newest segment, the wal znode's data (the wal head) the oldest. So the
// segment holding index i is found, cheapest first, from:
//   - a hint: a segment known to start at or before i (a snapshot manifest's
//     nextSegmentFirstIndex, or where the last read stopped), walking forwards;
//   - the tail's segment, if it starts at or before i;
//   - seg-<i> itself: i starts a segment whenever i - 1 was a commit point of the leader
//     (every commit index a leader publishes ends a segment), the usual case;
//   - the 8 names just below i, read at once: the highest that exists starts the segment
//     holding i when segments are short (at full load: 3.4 entries on average);
//   - otherwise the shorter of two walks (by index distance): backwards from the tail's
//     segment along the back-links, or forwards from the wal head.
// A walk reads each segment it passes (ZooKeeper has no partial reads), so its cost is the
// log between the start and i, bounded by what compaction leaves, never by history.
// Forwards it reads ahead (zk-segment-read-ahead.ts: a few lanes walk the blocks ahead of
// it at once), so a long walk is not one round trip per segment;
// backwards it reads one segment at a time (each back-link names exactly one).
// Nothing here calls getChildren.
import { CorruptZnodeError, CompactedError } from '../common/errors.js';
import type { ClusterPaths } from './layout.js';
import { decodeSegment, decodeTail, decodeWalHead, type SegmentRecord, type WalHeadRecord } from './records.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';
import { DEFAULT_READ_LANES, SegmentReadAhead } from './zk-segment-read-ahead.js';

/** Names read at once below an index that starts no segment, for the segment holding it. */
const BACK_PROBE = 8;

export interface SegmentWalkOptions {
  /** A segment known to start at or before the index wanted (0: none). */
  readonly startHint?: number;
  /** The first index of the tail's segment (0 or absent: read the tail record). */
  readonly tailSegmentFirstIndex?: number;
  /** Bound on the segments returned (the oldest ones are kept). */
  readonly maxSegments?: number;
  /** Never return segments starting after this index. */
  readonly upTo: number;
}

export class SegmentWalk {
  /** Segments read, for tests and logs. */
  reads = 0;

  constructor(
    private readonly zk: ZkSession,
    private readonly paths: ClusterPaths,
    /** Lanes a forward walk reads ahead with (0: one segment at a time). */
    private readonly lanes: number = DEFAULT_READ_LANES,
  ) {}

  /** Read-ahead over the names from `from` to `lastName`, reading through this walk. */
  readAheadFrom(from: number, lastName: number, maxSegments?: number): SegmentReadAhead {
    return new SegmentReadAhead((first) => this.readSized(first), from, { lanes: this.lanes, lastName, ...(maxSegments !== undefined ? { maxSegments } : {}) });
  }

  /** The segment starting at first, or null if there is none. */
  async read(first: number): Promise<SegmentRecord | null> {
    return (await this.readSized(first))?.record ?? null;
  }

  /** The segment starting at first and its size in bytes, or null if there is none. */
  async readSized(first: number): Promise<{ record: SegmentRecord; bytes: number } | null> {
    const path = this.paths.segment(first);
    let data: Uint8Array;
    try {
      data = (await this.zk.getData(path)).data;
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return null;
      throw err;
    }
    this.reads++;
    const record = decodeSegment(path, data);
    if (record.firstIndex !== first) throw new CorruptZnodeError(path, `holds first index ${record.firstIndex}`);
    return { record, bytes: data.length };
  }

  async head(): Promise<WalHeadRecord> {
    try {
      return decodeWalHead(this.paths.wal, (await this.zk.getData(this.paths.wal)).data);
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') throw new CorruptZnodeError(this.paths.wal, 'missing: the cluster tree is incomplete');
      throw err;
    }
  }

  /**
   * The segment starting at `first`, which the chain needs to reach `wanted`, is not there:
   * compacted (CompactedError for `wanted`) if it lies before the head, else a hole in the
   * log (CorruptZnodeError).
   */
  async missing(first: number, wanted: number, why: string): Promise<never> {
    const head = await this.head();
    if (first < head.firstSegmentIndex || wanted < head.firstSegmentIndex) throw new CompactedError(wanted, head.firstSegmentIndex, head.snapshotIndex);
    throw new CorruptZnodeError(this.paths.segment(first), `missing (${why}); the log in ZooKeeper starts at ${head.firstSegmentIndex}`);
  }

  /** The segment after seg (which ends before `wanted`), for reaching `wanted`; through `w` if given. */
  async next(seg: SegmentRecord, wanted: number, w?: SegmentReadAhead): Promise<SegmentRecord> {
    const first = seg.lastIndex + 1;
    const next = w ? ((await w.take(first))?.record ?? null) : await this.read(first);
    if (!next) return this.missing(first, wanted, `the segment after ${seg.firstIndex}`);
    if (next.prevFirstIndex !== 0 && next.prevFirstIndex !== seg.firstIndex) {
      throw new CorruptZnodeError(this.paths.segment(first), `links back to ${next.prevFirstIndex}, but follows the segment from ${seg.firstIndex}`);
    }
    return next;
  }

  /** Walks forwards from seg (starting at or before `wanted`) to the segment holding `wanted`. */
  async forwardTo(seg: SegmentRecord, wanted: number): Promise<SegmentRecord> {
    const w = this.readAheadFrom(seg.lastIndex + 1, wanted);
    try {
      return await this.forwardIn(w, seg, wanted);
    } finally {
      w.close();
    }
  }

  private async forwardIn(w: SegmentReadAhead, seg: SegmentRecord, wanted: number): Promise<SegmentRecord> {
    let at = seg;
    while (at.lastIndex < wanted) at = await this.next(at, wanted, w);
    return at;
  }

  /** Walks forwards from the oldest segment to the one holding `wanted`. */
  private async forwardFromHead(head: WalHeadRecord, wanted: number, w: SegmentReadAhead): Promise<SegmentRecord> {
    const oldest = await w.take(head.firstSegmentIndex);
    if (!oldest) return this.missing(head.firstSegmentIndex, wanted, 'the oldest segment the wal head names');
    return this.forwardIn(w, oldest.record, wanted);
  }

  /**
   * Segments from the one holding `wanted` onwards, ascending, at most maxSegments of them,
   * none starting after upTo. The first one holds `wanted`.
   */
  async segmentsFrom(wanted: number, o: SegmentWalkOptions): Promise<SegmentRecord[]> {
    // One read-ahead for the whole forward part, whichever way the walk starts; nothing past upTo.
    let w: SegmentReadAhead | null = null;
    const readAhead = (from: number): SegmentReadAhead => (w ??= this.readAheadFrom(from, o.upTo, o.maxSegments));
    try {
      return await this.segmentsFromIn(wanted, o, readAhead);
    } finally {
      (w as SegmentReadAhead | null)?.close();
    }
  }

  private async segmentsFromIn(wanted: number, o: SegmentWalkOptions, readAhead: (from: number) => SegmentReadAhead): Promise<SegmentRecord[]> {
    const max = o.maxSegments ?? Number.POSITIVE_INFINITY;
    const hint = o.startHint ?? 0;
    let tailFirst = o.tailSegmentFirstIndex ?? 0;
    let first: SegmentRecord | null = null;
    // A hint may name a segment compacted since (an older snapshot's): then it is no help.
    const hinted = hint > 0 && hint <= wanted ? await this.read(hint) : null;
    if (hinted) {
      first = await this.forwardIn(readAhead(hinted.lastIndex + 1), hinted, wanted);
    } else if (tailFirst > 0 && tailFirst <= wanted) {
      first = await this.read(tailFirst);
      if (!first) return this.missing(tailFirst, wanted, "the tail's segment");
    } else {
      first = (await this.read(wanted)) ?? (await this.probeBefore(wanted));
    }
    if (!first) {
      const head = await this.head();
      if (wanted < head.firstSegmentIndex) throw new CompactedError(wanted, head.firstSegmentIndex, head.snapshotIndex);
      if (tailFirst === 0) tailFirst = await this.tailSegmentFirstIndex();
      if (tailFirst === 0) throw new CorruptZnodeError(this.paths.tail, `names no segment, but index ${wanted} is wanted`);
      if (wanted - head.firstSegmentIndex <= tailFirst - wanted) {
        first = await this.forwardFromHead(head, wanted, readAhead(head.firstSegmentIndex));
      } else {
        const back = await this.backwardTo(tailFirst, wanted, max);
        if (back) return back.filter((seg) => seg.firstIndex <= o.upTo);
        // A back-link was unknown (a segment from before back-links): walk forwards instead.
        first = await this.forwardFromHead(head, wanted, readAhead(head.firstSegmentIndex));
      }
    }
    if (first.firstIndex > wanted || first.lastIndex < wanted) {
      throw new CorruptZnodeError(this.paths.segment(first.firstIndex), `holds ${first.firstIndex}..${first.lastIndex}, expected index ${wanted}`);
    }
    const out = [first];
    let last = first;
    if (out.length < max && last.lastIndex < o.upTo) {
      const w = readAhead(last.lastIndex + 1);
      while (out.length < max && last.lastIndex < o.upTo) {
        last = await this.next(last, wanted, w);
        out.push(last);
      }
    }
    return out;
  }

  /**
   * The segment holding `wanted` found by name: the highest of the names just below it that
   * exists, if it reaches `wanted` (in a sound tree every name that exists starts a segment
   * of the chain). BACK_PROBE names at once: one round trip instead
   * of a walk along the chain from an end (a wiped node's replay from its snapshot point,
   * which ends a segment but rarely starts one, walked back from the tail one segment at a
   * time). Null when none of them holds it: the walk from an end decides.
   */
  private async probeBefore(wanted: number): Promise<SegmentRecord | null> {
    const names: number[] = [];
    for (let n = wanted - 1; n >= 1 && n >= wanted - BACK_PROBE; n--) names.push(n);
    // Settled one by one, highest name first: a name that failed to read (a corrupt znode,
    // a lost connection) matters only if no higher name exists, since the highest one that
    // exists is the candidate. A corrupt segment below it holds nothing this read needs, and
    // failing on it failed take-overs after their fence (review 17).
    const settled = await Promise.allSettled(names.map((n) => this.read(n)));
    for (const r of settled) {
      if (r.status === 'rejected') throw r.reason;
      if (r.value !== null) return r.value.lastIndex >= wanted ? r.value : null;
    }
    return null;
  }

  /**
   * Walks back from the segment starting at `from` to the one holding `wanted`, keeping the
   * oldest `max` segments. Null if a back-link on the way is unknown.
   */
  private async backwardTo(from: number, wanted: number, max: number): Promise<SegmentRecord[] | null> {
    const newestFirst: SegmentRecord[] = [];
    let seg = await this.read(from);
    if (!seg) return this.missing(from, wanted, "the tail's segment");
    for (;;) {
      newestFirst.push(seg);
      if (newestFirst.length > max) newestFirst.shift();
      if (seg.firstIndex <= wanted) break;
      if (seg.prevFirstIndex === 0) return null;
      const prev: SegmentRecord | null = await this.read(seg.prevFirstIndex);
      if (!prev) return this.missing(seg.prevFirstIndex, wanted, `linked from the segment at ${seg.firstIndex}`);
      if (prev.lastIndex !== seg.firstIndex - 1) {
        throw new CorruptZnodeError(this.paths.segment(prev.firstIndex), `ends at ${prev.lastIndex}, but the segment from ${seg.firstIndex} links back to it`);
      }
      seg = prev;
    }
    return newestFirst.reverse();
  }

  private async tailSegmentFirstIndex(): Promise<number> {
    const { data } = await this.zk.getData(this.paths.tail);
    return decodeTail(this.paths.tail, data).segmentFirstIndex;
  }
}
