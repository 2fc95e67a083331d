// The bound on the held suffix (the commit gate, notes/safety.md): while a follower's commit
// index is held (commit-gate.ts), it takes its leader's entries but commits none of them, so
// they pile up past its commit index. It takes at most maxHeldEntries entries and
// maxHeldBytes bytes of entry data past its commit index; a follower cut off from ZooKeeper
// while the other voter leads would otherwise take entries for as long as that lasts, in
// memory and in its local WAL, and compact none of them. Pure: it reads the log it is given.
import { sameChain } from './chain.js';
import type { Entry } from './types.js';

/** What the bound reads of the log (RaftLog). */
export interface HeldLog {
  entry(index: number): Entry | undefined;
  chain(index: number): Uint8Array | undefined;
}

export interface HeldBounds {
  readonly maxHeldEntries: number;
  readonly maxHeldBytes: number;
}

export class HeldSuffix {
  /** What room() counted last: the bytes of (commit, upTo], valid while the chain value at upTo is unchanged. */
  private memo: { commit: number; upTo: number; chain: Uint8Array; bytes: number } | null = null;
  /**
   * The last AppendEntries with entries was cut short by the bound. The leader's pipelined
   * messages after it then start past this log's end; see Following.onAppend for how they are
   * answered.
   */
  private cut = false;

  constructor(
    private readonly bounds: HeldBounds,
    private readonly log: HeldLog,
  ) {}

  /** Whether the last entries offered while held did not all fit (until reopen()). */
  get full(): boolean {
    return this.cut;
  }

  /** Another leader, a new term, the hold released, or a snapshot installed: what was cut short no longer matters. */
  reopen(): void {
    this.cut = false;
  }

  /**
   * How many of `entries` (the first right after prevIndex, which the log holds) fit the
   * bound on the suffix past `commit`; remembers whether they all did (full).
   */
  room(commit: number, prevIndex: number, entries: readonly Entry[]): number {
    const n = this.fit(commit, prevIndex, entries);
    this.cut = n < entries.length;
    return n;
  }

  private fit(commit: number, prevIndex: number, entries: readonly Entry[]): number {
    const maxIndex = commit + this.bounds.maxHeldEntries;
    if (prevIndex >= maxIndex) return 0;
    // At most maxHeldEntries entries to add up: the commit index is at or past the
    // compaction point, so every one of them is in memory.
    let bytes = this.bytesThrough(commit, prevIndex);
    let n = 0;
    for (const e of entries) {
      bytes += e.data.length;
      if (e.index > maxIndex || bytes > this.bounds.maxHeldBytes) break;
      n++;
    }
    return n;
  }

  /**
   * The entry bytes of (commit, upTo], counted on from the last call's count while the
   * chain value at its end is unchanged (the chain proves the whole prefix): one append per
   * message while held no longer re-adds the whole held suffix each time.
   */
  private bytesThrough(commit: number, upTo: number): number {
    const memo = this.memo;
    let from = commit + 1;
    let bytes = 0;
    if (memo && memo.commit === commit && memo.upTo <= upTo) {
      const chain = this.log.chain(memo.upTo);
      if (chain && sameChain(chain, memo.chain)) {
        from = memo.upTo + 1;
        bytes = memo.bytes;
      }
    }
    for (let i = from; i <= upTo; i++) bytes += this.log.entry(i)?.data.length ?? 0;
    const chain = this.log.chain(upTo);
    this.memo = chain ? { commit, upTo, chain, bytes } : null;
    return bytes;
  }
}
