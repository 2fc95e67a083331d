// Paced fsyncs of the local WAL, and what must be durable before a reply leaves.
//
// The local WAL is not on the commit path (ZooKeeper is), so its fsyncs are paced: at most
// one runs at a time, and at most one starts per intervalMs, to keep them from competing
// with ZooKeeper's own fsyncs on a shared disk. Writes that arrive while one runs are
// covered by the next (group commit).
//
// One thing does depend on it (PROTOCOL.md R1): a follower's reply to AppendEntries tells
// the leader what the follower holds, and the leader builds on it (its match index, and the
// commit index it later sends). A reply must therefore never claim entries a crash could
// undo. departureOf() says which messages those are; afterDurable() holds such a reply until
// every write made before it is on disk.
// Held replies keep the usual pace too (but never slower than replyIntervalMs, the
// heartbeat interval), unless one is urgent (the leader waits on it: core/messages.ts,
// AwaitedByLeader): a follower fsyncing every 2 ms for each small append took ZooKeeper's disk from
// under the leader's multis (notes/results.md, "Where the single writer's time goes").
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { Message } from '../core/messages.js';
import type { LocalWal } from '../storage/local-wal.js';
import type { TestFaults } from './node-config.js';

export interface WalSyncOptions {
  readonly wal: LocalWal;
  readonly clock: Clock;
  readonly logger: Logger;
  /** At most one fsync starts per this many ms. */
  readonly intervalMs: number;
  /**
   * While a callback waits for durability (a follower's reply), the pace is at most this
   * (the leader's heartbeat interval): a reply held longer holds the leader's window, and
   * with it what the follower, its listeners and its reads learn of the log, to a setting
   * about the local disk (review 24).
   */
  readonly replyIntervalMs?: number;
  /** When an urgent callback waits for durability, the pace is this instead. */
  readonly urgentIntervalMs: number;
  /** Bound on callbacks waiting for durability; beyond it the oldest are dropped (like lost replies). */
  readonly maxWaiting: number;
  /** Told how long each fsync took (metrics); nothing by default. */
  readonly observer?: WalSyncObserver;
}

export interface WalSyncObserver {
  walSynced(ms: number, ok: boolean): void;
}

/** After a failed fsync, the next try waits this long (a broken disk must not spin the loop). */
const SYNC_RETRY_MS = 100;

interface Waiter {
  readonly seq: number;
  readonly run: () => void;
}

/** Which pace a sync keeps: the usual one, or the urgent one for a waiter someone waits on. */
export type SyncPace = 'usual' | 'urgent';

/** How a peer message leaves: at once, or held by afterDurable() at that pace. */
export type Departure = 'now' | SyncPace;

/**
 * A follower's replies tell the leader what it holds; the leader builds its match index
 * and the commit index it sends on them. So they leave only once everything written to the
 * local WAL before them is durable (PROTOCOL.md R1: persist, then send), urgently when the
 * leader waits on the reply. Every other message leaves at once.
 */
export function departureOf(m: Message, faults: TestFaults | undefined): Departure {
  if (m.type !== 'appendReply' && m.type !== 'heartbeatReply') return 'now';
  // TEST-ONLY FAULT (commitWithoutTerm): issue 9's first hole, the reply before the fsync.
  if (faults?.commitWithoutTerm) return 'now';
  return m.awaited === true ? 'urgent' : 'usual';
}

export class WalSync {
  private readonly o: WalSyncOptions;
  /** Bumped by every write; a sync that started at seq s makes everything up to s durable. */
  private writeSeq = 0;
  private durableSeq = 0;
  private syncing = false;
  private timer: TimerHandle | null = null;
  private timerDue = 0;
  private lastSyncStart = Number.NEGATIVE_INFINITY;
  /** After a failed fsync, no other starts before this time, whatever waits (SYNC_RETRY_MS). */
  private retryNotBefore = Number.NEGATIVE_INFINITY;
  private waiting: Waiter[] = [];
  /** Highest write seq an urgent waiter waited for: the urgent pace holds until it is durable. */
  private urgentSeq = 0;
  private droppedWaiters = 0;
  private stopped = false;

  constructor(options: WalSyncOptions) {
    this.o = options;
  }

  /** The WAL was written: make it durable soon. */
  written(): void {
    this.writeSeq++;
    this.request();
  }

  /** Whether everything written so far is durable. */
  isDurable(): boolean {
    return this.durableSeq === this.writeSeq;
  }

  /**
   * Runs `run` once everything written before this call is durable (at once if it already
   * is); `urgent` syncs at the urgent pace rather than the usual one.
   */
  afterDurable(run: () => void, pace: SyncPace = 'usual'): void {
    if (this.durableSeq >= this.writeSeq) {
      run();
      return;
    }
    if (this.waiting.length >= this.o.maxWaiting) {
      this.waiting.shift();
      if (this.droppedWaiters++ % 1000 === 0) this.o.logger.warn({ maxWaiting: this.o.maxWaiting }, 'too many replies waiting for the local WAL; dropping the oldest');
    }
    this.waiting.push({ seq: this.writeSeq, run });
    if (pace === 'urgent') this.urgentSeq = this.writeSeq;
    this.request();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.waiting = [];
  }

  /** Ms between fsyncs now: urgent while the leader waits on a reply, the reply pace while any reply waits, else the usual. */
  private pace(): number {
    if (this.urgentSeq > this.durableSeq) return this.o.urgentIntervalMs;
    if (this.waiting.length > 0) return Math.min(this.o.intervalMs, this.o.replyIntervalMs ?? this.o.intervalMs);
    return this.o.intervalMs;
  }

  private request(): void {
    if (this.stopped || this.syncing || this.durableSeq === this.writeSeq) return;
    const due = Math.max(this.lastSyncStart + this.pace(), this.retryNotBefore);
    const now = this.o.clock.now();
    if (due <= now) {
      this.run();
      return;
    }
    // A timer already set for an earlier (or the same) time will do.
    if (this.timer && this.timerDue <= due) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.run();
    }, due - now);
  }

  private run(): void {
    if (this.stopped || this.syncing || this.durableSeq === this.writeSeq) return;
    this.timer?.cancel();
    this.timer = null;
    this.syncing = true;
    this.lastSyncStart = this.o.clock.now();
    const target = this.writeSeq;
    const started = this.lastSyncStart;
    this.o.wal.sync().then(
      () => {
        this.syncing = false;
        this.o.observer?.walSynced(this.o.clock.now() - started, true);
        if (this.stopped) return;
        this.durableSeq = Math.max(this.durableSeq, target);
        this.release();
        this.request();
      },
      (err: unknown) => {
        this.syncing = false;
        this.o.observer?.walSynced(this.o.clock.now() - started, false);
        // The local WAL is not on the commit path; a broken disk makes restarts slow, not
        // unsafe. Replies that wait for it stay held (the leader sees a follower that does
        // not answer, and ZooKeeper keeps the log). Say it loudly.
        this.o.logger.error({ err: (err as Error).message }, 'local WAL sync failed; retrying');
        if (this.stopped) return;
        // Kept by request() itself: a reply or write arriving meanwhile (every few ms on a
        // follower) must not start the next try sooner.
        this.retryNotBefore = this.o.clock.now() + SYNC_RETRY_MS;
        this.request();
      },
    );
  }

  private release(): void {
    let k = 0;
    while (k < this.waiting.length && this.waiting[k]!.seq <= this.durableSeq) k++;
    if (k === 0) return;
    const ready = this.waiting.splice(0, k);
    for (const w of ready) w.run();
  }
}
