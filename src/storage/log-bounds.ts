// The index range of the log a WAL writer has written so far, to refuse appends
// that recovery would reject (a gap, or an overlap without a truncation mark).
// It follows the same rules as WalReplay, without keeping the entries.
import { InvalidArgumentError } from '../common/errors.js';
import type { Entry } from '../core/types.js';

export class LogBounds {
  /** Index of the first entry; meaningless while empty. */
  private first = 0;
  /** Index of the last entry; 0 while empty. */
  private last = 0;

  static of(entries: readonly Entry[]): LogBounds {
    const bounds = new LogBounds();
    const first = entries[0];
    const last = entries.at(-1);
    if (first !== undefined && last !== undefined) {
      bounds.first = first.index;
      bounds.last = last.index;
    }
    return bounds;
  }

  /** The index of the last entry, or 0 when the log is empty. */
  get lastIndex(): number {
    return this.last;
  }

  /** @throws InvalidArgumentError if the entries do not extend the log contiguously */
  checkAppend(entries: readonly Entry[]): void {
    let expected = this.last === 0 ? null : this.last + 1;
    for (const entry of entries) {
      if (expected !== null && entry.index !== expected) {
        throw new InvalidArgumentError(
          `WAL append of entry ${entry.index} where ${expected} was expected: the log must stay contiguous (truncate first to replace entries)`,
        );
      }
      expected = entry.index + 1;
    }
  }

  append(entries: readonly Entry[]): void {
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) return;
    if (this.last === 0) this.first = first.index;
    this.last = last.index;
  }

  truncateFrom(fromIndex: number): void {
    if (this.last === 0 || fromIndex > this.last) return;
    if (fromIndex <= this.first) {
      this.first = 0;
      this.last = 0;
    } else {
      this.last = fromIndex - 1;
    }
  }
}
