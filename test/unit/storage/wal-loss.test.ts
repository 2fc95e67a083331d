// Issue 11 point 7: a WAL truncated to half was reported as "cut torn tail (5 bytes
// dropped)" while some 1,200 entries were gone. Recovery now says how many synced
// entries and bytes are gone, tells a torn record written after the last sync from
// synced data lost, and says when it cannot tell (no sync mark).
import { appendFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileWal } from '../../../src/storage/file-wal.js';
import { decodeSyncMark, encodeSyncMark, SYNC_MARK_FILE_NAME } from '../../../src/storage/sync-mark.js';
import { reportLoss } from '../../../src/storage/wal-loss-report.js';
import { encodeWalRecord } from '../../../src/storage/wal-record.js';
import { entries, entry, makeTempDir, type TempDir } from './wal-test-helpers.js';

let dir: TempDir;

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await dir.remove();
});

/** Writes entries 1..count in flushes of `per`, closes, and returns the segment files. */
async function writeWal(count: number, per: number, segmentBytes?: number): Promise<string[]> {
  const { wal } = await openFileWal(dir.path, segmentBytes ? { segmentBytes } : {});
  for (let i = 1; i <= count; i += per) {
    wal.appendEntries(entries(i, Math.min(count, i + per - 1), 1));
    await wal.sync();
  }
  await wal.close();
  return (await readdir(dir.path)).filter((n) => n.endsWith('.log')).sort().map((n) => join(dir.path, n));
}

async function recover() {
  const opened = await openFileWal(dir.path);
  await opened.wal.close();
  return opened.recovery;
}

describe('sync mark', () => {
  it('round-trips and refuses damaged bytes', () => {
    const mark = { sequence: 7, size: 2 ** 40 + 3, lastIndex: 2 ** 33 + 5 };
    const bytes = encodeSyncMark(mark);
    expect(decodeSyncMark(bytes)).toEqual(mark);
    for (const at of [0, 9, 20, 30, 34]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x01;
      expect(decodeSyncMark(bad)).toBeNull();
    }
    expect(decodeSyncMark(bytes.subarray(0, 20))).toBeNull();
  });
});

describe('WAL recovery reports what was lost', () => {
  it('a WAL truncated to half: says how many synced entries and bytes are gone, not just the torn record', async () => {
    const [file] = await writeWal(2400, 100);
    const size = (await stat(file!)).size;
    await truncate(file!, Math.floor(size / 2));

    const recovery = await recover();
    const last = recovery.entries.at(-1)?.index ?? 0;
    const cutAt = (await stat(file!)).size;
    expect(last).toBeGreaterThan(1000);
    expect(last).toBeLessThan(1400);
    expect(recovery.warnings).toHaveLength(1);
    const warning = recovery.warnings[0]!;
    expect(warning).toContain(`cut torn tail of ${file} at offset ${cutAt}`);
    expect(warning).toContain('the local WAL lost synced data');
    expect(warning).toContain(`held entries up to index 2400`);
    expect(warning).toContain(`now ends at index ${last}: ${2400 - last} synced entries (${size - cutAt} bytes) gone`);
  });

  it('a WAL cut exactly between two records (no torn record at all) is reported too', async () => {
    const [file] = await writeWal(50, 10);
    const size = (await stat(file!)).size;
    const record = encodeWalRecord({ kind: 'entry', entry: entry(50, 1) }).length;
    // Entries 41..50 have the same record length: cut the last ten whole records.
    await truncate(file!, size - 10 * record);
    const recovery = await recover();
    expect(recovery.entries.at(-1)?.index).toBe(40);
    expect(recovery.warnings).toEqual([expect.stringContaining(`now ends at index 40: 10 synced entries (${10 * record} bytes) gone`)]);
    expect(recovery.warnings[0]).not.toContain('torn tail');
  });

  it('a torn record written after the last sync: no synced entry was lost', async () => {
    const [file] = await writeWal(30, 10);
    const next = encodeWalRecord({ kind: 'entry', entry: entry(31, 1) });
    await appendFile(file!, next.subarray(0, 5));
    const recovery = await recover();
    expect(recovery.entries.at(-1)?.index).toBe(30);
    expect(recovery.warnings).toEqual([expect.stringMatching(/cut torn tail .*\(5 bytes dropped, one incomplete record: .*\); it was written after the last sync, so no synced entry was lost$/)]);
  });

  it('a missing last segment: says which, and how many entries', async () => {
    const files = await writeWal(40, 4, 200);
    expect(files.length).toBeGreaterThan(3);
    await unlink(files.at(-1)!);
    const recovery = await recover();
    const last = recovery.entries.at(-1)?.index ?? 0;
    expect(last).toBeLessThan(40);
    expect(recovery.warnings).toEqual([expect.stringContaining(`segment ${files.length}, which is missing now) and now ends at index ${last}: ${40 - last} synced entries gone`)]);
  });

  it('without a sync mark (or with a torn one) says it cannot tell', async () => {
    const [file] = await writeWal(2400, 100);
    await truncate(file!, Math.floor((await stat(file!)).size / 2));
    await writeFile(join(dir.path, SYNC_MARK_FILE_NAME), 'not a mark');
    const recovery = await recover();
    const last = recovery.entries.at(-1)?.index ?? 0;
    expect(recovery.warnings).toEqual([expect.stringMatching(new RegExp(`cut torn tail .*; the WAL has no sync mark, so it cannot tell whether synced entries after index ${last} were lost as well$`))]);
  });

  it('reports a loss once: the mark then describes what recovery kept', async () => {
    const [file] = await writeWal(100, 10);
    await truncate(file!, Math.floor((await stat(file!)).size / 2));
    expect((await recover()).warnings).toHaveLength(1);
    expect((await recover()).warnings).toEqual([]);
  });

  it('reportLoss: nothing to say when nothing was cut or lost', () => {
    const segments = [{ sequence: 3, path: '/w/3', size: 500 }];
    expect(reportLoss({ sequence: 3, size: 500, lastIndex: 9 }, { segments, lastIndex: 9, torn: null })).toBeNull();
    expect(reportLoss(null, { segments, lastIndex: 9, torn: null })).toBeNull();
    // A mark behind the data (a power loss lost the mark's last write): nothing lost.
    expect(reportLoss({ sequence: 2, size: 800, lastIndex: 7 }, { segments: [{ sequence: 2, path: '/w/2', size: 800 }, ...segments], lastIndex: 9, torn: null })).toBeNull();
  });
});
