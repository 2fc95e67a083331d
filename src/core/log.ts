// The in-memory Raft log: the entries after the last snapshot point, each with its chain
// value (chain.ts).
//
// Invariants (asserted where they can break):
//   snapshot.index + 1 === firstIndex()          entries[0].index when not empty
//   entries[k].index === firstIndex() + k          contiguous, no gaps
//   entries[k].term <= entries[k + 1].term         terms never decrease along the log
//   entries[k].chain === chainNext(chain of k-1, entries[k])   (checked when appended)
import { chainHex, chainNext, sameChain } from './chain.js';
import type { ChainedEntry, Entry, SnapshotMeta } from './types.js';

/**
 * An entry carried a chain value that does not follow from its predecessor's and its own
 * content: it was forged, corrupted, or belongs to another history. Nothing was changed.
 */
export class ChainMismatchError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(`hash chain broken at index ${index}: ${message}`);
    this.name = 'ChainMismatchError';
  }
}

export class CoreInvariantError extends Error {
  constructor(message: string) {
    super(`raft core invariant broken: ${message}`);
    this.name = 'CoreInvariantError';
  }
}

/** The data bytes of entries: what maxAppendBytes and maxInflightBytes bound. */
export function dataBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.length;
  return n;
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CoreInvariantError(message);
}

export class RaftLog {
  private snapshot: SnapshotMeta;
  private entries: ChainedEntry[];

  /** `snapshot`: the point the log starts after (index 0 with the cluster's genesis chain for a whole log). */
  constructor(snapshot: SnapshotMeta, entries: readonly Entry[] = []) {
    this.snapshot = snapshot;
    this.entries = [];
    if (entries.length > 0) {
      invariant(entries[0]!.index === snapshot.index + 1, `log starts at ${entries[0]!.index}, snapshot covers ${snapshot.index}`);
      this.appendContiguous(entries);
    }
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }

  firstIndex(): number {
    return this.snapshot.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.index + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.term : this.snapshot.term;
  }

  /**
   * The term of the entry at index, 0 for index 0, the snapshot's term at its index,
   * and undefined when the index is compacted away or beyond the end.
   */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    // Below the snapshot point (index 0 included, once the log was compacted): gone.
    if (index < this.snapshot.index) return undefined;
    const e = this.entry(index);
    return e?.term;
  }

  entry(index: number): ChainedEntry | undefined {
    if (index <= this.snapshot.index) return undefined;
    return this.entries[index - this.snapshot.index - 1];
  }

  /** The chain value at index: the snapshot's at its index, the entry's after it; undefined when compacted away or beyond the end. */
  chain(index: number): Uint8Array | undefined {
    if (index === this.snapshot.index) return this.snapshot.chain;
    return this.entry(index)?.chain;
  }

  lastChain(): Uint8Array {
    return this.entries[this.entries.length - 1]?.chain ?? this.snapshot.chain;
  }

  /**
   * Chains `entries` (contiguous, the first right after `prevIndex`) onto the chain value at
   * prevIndex given by `prev`: each gets its chain value, and one that carries a different
   * value is refused (ChainMismatchError). Changes nothing.
   */
  static chainFrom(prev: Uint8Array, entries: readonly Entry[]): ChainedEntry[] {
    const out: ChainedEntry[] = [];
    let chain = prev;
    for (const e of entries) {
      const next = chainNext(chain, e);
      if (e.chain && !sameChain(e.chain, next)) {
        throw new ChainMismatchError(e.index, `the entry carries ${chainHex(e.chain)}, its content after ${chainHex(chain)} gives ${chainHex(next)}`);
      }
      out.push(e.chain ? (e as ChainedEntry) : { ...e, chain: next });
      chain = next;
    }
    return out;
  }

  /** Whether the log holds an entry (or the snapshot point) at index with term. */
  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t !== undefined && t === term;
  }

  /**
   * Whether the log holds exactly `e` at its index: same term and, when e carries one, same
   * chain value. At the snapshot point the point stands for the entry it covers (a node
   * restarted on a snapshot at its commit index has no entry there, and replays start there).
   */
  holds(e: Entry): boolean {
    if (e.index === this.snapshot.index && e.index > 0) return e.term === this.snapshot.term && (!e.chain || sameChain(this.snapshot.chain, e.chain));
    const mine = this.entry(e.index);
    if (!mine || mine.term !== e.term) return false;
    return !e.chain || sameChain(mine.chain, e.chain);
  }

  /** Entries in [lo, hi) that are held in memory, at most maxBytes of data (at least one entry). */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): ChainedEntry[] {
    // Asking for compacted entries is a bug of the caller (it must send a snapshot instead).
    invariant(lo >= this.firstIndex() || lo >= hi, `slice from ${lo}, but the log starts at ${this.firstIndex()}`);
    const from = Math.max(lo, this.firstIndex());
    const to = Math.min(hi, this.lastIndex() + 1);
    const out: ChainedEntry[] = [];
    let bytes = 0;
    for (let i = from; i < to; i++) {
      const e = this.entries[i - this.snapshot.index - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * Appends entries that start exactly at lastIndex() + 1, chaining each onto the last. An
   * entry that carries a chain value that does not follow is refused (ChainMismatchError)
   * and nothing is appended.
   */
  appendContiguous(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    let last = this.lastIndex();
    let lastTerm = this.lastTerm();
    for (const e of entries) {
      invariant(e.index === last + 1, `append of index ${e.index} after ${last}`);
      invariant(e.term >= lastTerm, `append of term ${e.term} after term ${lastTerm}`);
      last = e.index;
      lastTerm = e.term;
    }
    for (const e of RaftLog.chainFrom(this.lastChain(), entries)) this.entries.push(e);
  }

  /** Removes every entry with index >= from. Compacted entries cannot be removed. */
  truncateFrom(from: number): void {
    invariant(from > this.snapshot.index, `truncate from ${from} inside snapshot ${this.snapshot.index}`);
    if (from > this.lastIndex()) return;
    this.entries.length = from - this.snapshot.index - 1;
  }

  /**
   * The first index at which `entries` disagree with this log (a different term), or
   * the first index beyond this log, or 0 when every entry is already here.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.snapshot.index) continue;
      if (!this.holds(e)) return e.index;
    }
    return 0;
  }

  /**
   * Merges entries into the log the Raft way: entries already present are skipped, the
   * first conflicting one truncates the log from there, the rest are appended. The entries
   * must be contiguous and start at or before lastIndex() + 1; those the snapshot covers are
   * skipped. They are chained onto this log's chain value before their first index and
   * checked first: a chain value that does not follow throws ChainMismatchError with the
   * log unchanged. Returns the lowest index written (0 when nothing changed).
   */
  merge(entries: readonly Entry[]): number {
    const fresh = entries.filter((e) => e.index > this.snapshot.index);
    if (fresh.length === 0) return 0;
    const prev = this.chain(fresh[0]!.index - 1);
    invariant(prev !== undefined, `merge of entries from ${fresh[0]!.index} into a log ending at ${this.lastIndex()}`);
    const chained = RaftLog.chainFrom(prev, fresh);
    const conflict = this.findConflict(chained);
    if (conflict === 0) return 0;
    if (conflict <= this.lastIndex()) this.truncateFrom(conflict);
    const first = chained.findIndex((e) => e.index === conflict);
    invariant(first >= 0, `conflict index ${conflict} not among merged entries`);
    this.appendContiguous(chained.slice(first));
    return conflict;
  }

  /** The first index holding term, searching back from `from` (for fast backup hints). */
  firstIndexOfTermAtOrBefore(from: number): { term: number; index: number } {
    const term = this.term(from);
    invariant(term !== undefined, `no term at ${from}`);
    let index = from;
    while (index - 1 > this.snapshot.index && this.term(index - 1) === term) index--;
    return { term, index };
  }

  /** The last index holding term, or 0 when no entry has it. */
  lastIndexOfTerm(term: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.term === term) return e.index;
      if (e.term < term) return 0;
    }
    return this.snapshot.term === term ? this.snapshot.index : 0;
  }

  /** §5.4.1: is (lastTerm, lastIndex) at least as up to date as this log's (term, index) at `upTo`? */
  isUpToDate(lastIndex: number, lastTerm: number, upTo = this.lastIndex()): boolean {
    const myTerm = this.term(upTo) ?? this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= upTo);
  }

  /** Drops entries up to index (covered by a snapshot that includes them). */
  compact(index: number): void {
    if (index <= this.snapshot.index) return;
    invariant(index <= this.lastIndex(), `compact to ${index} beyond last ${this.lastIndex()}`);
    const e = this.entry(index)!;
    this.entries = this.entries.slice(index - this.snapshot.index);
    this.snapshot = { index, term: e.term, chain: e.chain };
  }

  /** Replaces the whole log with a snapshot point (an installed snapshot). */
  restore(snapshot: SnapshotMeta): void {
    this.snapshot = snapshot;
    this.entries = [];
  }
}
