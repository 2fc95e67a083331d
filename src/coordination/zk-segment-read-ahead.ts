// Reading the chain of WAL segments forwards without one round trip per segment.
//
// The segment after seg-<f> (holding f..l) is seg-<l + 1>: its name is known only once seg-<f>
// is read, so a plain walk is one getData after another (260-450 a second at full load in the
// soaks, notes/results.md). Reading every name ahead would find the same segments, but at one
// getData per *entry* (3.4 per segment at full load), which costs more than it saves when
// ZooKeeper and the node are short of CPU (measured in notes/snapshots.md).
//
// Instead the names ahead are cut into blocks, and a few blocks are walked at once, each by
// its own sequential walker (a lane): a lane finds its first segment by probing the first
// few names of its block (the lowest name that exists starts a segment, in a sound tree one
// of the chain's), then follows the chain, one getData per segment, until the segment it
// reads ends at or past its block's end. So the reads are about one per segment plus a few
// probes per block, with up to `lanes` of them in flight.
//
// The caller still takes segments strictly along the chain (take(l + 1) after a segment
// ending at l) and checks each one as before (its first index, its back-link): a lane's read
// is used only if the caller asks for that very name, else it was wasted, never wrong. A
// name no lane read is read on the spot. So a lane that started on a name off the chain (a
// broken tree) costs reads, never correctness.
//
// Bounds and adaptation:
//   - the first WARMUP segments are taken one at a time (a catch-up round or a short walk
//     reads exactly what it did before); then one more lane is allowed per LANE_EVERY
//     segments taken, up to `lanes`, so a walk that stops early wasted at most about what it
//     read;
//   - blocks are BLOCK_SEGMENTS segments long at the recent mean length; only
//     blocks within `lanes` blocks of the caller are walked, and while the segments read
//     and not yet taken hold maxBufferedBytes (counted as they arrive: the segments ahead
//     may be far larger than the recent ones) no block starts and every lane pauses before
//     its next read or probe round: past the bound by at most what each lane had in flight
//     (one segment, or one probe round of PROBE_WIDTH names);
//   - with `maxSegments` (a catch-up round), no block starts past the names the rest of the
//     round can use at the recent mean length (the next round would read them again);
//   - segments longer than LONG_SEGMENT entries on average: no lanes (probing for a block's
//     first segment would mostly miss, and such segments are few for the same log);
//   - no name past `lastName` is read; reads in flight are at most lanes * PROBE_WIDTH + 1.
import type { SegmentRecord } from './records.js';

export interface SizedSegment {
  readonly record: SegmentRecord;
  /** The znode's data bytes. */
  readonly bytes: number;
}

/** Reads the segment starting at `first` (decoded and checked to start there), or null if there is none. */
export type SegmentReader = (first: number) => Promise<SizedSegment | null>;

/** Lanes by default: 16 getData in flight on one session. */
export const DEFAULT_READ_LANES = 16;
/** Bytes of segments read ahead the lanes aim to stay under (at the recent mean size). */
export const DEFAULT_READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Segments taken one name at a time before any lane starts. */
const WARMUP = 4;
/** One more lane per this many segments taken. */
const LANE_EVERY = 8;
/** A block holds about this many segments. */
const BLOCK_SEGMENTS = 32;
/** Names probed at once to find a block's first segment. */
const PROBE_WIDTH = 4;
/** Above this mean segment length (entries), no lanes. */
const LONG_SEGMENT = 8;
/** Segments whose lengths and sizes steer the lanes. */
const RECENT = 32;

export interface SegmentReadAheadOptions {
  /** Walkers at most at once, besides the caller's own reads (0: a plain walk). */
  readonly lanes?: number;
  /** No name past this is read (the walk never needs a segment starting after it). */
  readonly lastName: number;
  readonly maxBufferedBytes?: number;
  /** The walk takes at most this many segments. */
  readonly maxSegments?: number;
}

type Outcome = { readonly ok: true; readonly seg: SizedSegment | null } | { readonly ok: false; readonly err: unknown };

interface Block {
  /** Names start..end - 1; the lane stops once the chain leaves them. */
  readonly start: number;
  readonly end: number;
  done: boolean;
}

export class SegmentReadAhead {
  /** getData calls made (the caller's, the lanes' and the probes'), for tests and benchmarks. */
  requests = 0;
  private readonly lanes: number;
  private readonly lastName: number;
  private readonly maxBufferedBytes: number;
  /** Reads made or under way, by name, until the caller passes them. */
  private readonly reads = new Map<number, Promise<Outcome>>();
  private readonly blocks: Block[] = [];
  /** The lowest name the caller may still ask for. */
  private position: number;
  private readonly recent: SizedSegment[] = [];
  private taken = 0;
  private closed = false;
  private readonly maxSegments: number;
  /** Bytes of segments read and not yet passed by the caller, by name. */
  private readonly bufferedBy = new Map<number, number>();
  private buffered = 0;
  /** Lanes paused until the caller takes enough to bring `buffered` under the bound. */
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly read: SegmentReader,
    /** The first name the caller will ask for. */
    from: number,
    o: SegmentReadAheadOptions,
  ) {
    this.lanes = Math.max(0, Math.floor(o.lanes ?? DEFAULT_READ_LANES));
    this.lastName = o.lastName;
    this.maxBufferedBytes = Math.max(1, o.maxBufferedBytes ?? DEFAULT_READ_AHEAD_BYTES);
    this.maxSegments = o.maxSegments ?? Number.POSITIVE_INFINITY;
    this.position = from;
  }

  /**
   * The segment starting at `first`, or null if there is none. Names are asked for in
   * ascending order (reads of names below `first` are forgotten).
   */
  async take(first: number): Promise<SizedSegment | null> {
    if (this.closed) throw new Error('SegmentReadAhead: take after close');
    this.passTo(first);
    const ahead = this.reads.get(first);
    const outcome = ahead ?? this.issue(first);
    // Lanes start when the next segment is asked for, never after the last one a walk takes.
    this.schedule();
    let o = await outcome;
    // A lane's failed read (a lost connection, say) is not the caller's: read it once more.
    if (!o.ok && ahead !== undefined && !this.closed) {
      this.forget(first);
      o = await this.issue(first);
    }
    if (!o.ok) throw o.err;
    if (o.seg) {
      this.learn(o.seg);
      this.passTo(o.seg.record.lastIndex + 1);
    }
    return o.seg;
  }

  /** Stops the lanes; reads in flight settle unobserved. */
  close(): void {
    this.closed = true;
    this.reads.clear();
    this.bufferedBy.clear();
    this.buffered = 0;
    this.blocks.length = 0;
    this.wakeLanes();
  }

  /** Bytes of segments read ahead and not yet taken (tests). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Lanes walking now (tests). */
  get activeLanes(): number {
    return this.blocks.filter((b) => !b.done).length;
  }

  private passTo(name: number): void {
    if (name < this.position) return;
    this.position = name;
    for (const n of this.reads.keys()) if (n < name) this.forget(n);
    while (this.blocks.length > 0 && this.blocks[0]!.end <= name) this.blocks.shift();
    if (this.buffered < this.maxBufferedBytes) this.wakeLanes();
  }

  private forget(name: number): void {
    this.reads.delete(name);
    const bytes = this.bufferedBy.get(name);
    if (bytes !== undefined) {
      this.bufferedBy.delete(name);
      this.buffered -= bytes;
    }
  }

  private wakeLanes(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private issue(name: number): Promise<Outcome> {
    this.requests++;
    // Every outcome becomes a value: a read nobody asks for never rejects unobserved.
    const p = this.read(name).then(
      (seg): Outcome => {
        // Counted while the caller has not passed it (a read it passed already is dropped).
        if (seg && !this.closed && this.reads.get(name) === p && name >= this.position) {
          this.bufferedBy.set(name, seg.bytes);
          this.buffered += seg.bytes;
        }
        return { ok: true, seg };
      },
      (err: unknown): Outcome => ({ ok: false, err }),
    );
    this.reads.set(name, p);
    return p;
  }

  /** A read of `name`, reusing one made or under way. */
  private readOnce(name: number): Promise<Outcome> {
    return this.reads.get(name) ?? this.issue(name);
  }

  private learn(seg: SizedSegment): void {
    this.taken++;
    this.recent.push(seg);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  private mean(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const s of this.recent) {
      entries += s.record.lastIndex - s.record.firstIndex + 1;
      bytes += s.bytes;
    }
    const n = Math.max(1, this.recent.length);
    return { entries: entries / n, bytes: Math.max(1, bytes / n) };
  }

  /** Starts lanes on the next blocks ahead, as far as the bounds allow. */
  private schedule(): void {
    if (this.closed || this.lanes === 0 || this.taken < WARMUP || this.buffered >= this.maxBufferedBytes) return;
    const m = this.mean();
    if (m.entries > LONG_SEGMENT) return;
    const byBytes = Math.floor(this.maxBufferedBytes / (m.bytes * BLOCK_SEGMENTS));
    const allowed = Math.min(this.lanes, 1 + Math.floor((this.taken - WARMUP) / LANE_EVERY), Math.max(1, byBytes));
    const size = Math.max(PROBE_WIDTH, Math.round(m.entries * BLOCK_SEGMENTS));
    while (this.blocks.length < allowed) {
      const last = this.blocks[this.blocks.length - 1];
      // The caller reads the first couple of segments itself; the lanes start beyond them.
      const start = last ? last.end : this.position + Math.max(PROBE_WIDTH, Math.round(2 * m.entries));
      if (start > this.lastUsefulName(m.entries)) return;
      const block: Block = { start, end: start + size, done: false };
      this.blocks.push(block);
      void this.walk(block);
    }
  }

  /** A lane: the block's first segment, then along the chain until it leaves the block. */
  private async walk(block: Block): Promise<void> {
    try {
      let seg = await this.firstIn(block);
      while (seg && !this.closed && this.blocks.includes(block)) {
        const next = seg.record.lastIndex + 1;
        if (next >= block.end || next > this.lastUsefulName(this.mean().entries)) return;
        if (!(await this.roomFor(block))) return;
        const o = await this.readOnce(next);
        seg = o.ok ? o.seg : null;
      }
    } finally {
      block.done = true;
      if (!this.closed) this.schedule();
    }
  }

  /**
   * Waits while the segments read ahead hold the byte bound (the caller's takes resume it).
   * False when the lane should stop (closed, or its block passed).
   */
  private async roomFor(block: Block): Promise<boolean> {
    while (this.buffered >= this.maxBufferedBytes && !this.closed && this.blocks.includes(block)) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    return !this.closed && this.blocks.includes(block);
  }

  /** The last name a lane may read: lastName, and with maxSegments what the rest of the walk can use at `meanEntries` per segment. */
  private lastUsefulName(meanEntries: number): number {
    if (!Number.isFinite(this.maxSegments)) return this.lastName;
    const left = Math.max(0, this.maxSegments - this.taken);
    return Math.min(this.lastName, this.position + Math.ceil(left * Math.max(1, meanEntries)));
  }

  /** The segment at the lowest name of the block that exists, probing PROBE_WIDTH names at a time. */
  private async firstIn(block: Block): Promise<SizedSegment | null> {
    const end = Math.min(block.end, this.lastName + 1);
    for (let at = block.start; at < end; at += PROBE_WIDTH) {
      if (!(await this.roomFor(block))) return null;
      const probes: Array<Promise<Outcome>> = [];
      for (let n = at; n < Math.min(end, at + PROBE_WIDTH); n++) probes.push(this.readOnce(n));
      for (const o of await Promise.all(probes)) {
        if (!o.ok) return null;
        if (o.seg) return o.seg;
      }
      if (this.closed || !this.blocks.includes(block)) return null;
    }
    return null;
  }
}
