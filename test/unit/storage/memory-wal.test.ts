import { describe, expect, it } from 'vitest';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import { entries, entry, summary } from './wal-test-helpers.js';

/** Lets every queued microtask (and the ones they queue) run. */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('MemoryWal', () => {
  it('loses what was not synced in a crash', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 3, 1));
    wal.setHardState({ term: 1, commit: 2 });
    await wal.sync();
    wal.appendEntries(entries(4, 5, 1));
    wal.setHardState({ term: 2, commit: 5 });
    expect(wal.recordCount).toBe(7);
    expect(wal.durableRecordCount).toBe(4);

    const recovery = wal.crash();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
    expect(recovery.hardState).toEqual({ term: 1, commit: 2 });
    expect(recovery.warnings).toEqual([]);
    expect(wal.recordCount).toBe(4);
  });

  it('makes records durable only when the sync completes, and never completes a sync cut by a crash', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 2, 1));
    let completed = false;
    void wal.sync().then(() => {
      completed = true;
    });
    expect(wal.durableRecordCount).toBe(0);
    const recovery = wal.crash();
    expect(recovery.entries).toEqual([]);
    await drainMicrotasks();
    expect(completed).toBe(false);
    expect(wal.durableRecordCount).toBe(0);
  });

  it('cuts a torn tail left by a crash, with a warning, and goes on from there', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 3, 1));
    await wal.sync();
    wal.appendEntries(entries(4, 6, 1));

    const recovery = wal.crash({ tornTail: true });
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
    expect(recovery.warnings).toHaveLength(1);
    expect(recovery.warnings[0]).toMatch(/^cut torn tail of memory-wal at offset \d+ \(\d+ bytes dropped\): record of \d+ bytes runs past the end/);

    // The recovered log takes the next entry at 4, and recovers cleanly again.
    wal.appendEntries([entry(4, 2)]);
    await wal.sync();
    const again = wal.crash({ tornTail: true });
    expect(again.warnings).toEqual([]);
    expect(summary(again.entries)).toEqual([...summary(entries(1, 3, 1)), ...summary([entry(4, 2)])]);
  });

  it('holds hard state and truncation records to the same rule: unsynced ones are lost, a torn one is cut', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 4, 1));
    wal.setHardState({ term: 1, commit: 3 });
    await wal.sync();
    // A newer term and commit, and a truncation that overwrites entries 3-4: none synced.
    wal.setHardState({ term: 2, commit: 4 });
    wal.truncateFrom(3);
    wal.appendEntries([entry(3, 2)]);

    const torn = wal.crash({ tornTail: true });
    expect(torn.hardState).toEqual({ term: 1, commit: 3 });
    expect(summary(torn.entries)).toEqual(summary(entries(1, 4, 1)));
    expect(torn.warnings).toHaveLength(1);
    expect(torn.warnings[0]).toMatch(/^cut torn tail of memory-wal/);
  });

  it('reports what recovery would see without changing anything', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 2, 1));
    await wal.sync();
    wal.appendEntries([entry(3, 1)]);
    expect(summary(wal.recovery().entries)).toEqual(summary(entries(1, 2, 1)));
    await wal.sync();
    expect(summary(wal.recovery().entries)).toEqual(summary(entries(1, 3, 1)));
  });

  it('lets the simulator decide when syncs complete, sharing completions', async () => {
    const completions: Array<() => void> = [];
    const wal = new MemoryWal({ scheduleSync: (complete) => completions.push(complete) });
    wal.appendEntries([entry(1, 1)]);
    const first = wal.sync();
    wal.appendEntries([entry(2, 1)]);
    const second = wal.sync();
    expect(completions).toHaveLength(2);
    // Completing the later one first makes both entries durable.
    completions[1]?.();
    await second;
    expect(wal.durableRecordCount).toBe(2);
    completions[0]?.();
    await first;
    expect(wal.durableRecordCount).toBe(2);
    expect(summary(wal.crash().entries)).toEqual(summary(entries(1, 2, 1)));
  });

  it('compacts a prefix of covered entries, keeping the hard state', async () => {
    const wal = new MemoryWal();
    wal.setHardState({ term: 1, commit: 8 });
    wal.appendEntries(entries(1, 10, 1));
    await wal.compact(6);
    // The hard state was written again after entry 10; entries 1..6 went.
    expect(wal.recordCount).toBe(5);
    const recovery = wal.crash();
    expect(recovery.hardState).toEqual({ term: 1, commit: 8 });
    expect(summary(recovery.entries)).toEqual(summary(entries(7, 10, 1)));
  });

  it('applies truncation marks written after compaction', async () => {
    const wal = new MemoryWal();
    wal.appendEntries(entries(1, 10, 1));
    await wal.compact(4);
    wal.truncateFrom(8);
    wal.appendEntries(entries(8, 9, 2));
    await wal.close();
    expect(summary(wal.crash().entries)).toEqual([...summary(entries(5, 7, 1)), ...summary(entries(8, 9, 2))]);
  });

  it('is deterministic: the same operations give the same recovery', async () => {
    async function run() {
      const wal = new MemoryWal();
      for (let i = 1; i <= 20; i += 4) {
        wal.appendEntries(entries(i, i + 3, i));
        if (i % 8 === 1) await wal.sync();
        wal.setHardState({ term: i, commit: i });
      }
      return wal.crash({ tornTail: true });
    }
    const a = await run();
    const b = await run();
    expect(summary(a.entries)).toEqual(summary(b.entries));
    expect(a.hardState).toEqual(b.hardState);
    expect(a.warnings).toEqual(b.warnings);
    expect(a.warnings).toHaveLength(1);
  });
});
