// The in-memory twin of the file WAL, for unit tests and the deterministic simulator.
//
// It keeps the same framed records the file WAL writes (wal-record.ts) and recovers
// them with the same code (segment-scan.ts, wal-replay.ts), so a crash here is cut
// and replayed exactly as on disk. It tracks which records are durable: a sync()
// makes everything appended before it durable when it completes, and crash() keeps
// only durable records, as a power loss would.
//
// Deterministic: no clocks, no randomness. A sync completes on a microtask unless
// the simulator schedules completions itself (options.scheduleSync).
import { InvalidArgumentError, UnavailableError } from '../common/errors.js';
import type { Entry, HardState } from '../core/types.js';
import type { LocalWal, WalRecovery } from './local-wal.js';
import { LogBounds } from './log-bounds.js';
import { scanSegment } from './segment-scan.js';
import { encodeWalRecord, type WalRecord } from './wal-record.js';
import { WalReplay } from './wal-replay.js';

export interface MemoryWalOptions {
  /**
   * Runs `complete` when a sync's fsync would finish. Default: on a microtask. The
   * simulator can pass its own to model fsync latency or reorder completions.
   */
  readonly scheduleSync?: (complete: () => void) => void;
}

export interface CrashOptions {
  /** Leave the first half of the first unsynced record behind, as a torn write would. */
  readonly tornTail?: boolean;
}

/** The name the in-memory log has in warnings and errors. */
export const MEMORY_WAL_NAME = 'memory-wal';

interface StoredRecord {
  readonly frame: Uint8Array;
  /** The entry's index for an entry record, 0 otherwise. */
  readonly entryIndex: number;
  readonly isHardState: boolean;
}

function stored(frame: Uint8Array, record: WalRecord): StoredRecord {
  return {
    frame,
    entryIndex: record.kind === 'entry' ? record.entry.index : 0,
    isHardState: record.kind === 'hardState',
  };
}

function scheduleOnMicrotask(complete: () => void): void {
  queueMicrotask(complete);
}

export class MemoryWal implements LocalWal {
  private readonly scheduleSync: (complete: () => void) => void;

  /** Records in write order; records[i] has the absolute number dropped + i. */
  private records: StoredRecord[] = [];
  /** How many records compaction has dropped from the front (absolute numbering). */
  private dropped = 0;
  /** Absolute number one past the last durable record. */
  private durableEnd = 0;

  private bounds = new LogBounds();
  private hardState: HardState | null = null;
  /** Bumped by crash(): completions of syncs made before it never arrive. */
  private generation = 0;
  private closed = false;

  constructor(options: MemoryWalOptions = {}) {
    this.scheduleSync = options.scheduleSync ?? scheduleOnMicrotask;
  }

  /** Records written and not compacted away, durable or not. */
  get recordCount(): number {
    return this.records.length;
  }

  /** Records that would survive a crash now. */
  get durableRecordCount(): number {
    return this.durableEnd - this.dropped;
  }

  appendEntries(entries: readonly Entry[]): void {
    this.assertOpen();
    if (entries.length === 0) return;
    const frames = entries.map((entry) => stored(encodeWalRecord({ kind: 'entry', entry }), { kind: 'entry', entry }));
    this.bounds.checkAppend(entries);
    this.records.push(...frames);
    this.bounds.append(entries);
  }

  truncateFrom(fromIndex: number): void {
    this.assertOpen();
    this.write({ kind: 'truncate', fromIndex });
    this.bounds.truncateFrom(fromIndex);
  }

  setHardState(hs: HardState): void {
    this.assertOpen();
    this.write({ kind: 'hardState', hardState: hs });
    this.hardState = { term: hs.term, commit: hs.commit };
  }

  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new UnavailableError('the local WAL is closed'));
    const upTo = this.dropped + this.records.length;
    const generation = this.generation;
    return new Promise((resolve) => {
      this.scheduleSync(() => {
        // After a crash the process that asked is gone: its sync never completes.
        if (generation !== this.generation) return;
        if (upTo > this.durableEnd) this.durableEnd = upTo;
        resolve();
      });
    });
  }

  async compact(upToIndex: number): Promise<void> {
    if (!Number.isSafeInteger(upToIndex) || upToIndex < 0) {
      throw new InvalidArgumentError(`compaction index ${upToIndex} is not a non-negative safe integer`);
    }
    this.assertOpen();
    // Like the file WAL, never drop the only hard state record: write it again at the end.
    const lastHardState = this.lastHardStatePosition();
    if (this.hardState !== null && lastHardState >= 0 && lastHardState < this.records.length - 1) {
      this.write({ kind: 'hardState', hardState: this.hardState });
    }
    await this.sync();
    // Drop a durable prefix whose entries are all covered, stopping at the last hard state.
    let limit = this.durableEnd - this.dropped;
    const hardStatePosition = this.lastHardStatePosition();
    if (hardStatePosition >= 0) limit = Math.min(limit, hardStatePosition);
    let count = 0;
    while (count < limit && (this.records[count]?.entryIndex ?? Infinity) <= upToIndex) count++;
    this.records.splice(0, count);
    this.dropped += count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync();
    this.closed = true;
  }

  /** What recovery would return from the durable records now. Changes nothing. */
  recovery(): WalRecovery {
    return this.recoverFrom(this.durableFrames()).recovery;
  }

  /**
   * A power loss: only durable records survive (plus, with tornTail, half of the
   * first record that was not, which recovery cuts with a warning). The instance
   * becomes that recovered state, open again, as the restarted node finds it.
   * Syncs still pending never complete.
   */
  crash(options: CrashOptions = {}): WalRecovery {
    const frames = this.durableFrames();
    const firstUnsynced = this.records[this.durableEnd - this.dropped];
    if (options.tornTail && firstUnsynced !== undefined) {
      frames.push(firstUnsynced.frame.subarray(0, Math.floor(firstUnsynced.frame.length / 2)));
    }
    const { recovery, records } = this.recoverFrom(frames);
    this.generation++;
    this.records = records;
    this.durableEnd = this.dropped + records.length;
    this.bounds = LogBounds.of(recovery.entries);
    this.hardState = recovery.hardState;
    this.closed = false;
    return recovery;
  }

  // -------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the local WAL is closed');
  }

  private write(record: WalRecord): void {
    this.records.push(stored(encodeWalRecord(record), record));
  }

  private lastHardStatePosition(): number {
    for (let i = this.records.length - 1; i >= 0; i--) {
      if (this.records[i]?.isHardState) return i;
    }
    return -1;
  }

  private durableFrames(): Uint8Array[] {
    return this.records.slice(0, this.durableEnd - this.dropped).map((r) => r.frame);
  }

  /** Recovers the concatenated frames with the file WAL's rules, as one last segment. */
  private recoverFrom(frames: readonly Uint8Array[]): { recovery: WalRecovery; records: StoredRecord[] } {
    const bytes = concat(frames);
    const scan = scanSegment(bytes, 0, MEMORY_WAL_NAME, true);
    const replay = new WalReplay();
    const records: StoredRecord[] = [];
    for (const { record, offset, end } of scan.records) {
      replay.apply(record, MEMORY_WAL_NAME, offset);
      records.push(stored(bytes.slice(offset, end), record));
    }
    const warnings: string[] = [];
    if (scan.tornTail !== null) {
      const { offset, reason } = scan.tornTail;
      warnings.push(`cut torn tail of ${MEMORY_WAL_NAME} at offset ${offset} (${bytes.length - offset} bytes dropped): ${reason}`);
    }
    return { recovery: replay.result(warnings), records };
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
