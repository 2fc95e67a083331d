// The same behaviour asked of both implementations of LocalWal.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnavailableError } from '../../../src/common/errors.js';
import { EntryType } from '../../../src/core/types.js';
import { openFileWal } from '../../../src/storage/file-wal.js';
import type { LocalWal, WalRecovery } from '../../../src/storage/local-wal.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import { entries, entry, makeTempDir, summary, type TempDir } from './wal-test-helpers.js';

interface Subject {
  readonly wal: LocalWal;
  /** Closes the WAL and opens it again: what a clean restart recovers. */
  restart(): Promise<{ wal: LocalWal; recovery: WalRecovery }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fileSubject(): Promise<Subject> {
  const dir: TempDir = await makeTempDir();
  cleanups.push(dir.remove);
  const { wal } = await openFileWal(dir.path);
  let current = wal;
  cleanups.push(() => current.close().catch(() => undefined));
  return {
    wal,
    async restart() {
      await current.close();
      const reopened = await openFileWal(dir.path);
      current = reopened.wal;
      return reopened;
    },
  };
}

async function memorySubject(): Promise<Subject> {
  const wal = new MemoryWal();
  return {
    wal,
    async restart() {
      await wal.close();
      return { wal, recovery: wal.crash() };
    },
  };
}

describe.each([
  ['file WAL', fileSubject],
  ['memory WAL', memorySubject],
])('%s', (_name, makeSubject) => {
  it('recovers nothing from a fresh log', async () => {
    const { restart } = await makeSubject();
    const { recovery } = await restart();
    expect(recovery).toEqual({ hardState: null, entries: [], warnings: [] });
  });

  it('recovers entries and the last hard state exactly', async () => {
    const { wal, restart } = await makeSubject();
    wal.setHardState({ term: 1, commit: 0 });
    wal.appendEntries([{ index: 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) }, ...entries(2, 5, 1)]);
    wal.setHardState({ term: 2, commit: 4 });
    await wal.sync();
    const { recovery } = await restart();
    expect(recovery.hardState).toEqual({ term: 2, commit: 4 });
    expect(recovery.entries.map((e) => e.type)).toEqual([EntryType.Noop, EntryType.Normal, EntryType.Normal, EntryType.Normal, EntryType.Normal]);
    expect(summary(recovery.entries)).toEqual([[1, 1, ''], ...summary(entries(2, 5, 1))]);
    expect(recovery.warnings).toEqual([]);
  });

  it('keeps appending after a restart', async () => {
    const { wal, restart } = await makeSubject();
    wal.appendEntries(entries(1, 3, 1));
    const first = await restart();
    first.wal.appendEntries(entries(4, 6, 2));
    const second = await restart();
    expect(summary(second.recovery.entries)).toEqual([...summary(entries(1, 3, 1)), ...summary(entries(4, 6, 2))]);
  });

  it('applies truncation marks: 1..10, truncate from 6, new 6..8 of a later term', async () => {
    const { wal, restart } = await makeSubject();
    wal.appendEntries(entries(1, 10, 1));
    await wal.sync();
    wal.truncateFrom(6);
    wal.appendEntries(entries(6, 8, 2));
    const { recovery } = await restart();
    expect(summary(recovery.entries)).toEqual([...summary(entries(1, 5, 1)), ...summary(entries(6, 8, 2))]);
  });

  it('can empty the log and restart it at a new index', async () => {
    const { wal, restart } = await makeSubject();
    wal.appendEntries(entries(1, 4, 1));
    wal.truncateFrom(1);
    wal.appendEntries(entries(100, 101, 3));
    wal.truncateFrom(500); // beyond the end: no effect
    const { recovery } = await restart();
    expect(summary(recovery.entries)).toEqual(summary(entries(100, 101, 3)));
  });

  it('refuses a gap or an overlap without a truncation mark, writing nothing of the batch', async () => {
    const { wal, restart } = await makeSubject();
    wal.appendEntries(entries(1, 2, 1));
    expect(() => wal.appendEntries([entry(3, 1), entry(5, 1)])).toThrow(InvalidArgumentError);
    expect(() => wal.appendEntries([entry(2, 2)])).toThrow(/where 3 was expected/);
    wal.appendEntries([entry(3, 1)]);
    const { recovery } = await restart();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
  });

  it('refuses work after close', async () => {
    const { wal } = await makeSubject();
    await wal.close();
    await wal.close(); // idempotent
    expect(() => wal.appendEntries([entry(1, 1)])).toThrow(UnavailableError);
    expect(() => wal.setHardState({ term: 1, commit: 0 })).toThrow(UnavailableError);
    await expect(wal.sync()).rejects.toThrow(UnavailableError);
  });

  it('keeps the entries above the compaction point and the hard state', async () => {
    const { wal, restart } = await makeSubject();
    wal.setHardState({ term: 1, commit: 30 });
    for (let i = 1; i <= 40; i += 10) {
      wal.appendEntries(entries(i, i + 9, 1));
      await wal.sync();
    }
    await wal.compact(30);
    const { recovery } = await restart();
    expect(recovery.hardState).toEqual({ term: 1, commit: 30 });
    const last = recovery.entries.at(-1);
    expect(last?.index).toBe(40);
    // Whatever compaction kept is contiguous and includes everything above 30.
    const first = recovery.entries[0]?.index ?? 0;
    expect(first).toBeLessThanOrEqual(31);
    expect(recovery.entries.map((e) => e.index)).toEqual(Array.from({ length: 40 - first + 1 }, (_, k) => first + k));
  });
});
