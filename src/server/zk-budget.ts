// What the cluster keeps in ZooKeeper, counted against its budget (--zk-budget-bytes; issue
// 10 point 8; notes/snapshots.md, "The ZooKeeper budget").
//
// The leader keeps the count. It is cheap: nothing is read from ZooKeeper per write. The
// count starts from an inspection of the tree (inspectZk: one stat per znode, bounded), then
// follows what this leader writes and deletes: every WAL segment its mirror appends (the
// segment's exact size), every snapshot it uploads (an upper bound of its znodes' bytes),
// every snapshot it prunes and every segment it compacts (exact). It is counted again from
// ZooKeeper at most every RECOUNT_MS, and whenever a new term starts, so what escapes the
// tracking (a partial upload left by a crash, a lost reply) is corrected within a minute.
//
// The decisions (pure functions below) work on three numbers: the budget B, the bytes used
// U, and a reserve R for what the log gains while a snapshot is taken and uploaded.
import type { ZkUsage } from '../coordination/zk-inspect.js';
import type { LeaderTermObserver } from './leadership.js';

export type BudgetMode = 'normal' | 'tight' | 'over';

export interface ZkBudgetStatus {
  readonly budgetBytes: number;
  /** WAL segments and snapshots together (data bytes), as tracked. */
  readonly usedBytes: number;
  readonly walBytes: number;
  readonly snapshotBytes: number;
  /** The state is too large for the budget: writes that add data are refused. */
  readonly over: boolean;
  readonly mode: BudgetMode;
  /** Why it is tight or over ('' when normal). */
  readonly reason: string;
  /** Since ZooKeeper was last counted. */
  readonly countedMsAgo: number;
}

/** Count ZooKeeper again at most this often while leading (the tracking fills the gaps). */
export const RECOUNT_MS = 60_000;
/** Per chunk znode: the record's fields around the data (index, number, crc32c, length), at most. */
const CHUNK_RECORD_OVERHEAD = 32;
/** The manifest and the directory's upload record, at most. */
const SNAPSHOT_FIXED_BYTES = 1024;

/**
 * The bytes a snapshot file of `sizeBytes` takes in ZooKeeper once uploaded in chunks of
 * `chunkBytes`: its data, the chunk records' fields, the manifest and the directory
 * record. An upper bound (the count from ZooKeeper replaces it).
 */
export function snapshotZkBytes(sizeBytes: number, chunkBytes: number): number {
  const chunks = Math.max(1, Math.ceil(sizeBytes / Math.max(1, chunkBytes)));
  return sizeBytes + chunks * CHUNK_RECORD_OVERHEAD + SNAPSHOT_FIXED_BYTES;
}

/**
 * Room kept for the log a publish lets grow: a snapshot is taken and uploaded while writes
 * go on, and only then can the log behind it be compacted. A sixteenth of the budget, or
 * twice what the last publish saw the log grow by, whichever is more; at most a quarter.
 */
export function reserveBytes(budgetBytes: number, lastPublishGrowthBytes: number): number {
  return Math.min(Math.floor(budgetBytes / 4), Math.max(Math.floor(budgetBytes / 16), 2 * lastPublishGrowthBytes));
}

/**
 * Past this, writes that add data wait (BUSY) until a publish compacts the log: the bound on
 * an excursion when the log outruns the snapshots or publishes keep failing. The budget and
 * a quarter: an upload's ordinary excursion stays below it.
 */
export function budgetCeilingBytes(budgetBytes: number): number {
  return budgetBytes + Math.floor(budgetBytes / 4);
}

/** The least room kept for the log, whatever the write rate: a sixteenth of the budget. */
export function floorReserveBytes(budgetBytes: number): number {
  return reserveBytes(budgetBytes, 0);
}

/**
 * The state alone is too large: two snapshots of this size (ZooKeeper must hold the old one
 * until the new one is complete) and the floor reserve do not fit in the budget. The floor,
 * not the write-rate reserve: whether the state fits is a property of the state; a fast
 * writer only makes snapshots come sooner (budgetWantsSnapshot), it never refuses writes.
 */
export function stateTooLarge(snapshotBytes: number, budgetBytes: number): boolean {
  return 2 * snapshotBytes + floorReserveBytes(budgetBytes) > budgetBytes;
}

/**
 * After an upload: whether wal/ must be compacted through the newest snapshot (and the older
 * one dropped) now, so that the next upload, of about the same size, fits with the reserve.
 */
export function mustTighten(usedBytes: number, snapshotBytes: number, reserve: number, budgetBytes: number): boolean {
  return usedBytes + snapshotBytes + reserve > budgetBytes;
}

/**
 * Leader: a snapshot is due for the budget's sake. The next one will be at most the newest
 * one plus the log applied since (a write adds at most its own bytes to the state); once
 * used + that + the reserve reach the budget, a snapshot now is what lets wal/ shrink.
 */
export function budgetWantsSnapshot(usedBytes: number, nextSnapshotBytes: number, reserve: number, budgetBytes: number): boolean {
  return usedBytes + nextSnapshotBytes + reserve >= budgetBytes;
}

/** The leader's count of what the cluster keeps in ZooKeeper. */
export class ZkBudget {
  readonly budgetBytes: number;
  private countedAt: number | null = null;
  private wal = 0;
  /** Snapshot directories by index: their bytes (tracked or counted). */
  private readonly snapshots = new Map<number, number>();
  /** snapshots/ itself and anything in it that is no snapshot directory. */
  private snapshotsOther = 0;
  /** Segment bytes appended since the last count started (they may or may not be in it). */
  private appendedSinceCountStart = 0;
  private counting = false;
  private recountWanted = false;
  /** Segment bytes appended since markGrowth(): how much the log grew during a publish. */
  private growthMark = 0;
  private lastGrowth = 0;
  private modeNow: BudgetMode = 'normal';
  private reasonNow = '';

  constructor(budgetBytes: number) {
    this.budgetBytes = budgetBytes;
  }

  /** Forgets everything (a new term: the count starts again from ZooKeeper). */
  reset(): void {
    this.countedAt = null;
    this.wal = 0;
    this.snapshots.clear();
    this.snapshotsOther = 0;
    this.appendedSinceCountStart = 0;
    this.counting = false;
    this.recountWanted = false;
    this.growthMark = 0;
    this.lastGrowth = 0;
    this.modeNow = 'normal';
    this.reasonNow = '';
  }

  get counted(): boolean {
    return this.countedAt !== null;
  }

  countDue(now: number): boolean {
    return !this.counting && (this.countedAt === null || this.recountWanted || now - this.countedAt >= RECOUNT_MS);
  }

  /** What was tracked may be off (a compaction failed part-way): count ZooKeeper again at the next chance. */
  recountSoon(): void {
    this.recountWanted = true;
  }

  /** A count from ZooKeeper starts now: segments appended from here on may or may not be in it. */
  countStarted(): void {
    this.counting = true;
    this.appendedSinceCountStart = 0;
  }

  /**
   * The count from ZooKeeper. Segments appended while it ran are added on top: some of them
   * it saw, so the sum may exceed the truth by what was appended meanwhile, never fall below.
   */
  countDone(usage: ZkUsage, now: number): void {
    this.counting = false;
    this.recountWanted = false;
    this.countedAt = now;
    this.wal = usage.wal.dataBytes + this.appendedSinceCountStart;
    this.snapshots.clear();
    let inDirs = 0;
    for (const s of usage.snapshots) {
      this.snapshots.set(s.index, s.dataBytes);
      inDirs += s.dataBytes;
    }
    this.snapshotsOther = Math.max(0, usage.groups.snapshots.dataBytes - inDirs);
    this.appendedSinceCountStart = 0;
  }

  countFailed(): void {
    this.counting = false;
  }

  walAppended(bytes: number): void {
    this.wal += bytes;
    this.appendedSinceCountStart += bytes;
    this.growthMark += bytes;
  }

  walCompacted(bytes: number): void {
    this.wal = Math.max(0, this.wal - bytes);
  }

  snapshotAdded(index: number, bytes: number): void {
    this.snapshots.set(index, bytes);
  }

  snapshotRemoved(index: number): void {
    this.snapshots.delete(index);
  }

  /** The bytes of the complete snapshot at `index` as counted (0 if unknown). */
  snapshotBytesOf(index: number): number {
    return this.snapshots.get(index) ?? 0;
  }

  /** Starts measuring how much the log grows (during a publish). */
  markGrowth(): void {
    this.growthMark = 0;
  }

  /** Ends the measurement: it sets the reserve of the next publishes. */
  growthMeasured(): void {
    this.lastGrowth = this.growthMark;
  }

  used(): number {
    let snaps = this.snapshotsOther;
    for (const b of this.snapshots.values()) snaps += b;
    return this.wal + snaps;
  }

  reserve(): number {
    return reserveBytes(this.budgetBytes, this.lastGrowth);
  }

  /** What the log is expected to gain during one publish: as much as the last one (at least the floor). */
  expectedGrowth(): number {
    return Math.max(floorReserveBytes(this.budgetBytes), this.lastGrowth);
  }

  setMode(mode: BudgetMode, reason: string): void {
    this.modeNow = mode;
    this.reasonNow = mode === 'normal' ? '' : reason;
  }

  get mode(): BudgetMode {
    return this.modeNow;
  }

  get over(): boolean {
    return this.modeNow === 'over';
  }

  /** Null until counted. */
  status(now: number): ZkBudgetStatus | null {
    if (this.countedAt === null) return null;
    let snaps = this.snapshotsOther;
    for (const b of this.snapshots.values()) snaps += b;
    return {
      budgetBytes: this.budgetBytes,
      usedBytes: this.wal + snaps,
      walBytes: this.wal,
      snapshotBytes: snaps,
      over: this.over,
      mode: this.modeNow,
      reason: this.reasonNow,
      countedMsAgo: Math.max(0, Math.round(now - this.countedAt)),
    };
  }
}

/** The leader term's observer, with every appended segment also counted against the budget. */
export function withWalBytesCounted(observer: LeaderTermObserver, count: (bytes: number) => void): LeaderTermObserver {
  return {
    mirrorMulti: (s) => {
      observer.mirrorMulti(s);
      if (s.ok) count(s.bytes);
    },
    leaseLapsed: () => observer.leaseLapsed(),
  };
}

/** "12.3 MiB": bytes for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}
