// Replaying WAL records into the surviving log and hard state. Pure.
//
// Records apply in write order: an entry extends the log, a truncation mark voids
// every entry at or above its index that was written before it, and the last hard
// state wins. The log must stay contiguous; the first entry may start at any index
// because the segments before it may have been compacted away.
import { CorruptWalError } from '../common/errors.js';
import type { Entry, HardState } from '../core/types.js';
import type { WalRecovery } from './local-wal.js';
import type { WalRecord } from './wal-record.js';

export class WalReplay {
  private readonly entries: Entry[] = [];
  private hardState: HardState | null = null;

  /** @throws CorruptWalError (naming file and offset) for an entry that breaks contiguity */
  apply(record: WalRecord, file: string, offset: number): void {
    switch (record.kind) {
      case 'entry':
        this.appendEntry(record.entry, file, offset);
        return;
      case 'truncate':
        this.truncateFrom(record.fromIndex);
        return;
      case 'hardState':
        this.hardState = record.hardState;
        return;
    }
  }

  result(warnings: readonly string[]): WalRecovery {
    return { hardState: this.hardState, entries: [...this.entries], warnings: [...warnings] };
  }

  private appendEntry(entry: Entry, file: string, offset: number): void {
    const last = this.entries.at(-1);
    if (last !== undefined && entry.index !== last.index + 1) {
      throw new CorruptWalError(file, offset, `entry index ${entry.index} does not follow the last entry ${last.index}`);
    }
    this.entries.push(entry);
  }

  private truncateFrom(fromIndex: number): void {
    const first = this.entries[0];
    if (first === undefined) return;
    // Contiguous and ascending: entries at positions >= fromIndex - first.index go.
    const keep = Math.max(0, fromIndex - first.index);
    if (keep < this.entries.length) this.entries.length = keep;
  }
}
