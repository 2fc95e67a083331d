// The bound on the held suffix (src/core/held-suffix.ts), without a whole core: at most
// maxHeldEntries entries and maxHeldBytes bytes past the commit index, counting what the log
// already holds there; 'full' when entries were cut short, until reopen(); and the count of
// what is held resumes from the last one only while the chain value at its end is unchanged.
import { describe, expect, it } from 'vitest';
import { type Entry, EntryType } from '../../../src/core/types.js';
import { HeldSuffix, type HeldLog } from '../../../src/core/held-suffix.js';

function entry(index: number, bytes: number): Entry {
  return { index, term: 2, type: EntryType.Normal, data: new Uint8Array(bytes) };
}

/** A log of entries with a chain value each, counting the entries read. */
class FakeLog implements HeldLog {
  readonly entries = new Map<number, { e: Entry; chain: Uint8Array }>();
  reads = 0;
  put(e: Entry, chainByte: number): void {
    this.entries.set(e.index, { e, chain: new Uint8Array([chainByte]) });
  }
  entry(index: number): Entry | undefined {
    this.reads++;
    return this.entries.get(index)?.e;
  }
  chain(index: number): Uint8Array | undefined {
    return this.entries.get(index)?.chain;
  }
}

function run(from: number, n: number, bytes: number): Entry[] {
  return Array.from({ length: n }, (_, k) => entry(from + k, bytes));
}

describe('HeldSuffix', () => {
  it('takes at most maxHeldEntries past the commit index, and says it was cut short', () => {
    const log = new FakeLog();
    for (let i = 1; i <= 12; i++) log.put(entry(i, 1), i);
    const held = new HeldSuffix({ maxHeldEntries: 5, maxHeldBytes: 1 << 20 }, log);
    expect(held.room(10, 12, run(13, 8, 1))).toBe(3);
    expect(held.full).toBe(true);
    expect(held.room(10, 15, run(16, 1, 1))).toBe(0);
    held.reopen();
    expect(held.full).toBe(false);
    expect(held.room(10, 11, run(12, 2, 1))).toBe(2);
    expect(held.full).toBe(false);
  });

  it('takes at most maxHeldBytes of entry data past the commit index, counting what the log holds there', () => {
    const log = new FakeLog();
    for (let i = 1; i <= 12; i++) log.put(entry(i, 10), i);
    const held = new HeldSuffix({ maxHeldEntries: 1000, maxHeldBytes: 55 }, log);
    // (10, 12] holds 20 bytes already: three more of 10 fit (50), a fourth would not (60).
    expect(held.room(10, 12, run(13, 5, 10))).toBe(3);
    expect(held.full).toBe(true);
    // Nothing held past a higher commit index: five fit.
    expect(held.room(12, 12, run(13, 6, 10))).toBe(5);
  });

  it('resumes its count from the last one while the chain value there is unchanged, and counts afresh when it changed', () => {
    const log = new FakeLog();
    for (let i = 1; i <= 100; i++) log.put(entry(i, 10), i);
    const held = new HeldSuffix({ maxHeldEntries: 1000, maxHeldBytes: 1 << 20 }, log);
    held.room(0, 90, run(91, 1, 10));
    log.reads = 0;
    held.room(0, 95, run(96, 1, 10));
    expect(log.reads).toBe(5);
    // The suffix was replaced (a truncation and other entries): same indexes, other chain and sizes.
    for (let i = 50; i <= 100; i++) log.put(entry(i, 100), 200 + i);
    log.reads = 0;
    // (0, 95] now holds 49 * 10 + 46 * 100 = 5090 bytes: with a bound of 5100 one more of 10 fits, not two.
    const tight = new HeldSuffix({ maxHeldEntries: 1000, maxHeldBytes: 5100 }, log);
    expect(tight.room(0, 95, run(96, 2, 10))).toBe(1);
    expect(held.room(0, 96, [])).toBe(0);
    expect(log.reads).toBe(95 + 96);
  });
});
