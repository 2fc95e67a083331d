// A listener's committed log: the state machine it applies to, its local WAL, and a bounded
// window of recent entries it can feed to listeners below it.
//
// Everything that reaches it is committed (an upstream sends committed entries only, and
// ZooKeeper's log is the commit point), so it never truncates: an entry either continues the
// log exactly (the next index, and a chain value that follows from the one before) or it is
// refused with ListenerFeedError, and nothing is applied. Loading a snapshot replaces the
// state and restarts the local log after the snapshot's index.
import type { Logger } from '../../common/logger.js';
import { ListenerFeedError } from '../../common/errors.js';
import type { SnapshotPoint } from '../../common/snapshot-point.js';
import { chainHex, chainNext, sameChain } from '../../core/chain.js';
import type { ChainedEntry, Entry } from '../../core/types.js';
import type { LocalWal } from '../../storage/local-wal.js';
import type { KvStore } from '../../statemachine/kv-store.js';

/** Entries kept in memory for listeners below this one. */
export const FEED_WINDOW_ENTRIES = 20_000;
/** And at most this many bytes of entry data. */
export const FEED_WINDOW_BYTES = 32 << 20;

export interface ListenerLogOptions {
  readonly wal: LocalWal;
  readonly logger: Logger;
  readonly store: KvStore;
  /** The point the store reflects: its applied index and the chain value there. */
  readonly point: SnapshotPoint;
  /** Entries after the point found in the local WAL at start (committed, applied now). */
  readonly replay?: readonly Entry[];
  /** Called after entries were appended and applied (the WAL write is buffered). */
  readonly onWritten?: () => void;
}

export class ListenerLog {
  private kv: KvStore;
  private chain: Uint8Array;
  private term: number;
  /** Recent entries, oldest first, all after `windowBase`. */
  private window: ChainedEntry[] = [];
  private windowBytes = 0;
  private readonly o: ListenerLogOptions;
  private readonly appliedHooks: Array<(entries: readonly Entry[]) => void> = [];

  constructor(o: ListenerLogOptions) {
    this.o = o;
    this.kv = o.store;
    this.chain = o.point.chain;
    this.term = o.point.term;
    if (o.store.applied() !== o.point.index) throw new Error(`listener log: store applied ${o.store.applied()} but the point is ${o.point.index}`);
    const replay = (o.replay ?? []).filter((e) => e.index > o.point.index);
    if (replay.length > 0) this.applyChecked(replay, 'the local WAL', false);
  }

  /** Calls `hook` with every batch applied from now on; returns the unsubscribe. */
  onApplied(hook: (entries: readonly Entry[]) => void): () => void {
    this.appliedHooks.push(hook);
    return () => {
      const i = this.appliedHooks.indexOf(hook);
      if (i >= 0) this.appliedHooks.splice(i, 1);
    };
  }

  store(): KvStore {
    return this.kv;
  }

  applied(): number {
    return this.kv.applied();
  }

  /** The chain value at the applied index (what a Subscribe request carries). */
  chainAtApplied(): Uint8Array {
    return this.chain;
  }

  /** The entry at `index` if the window still holds it. */
  entryAt(index: number): ChainedEntry | undefined {
    const first = this.window[0];
    if (!first || index < first.index) return undefined;
    return this.window[index - first.index];
  }

  /** The chain value at `index`, if known here (the applied point or inside the window). */
  chainAt(index: number): Uint8Array | undefined {
    if (index === this.applied()) return this.chain;
    return this.entryAt(index)?.chain;
  }

  /**
   * Appends and applies committed entries received from `source`. Entries at or below the
   * applied index are skipped when they match what is here (a resent batch); anything that
   * does not continue this log is refused before anything of the batch is applied.
   */
  accept(entries: readonly Entry[], source: string): number {
    const fresh = entries.filter((e) => e.index > this.applied());
    for (const e of entries) {
      if (e.index > this.applied()) break;
      const mine = this.chainAt(e.index);
      if (mine && e.chain && !sameChain(mine, e.chain)) {
        throw new ListenerFeedError(`${source} sent entry ${e.index} with chain ${chainHex(e.chain)}, but this listener holds ${chainHex(mine)} there: the upstream's log is not this cluster's committed log`);
      }
    }
    if (fresh.length === 0) return 0;
    this.applyChecked(fresh, source, true);
    return fresh.length;
  }

  /** Replaces the state with a loaded snapshot (newer than what is applied). */
  installSnapshot(point: SnapshotPoint, store: KvStore): void {
    if (point.index <= this.applied()) return;
    this.kv = store;
    this.chain = point.chain;
    this.term = point.term;
    this.window = [];
    this.windowBytes = 0;
    // The local log restarts after the snapshot; the snapshot file is durable already.
    this.o.wal.truncateFrom(1);
    this.o.wal.setHardState({ term: point.term, commit: point.index });
    this.o.onWritten?.();
  }

  private applyChecked(entries: readonly Entry[], source: string, write: boolean): void {
    // Check the whole batch first: a bad entry anywhere applies nothing of it.
    let prev = this.chain;
    let expect = this.applied() + 1;
    const chained: ChainedEntry[] = [];
    for (const e of entries) {
      if (e.index !== expect) throw new ListenerFeedError(`${source} sent entry ${e.index}, expected ${expect}: a gap in a committed log`);
      const c = chainNext(prev, e);
      if (e.chain && !sameChain(c, e.chain)) {
        throw new ListenerFeedError(`${source} sent entry ${e.index} whose chain value ${chainHex(e.chain)} does not follow from this listener's log (expected ${chainHex(c)})`);
      }
      if (write && !e.chain) throw new ListenerFeedError(`${source} sent entry ${e.index} without its chain value`);
      chained.push({ index: e.index, term: e.term, type: e.type, data: e.data, chain: c });
      prev = c;
      expect++;
    }
    if (write) this.o.wal.appendEntries(chained);
    for (const e of chained) {
      this.kv.apply(e);
      this.remember(e);
    }
    const last = chained[chained.length - 1]!;
    this.chain = last.chain;
    this.term = last.term;
    if (write) {
      // The hard state's commit says how far the local log is committed: all of it.
      this.o.wal.setHardState({ term: this.term, commit: last.index });
      this.o.onWritten?.();
    }
    for (const h of this.appliedHooks) h(chained);
  }

  private remember(e: ChainedEntry): void {
    this.window.push(e);
    this.windowBytes += e.data.length;
    let drop = 0;
    while (this.window.length - drop > FEED_WINDOW_ENTRIES || (this.windowBytes > FEED_WINDOW_BYTES && this.window.length - drop > 1)) {
      this.windowBytes -= this.window[drop]!.data.length;
      drop++;
    }
    if (drop > 0) this.window.splice(0, drop);
  }

  /** The term of the entry at the applied index. */
  appliedTerm(): number {
    return this.term;
  }

  describe(): string {
    return `${this.applied()} (chain ${chainHex(this.chain)})`;
  }

  logger(): Logger {
    return this.o.logger;
  }
}
