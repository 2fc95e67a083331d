// The set of operations linearized so far on the current search path, as a bitset
// with an incremental hash and compact exact snapshots for the visited cache.
//
// Operations are numbered so that completed ones come first, in order of their
// response times, and unknown-outcome ones after. Along a search path the completed
// operations that are linearized are nearly a prefix of that numbering: every word
// below `low` is full, and only a window as wide as the concurrency is ragged. A
// snapshot stores just that window (plus the unknown-outcome bits), so cached nodes
// cost O(concurrency) memory instead of O(operations).
//
// The hash covers only the completed operations: nodes that differ only in which
// unknown-outcome operations they used land in the same bucket, where the cache
// compares those sets by inclusion.

import { Prng } from './prng.js';

const ZOBRIST_SEED = 0x5eed1e55;

export interface SetSnapshot {
  /** Every completed-region word below `low` is full. */
  readonly low: number;
  /** Completed-region words from `low` on; every word after them is zero. */
  readonly window: Uint32Array;
  /** The unknown-outcome region, or null when none of those operations is in the set. */
  readonly pending: Uint32Array | null;
}

export class LinearizedSet {
  private readonly words: Uint32Array;
  private readonly pendingWords: Uint32Array;
  private readonly lastMask: number;
  private readonly wordCount: number;
  /** Two independent 32-bit Zobrist keys per completed operation. */
  private readonly keysA: Uint32Array;
  private readonly keysB: Uint32Array;
  private low = 0;
  private high = -1;
  private pendingCount = 0;
  /** Incremental hashes of the completed members: the XOR of their keys. */
  hashA = 0;
  hashB = 0;

  /** Operations 0..completed-1 are completed, completed..completed+pending-1 have unknown outcomes. */
  constructor(
    private readonly completed: number,
    pending: number,
  ) {
    this.wordCount = Math.ceil(completed / 32);
    this.words = new Uint32Array(this.wordCount);
    this.pendingWords = new Uint32Array(Math.ceil(pending / 32));
    const tail = completed % 32;
    this.lastMask = tail === 0 ? 0xffffffff : ((1 << tail) - 1) >>> 0;
    this.keysA = new Uint32Array(completed);
    this.keysB = new Uint32Array(completed);
    const prng = new Prng(ZOBRIST_SEED);
    for (let i = 0; i < completed; i++) {
      this.keysA[i] = prng.nextUint32();
      this.keysB[i] = prng.nextUint32();
    }
  }

  private fullMask(word: number): number {
    return word === this.wordCount - 1 ? this.lastMask : 0xffffffff;
  }

  has(op: number): boolean {
    if (op >= this.completed) {
      const p = op - this.completed;
      return (this.pendingWords[p >>> 5] & (1 << (p & 31))) !== 0;
    }
    return (this.words[op >>> 5] & (1 << (op & 31))) !== 0;
  }

  add(op: number): void {
    if (op >= this.completed) {
      const p = op - this.completed;
      this.pendingWords[p >>> 5] |= 1 << (p & 31);
      this.pendingCount++;
      return;
    }
    this.hashA ^= this.keysA[op];
    this.hashB ^= this.keysB[op];
    const w = op >>> 5;
    this.words[w] |= 1 << (op & 31);
    if (w > this.high) this.high = w;
    while (this.low < this.wordCount && this.words[this.low] === this.fullMask(this.low)) this.low++;
  }

  remove(op: number): void {
    if (op >= this.completed) {
      const p = op - this.completed;
      this.pendingWords[p >>> 5] &= ~(1 << (p & 31));
      this.pendingCount--;
      return;
    }
    this.hashA ^= this.keysA[op];
    this.hashB ^= this.keysB[op];
    const w = op >>> 5;
    this.words[w] &= ~(1 << (op & 31));
    if (w < this.low) this.low = w;
    // Words below `low` are full, so this scan stops within the ragged window.
    while (this.high >= 0 && this.words[this.high] === 0) this.high--;
  }

  snapshot(): SetSnapshot {
    return {
      low: this.low,
      window: this.words.slice(this.low, Math.max(this.low, this.high + 1)),
      pending: this.pendingCount > 0 ? this.pendingWords.slice() : null,
    };
  }

  /** Whether the completed operations in the set are exactly those of the snapshot. */
  sameCompleted(s: SetSnapshot): boolean {
    if (s.low !== this.low || s.window.length !== Math.max(0, this.high + 1 - this.low)) return false;
    for (let i = 0; i < s.window.length; i++) {
      if (s.window[i] !== this.words[this.low + i]) return false;
    }
    return true;
  }

  /** Whether the snapshot's unknown-outcome operations are exactly (or, with subset, among) those in the set. */
  pendingIncludes(s: SetSnapshot, subset: boolean): boolean {
    if (s.pending === null) return subset || this.pendingCount === 0;
    if (this.pendingCount === 0) return false;
    for (let i = 0; i < s.pending.length; i++) {
      const theirs = s.pending[i];
      const ours = this.pendingWords[i];
      if (subset ? (theirs & ~ours) !== 0 : theirs !== ours) return false;
    }
    return true;
  }
}
