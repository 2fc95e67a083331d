// The apply-and-answer path of a voter, kept apart from the node driver as etcd keeps its
// applier apart from the Raft node: the state machine, the committed entries applied to it,
// and the clients waiting on them answered.
//
// apply() takes what the driver hands it from Ready.committed, and only that: entries
// ZooKeeper holds (S2, notes/safety.md). For each entry in order it applies it and answers
// the write waiting on that index (or tells it another leader's entry took its place); then
// it wakes the reads waiting for the state machine to reach an index, and last tells the
// snapshot policy what was applied. The driver decides when this runs, in its order of a
// Ready's side effects; nothing here reads the core, the clock or ZooKeeper.
import type { Clock } from '../common/clock.js';
import type { Entry } from '../core/types.js';
import { KvStore } from '../statemachine/kv-store.js';
import { AppliedWaiters } from './applied-waiters.js';
import { PendingProposals } from './proposals.js';

export interface ReadResult {
  readonly found: boolean;
  readonly value: Uint8Array;
  /** The applied index the read reflects. */
  readonly index: number;
}

export interface ApplierOptions {
  /** For the waiting writes' and reads' timeouts. */
  readonly clock: Clock;
  /** The state machine to start from: a loaded snapshot's, else null for an empty one. */
  readonly initial: KvStore | null;
  /** Bound on writes waiting for their entry (BUSY beyond it, the driver's check). */
  readonly maxPendingProposals: number;
  /** Bound on reads waiting for the state machine. */
  readonly maxPendingReads: number;
  /** The snapshot trigger: told every batch of applied entries, after their clients were answered. */
  readonly noteApplied: (entries: readonly Entry[]) => void;
}

export class Applier {
  /** Client writes waiting for their entry to apply (the driver adds them, and fails them when leadership ends). */
  readonly proposals: PendingProposals;
  /** Reads waiting until the state machine has applied a given index. */
  readonly appliedWaiters: AppliedWaiters;
  private readonly noteApplied: (entries: readonly Entry[]) => void;
  /** The state machine (replaced when a snapshot is installed). */
  private kv: KvStore;
  /** The stamp the last write was given (see nextStamp). */
  private lastStamp = 0;

  constructor(options: ApplierOptions) {
    this.kv = options.initial ?? new KvStore();
    this.noteApplied = options.noteApplied;
    this.proposals = new PendingProposals(options.clock, options.maxPendingProposals);
    this.appliedWaiters = new AppliedWaiters(options.clock, options.maxPendingReads, () => this.kv.applied());
  }

  /** The state machine now. */
  store(): KvStore {
    return this.kv;
  }

  appliedIndex(): number {
    return this.kv.applied();
  }

  /** Applies committed entries (in index order), answers the clients waiting on them, then tells the snapshot trigger. */
  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      const result = this.kv.apply(e);
      this.proposals.applied(e.index, e.term, result);
    }
    this.appliedWaiters.notify(this.kv.applied());
    this.noteApplied(entries);
  }

  /** A verified snapshot the core accepted becomes the state machine: the reads it satisfies are answered. */
  install(store: KvStore): void {
    this.kv = store;
    this.appliedWaiters.notify(this.kv.applied());
  }

  /**
   * The stamp for the next write, from the wall clock's `wallNowMs`: never below the last
   * one given, nor below the state machine's log time (a new leader stamps at or after it;
   * sessions expire by it, so it must never go back).
   */
  nextStamp(wallNowMs: number): number {
    const stamp = Math.max(this.lastStamp, this.kv.lastStampMs(), Math.floor(wallNowMs));
    this.lastStamp = stamp;
    return stamp;
  }

  /** `key` in the state machine as it is now, with the index that reflects. */
  read(key: string): ReadResult {
    const value = this.kv.get(key);
    return { found: value !== undefined, value: value ?? new Uint8Array(0), index: this.kv.applied() };
  }
}
