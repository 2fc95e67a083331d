// Verifying, when a node starts, the segment znodes of wal/ it will depend on: those
// holding its commit index (a take-over's replay reads that entry) up to the tail. Each is
// decoded (format, CRC32C of the body, index range, entry terms, chain values present),
// checked to follow the one before (its first index, its back-link) and, where the node can,
// its entries' hash chain is checked: through every entry read, and from the cluster's
// genesis when the log read starts at index 1. A corrupt segment is then found at start,
// naming its path, rather than when a take-over or a catch-up first reads it.
//
// Cost is bounded by what compaction leaves in wal/. Up to LISTING_LIMIT segments the names
// come from one getChildren and the reads run READ_WINDOW at a time; beyond, the listing
// itself could pass ZooKeeper's 1 MiB reply limit, so the chain is walked forwards (each
// segment's name follows from the one before; the walk reads ahead with a few lanes at once,
// zk-segment-read-ahead.ts). Measured in notes/zookeeper.md and notes/snapshots.md.
import { CorruptZnodeError } from '../common/errors.js';
import { chainHex, chainNext, sameChain } from '../core/chain.js';
import type { ClusterPaths } from './layout.js';
import { parseSegmentName } from './layout.js';
import type { SegmentRecord } from './records.js';
import type { ZkSession } from './zk-api.js';
import { SegmentWalk } from './zk-segment-walk.js';

/** Names listed with one getChildren at most (a reply of about 28 bytes per name stays far below 1 MiB). */
export const LISTING_LIMIT = 20_000;
/** Segment reads in flight at once when the names are known. */
export const READ_WINDOW = 32;

export interface WalVerifyReport {
  readonly segments: number;
  /** Bytes of the segments read (-1: not counted, when walked). */
  readonly bytes: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** 'listed' (names from getChildren, parallel reads) or 'walked' (along the chain). */
  readonly how: 'listed' | 'walked' | 'none';
}

export interface WalVerifyOptions {
  /** The first index the node needs from ZooKeeper (its commit index, or 1 for a node with nothing). */
  readonly fromIndex: number;
  /** The tail as read at start. */
  readonly tailLastIndex: number;
  readonly tailSegmentFirstIndex: number;
  /** The cluster's genesis chain value: checks the first entry when the log read starts at 1. */
  readonly genesis: Uint8Array;
  /** Up to how many segments the names are listed (default LISTING_LIMIT; a benchmark sets 0 to measure the walk). */
  readonly listingLimit?: number;
  /** Lanes the walk reads ahead with (default DEFAULT_READ_LANES; 0: one segment at a time, for benchmarks). */
  readonly readLanes?: number;
}

/**
 * Verifies the segments holding fromIndex..tailLastIndex. Throws CorruptZnodeError naming
 * the first segment that does not verify (or is missing where the chain needs it);
 * CompactedError when fromIndex was compacted away (the node loads a snapshot first, as it
 * would anyway).
 */
export async function verifyWalFrom(zk: ZkSession, paths: ClusterPaths, o: WalVerifyOptions): Promise<WalVerifyReport> {
  const from = Math.max(1, o.fromIndex);
  if (o.tailLastIndex < from) return { segments: 0, bytes: 0, firstIndex: 0, lastIndex: 0, how: 'none' };
  const walStat = await zk.exists(paths.wal);
  const limit = o.listingLimit ?? LISTING_LIMIT;
  const listed = walStat !== null && limit > 0 && walStat.numChildren <= limit ? await listedFrom(zk, paths, from, o.tailLastIndex) : null;
  const checker = new ChainChecker(paths, o.genesis);
  if (listed) {
    let bytes = 0;
    for (let i = 0; i < listed.length; i += READ_WINDOW) {
      const walk = new SegmentWalk(zk, paths);
      const batch = await Promise.all(listed.slice(i, i + READ_WINDOW).map((first) => walk.readSized(first).then((r) => ({ first, r }))));
      for (const { first, r } of batch) {
        // Gone since the listing: compacted meanwhile (CompactedError, the caller goes on
        // from the head), else a hole in the log.
        if (!r) return walk.missing(first, Math.max(from, first), 'listed in wal/ but gone when read');
        checker.next(r.record, from);
        bytes += r.bytes;
      }
    }
    checker.reachedTail(o.tailLastIndex);
    return { segments: listed.length, bytes, firstIndex: checker.firstIndex, lastIndex: checker.lastIndex, how: 'listed' };
  }
  // Too many names to list: find the segment holding `from`, then walk the chain to the tail,
  // one segment in hand at a time, the lanes reading ahead.
  const walk = new SegmentWalk(zk, paths, o.readLanes);
  const [first] = await walk.segmentsFrom(from, { upTo: o.tailLastIndex, tailSegmentFirstIndex: o.tailSegmentFirstIndex, maxSegments: 1 });
  let seg = first!;
  checker.next(seg, from);
  let segments = 1;
  const readAhead = walk.readAheadFrom(seg.lastIndex + 1, o.tailLastIndex);
  try {
    while (seg.lastIndex < o.tailLastIndex) {
      // A missing segment is compacted only if it lies before the head: judged by its own
      // position, not by `from` (a hole past the head read as compacted whenever compaction
      // had passed `from` meanwhile; review 20).
      seg = await walk.next(seg, seg.lastIndex + 1, readAhead);
      checker.next(seg, from);
      segments++;
    }
  } finally {
    readAhead.close();
  }
  checker.reachedTail(o.tailLastIndex);
  return { segments, bytes: -1, firstIndex: checker.firstIndex, lastIndex: checker.lastIndex, how: 'walked' };
}

/**
 * The first indexes of the segments from the one holding `from` to the one holding
 * `upTo`, from one listing: every name starting at or before upTo, from the last one
 * starting at or before from. Null when no name starts at or before from (compacted, or a
 * hole: the walk then says which).
 */
async function listedFrom(zk: ZkSession, paths: ClusterPaths, from: number, upTo: number): Promise<number[] | null> {
  const firsts = (await zk.getChildren(paths.wal))
    .map(parseSegmentName)
    .filter((f): f is number => f !== null && f <= upTo)
    .sort((a, b) => a - b);
  let start = -1;
  for (let k = 0; k < firsts.length && firsts[k]! <= from; k++) start = k;
  return start < 0 ? null : firsts.slice(start);
}

/** Checks that segments follow each other and that their entries' chain values link up. */
class ChainChecker {
  firstIndex = 0;
  lastIndex = 0;
  private prev: SegmentRecord | null = null;
  private prevChain: Uint8Array | null = null;

  constructor(
    private readonly paths: ClusterPaths,
    private readonly genesis: Uint8Array,
  ) {}

  next(seg: SegmentRecord, from: number): void {
    const path = this.paths.segment(seg.firstIndex);
    if (this.prev === null) {
      if (seg.firstIndex > from || seg.lastIndex < from) throw new CorruptZnodeError(path, `holds ${seg.firstIndex}..${seg.lastIndex}, expected the segment holding index ${from}`);
      this.firstIndex = seg.firstIndex;
      if (seg.firstIndex === 1) this.prevChain = this.genesis;
    } else {
      if (seg.firstIndex !== this.prev.lastIndex + 1) throw new CorruptZnodeError(path, `starts at ${seg.firstIndex}, but the segment before ends at ${this.prev.lastIndex}: a hole or an overlap in the log`);
      if (seg.prevFirstIndex !== 0 && seg.prevFirstIndex !== this.prev.firstIndex) {
        throw new CorruptZnodeError(path, `links back to ${seg.prevFirstIndex}, but follows the segment from ${this.prev.firstIndex}`);
      }
    }
    for (const e of seg.entries) {
      if (this.prevChain !== null) {
        const expected = chainNext(this.prevChain, e);
        if (!sameChain(expected, e.chain)) throw new CorruptZnodeError(path, `hash chain broken at index ${e.index}: the entry carries ${chainHex(e.chain)}, its content gives ${chainHex(expected)}`);
      }
      this.prevChain = e.chain;
    }
    this.prev = seg;
    this.lastIndex = seg.lastIndex;
  }

  reachedTail(tail: number): void {
    if (this.lastIndex < tail) {
      const where = this.prev ? this.paths.segment(this.prev.firstIndex) : this.paths.wal;
      throw new CorruptZnodeError(where, `the log in wal/ ends at ${this.lastIndex}, the tail says ${tail}: a segment is missing`);
    }
  }
}
