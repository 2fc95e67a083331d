// The contract of the local write-ahead log.
//
// ZooKeeper, not the local disk, makes a write durable: the local WAL exists so a
// restarted node does not have to fetch its whole log from ZooKeeper again. It holds
// log entries, truncation marks and the hard state. Two implementations: the file
// WAL (file-wal.ts) and an in-memory twin for tests and the simulator (memory-wal.ts).
import type { Entry, HardState } from '../core/types.js';

/** What a restart finds in the local WAL. */
export interface WalRecovery {
  /** Last hard state record, or null if none. */
  readonly hardState: HardState | null;
  /** The surviving log after applying truncation marks: contiguous, ascending index. */
  readonly entries: Entry[];
  /** Human-readable warnings (e.g. a torn tail that was cut). */
  readonly warnings: string[];
}

export interface LocalWal {
  /**
   * Appends entries (in order). Buffered: durable once a later sync() resolves.
   *
   * Each entry's index must be one past the last entry still in the log (any index
   * when the log is empty), otherwise InvalidArgumentError and nothing is written.
   * To replace entries, call truncateFrom first; to restart the log at a new index
   * (after installing a snapshot), truncateFrom(1) empties it.
   */
  appendEntries(entries: readonly Entry[]): void;
  /** Writes a truncation mark: every entry with index >= fromIndex written before is void. */
  truncateFrom(fromIndex: number): void;
  setHardState(hs: HardState): void;
  /** Writes what is buffered and fsyncs. Concurrent calls share fsyncs (group commit): a call resolves once everything buffered before it is durable. */
  sync(): Promise<void>;
  /** Drops whole segment files whose entries all have index <= upToIndex (after a snapshot covers them). Keeps the hard state recoverable. */
  compact(upToIndex: number): Promise<void>;
  /** Syncs and closes. */
  close(): Promise<void>;
}
