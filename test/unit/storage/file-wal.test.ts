import { appendFile, cp, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CorruptWalError } from '../../../src/common/errors.js';
import type { Logger } from '../../../src/common/logger.js';
import type { Entry } from '../../../src/core/types.js';
import { openFileWal, wipeWalDir } from '../../../src/storage/file-wal.js';
import type { LocalWal } from '../../../src/storage/local-wal.js';
import { encodeSegmentHeader, encodeWalRecord, SEGMENT_HEADER_BYTES } from '../../../src/storage/wal-record.js';
import { entries, entry, makeTempDir, summary, type TempDir } from './wal-test-helpers.js';

let dir: TempDir;
const openWals: LocalWal[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  for (const wal of openWals.splice(0)) await wal.close().catch(() => undefined);
  await dir.remove();
});

async function open(options: { segmentBytes?: number; logger?: Logger } = {}) {
  const opened = await openFileWal(dir.path, options);
  openWals.push(opened.wal);
  return opened;
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir.path)).filter((name) => /^wal-\d{16}\.log$/.test(name)).sort();
}

async function onlySegment(): Promise<string> {
  const files = await segmentFiles();
  expect(files).toHaveLength(1);
  return join(dir.path, files[0] ?? '');
}

/** Offsets of the records of a segment written by `writes` as one file, in order. */
function recordOffsets(list: readonly Entry[]): number[] {
  const offsets: number[] = [];
  let at = SEGMENT_HEADER_BYTES;
  for (const e of list) {
    offsets.push(at);
    at += encodeWalRecord({ kind: 'entry', entry: e }).length;
  }
  return offsets;
}

/** A logger that keeps its lines, to check what recovery warned about. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function writeEntriesAndClose(list: readonly Entry[], options: { segmentBytes?: number } = {}): Promise<void> {
  const { wal } = await open(options);
  wal.appendEntries(list);
  await wal.close();
}

async function expectCorrupt(file: string, offset: number): Promise<CorruptWalError> {
  const error = await open().then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(CorruptWalError);
  if (!(error instanceof CorruptWalError)) throw new Error('unreachable');
  expect(error.code).toBe('CORRUPT_WAL');
  expect(error.file).toBe(file);
  expect(error.offset).toBe(offset);
  expect(error.message).toContain(`${file} at offset ${offset}`);
  return error;
}

describe('file WAL layout', () => {
  it('creates a missing directory with one empty segment', async () => {
    const nested = join(dir.path, 'a', 'b');
    const { wal, recovery } = await openFileWal(nested);
    openWals.push(wal);
    expect(recovery).toEqual({ hardState: null, entries: [], warnings: [] });
    // The segment, and the sync mark that says what the last sync made durable.
    expect((await readdir(nested)).sort()).toEqual(['wal-0000000000000001.log', 'wal-synced.mark']);
    expect((await stat(join(nested, 'wal-0000000000000001.log'))).size).toBe(SEGMENT_HEADER_BYTES);
  });

  it('writes the header and then exactly the framed records', async () => {
    const list = entries(1, 3, 1);
    await writeEntriesAndClose(list);
    const bytes = await readFile(await onlySegment());
    const expected = Buffer.concat([encodeSegmentHeader(1), ...list.map((e) => encodeWalRecord({ kind: 'entry', entry: e }))]);
    expect(bytes.equals(expected)).toBe(true);
  });

  it('rolls to new segments and recovers across all of them', async () => {
    const { wal } = await open({ segmentBytes: 256 });
    for (let i = 1; i <= 200; i += 5) {
      wal.appendEntries(entries(i, i + 4, 1 + Math.floor(i / 50)));
      await wal.sync();
    }
    wal.setHardState({ term: 4, commit: 190 });
    await wal.close();

    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(10);
    expect(files).toEqual(files.map((_, k) => `wal-${String(k + 1).padStart(16, '0')}.log`));
    for (const name of files.slice(0, -1)) {
      expect((await stat(join(dir.path, name))).size).toBeGreaterThanOrEqual(256);
    }
    const { recovery } = await open({ segmentBytes: 256 });
    const expected: Entry[] = [];
    for (let i = 1; i <= 200; i += 5) expected.push(...entries(i, i + 4, 1 + Math.floor(i / 50)));
    expect(summary(recovery.entries)).toEqual(summary(expected));
    expect(recovery.hardState).toEqual({ term: 4, commit: 190 });
    expect(recovery.warnings).toEqual([]);
  });

  it('deletes a leftover temporary segment with a warning', async () => {
    await writeEntriesAndClose(entries(1, 2, 1));
    await writeFile(join(dir.path, 'wal-0000000000000002.log.tmp'), 'DRW');
    const { recovery } = await open();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 2, 1)));
    expect(recovery.warnings).toEqual([`deleted unfinished segment file ${join(dir.path, 'wal-0000000000000002.log.tmp')}`]);
    expect(await segmentFiles()).toEqual(['wal-0000000000000001.log']);
  });
});

describe('file WAL torn tail', () => {
  it('cuts a record chopped short at the end, warns naming file and offset, and keeps the rest', async () => {
    const list = entries(1, 5, 1);
    await writeEntriesAndClose(list);
    const file = await onlySegment();
    const size = (await stat(file)).size;
    await truncate(file, size - 3);
    const lastOffset = recordOffsets(list)[4];

    const { logger, lines } = capturingLogger();
    const { wal, recovery } = await open({ logger });
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 4, 1)));
    expect(recovery.warnings).toHaveLength(1);
    expect(recovery.warnings[0]).toContain(`cut torn tail of ${file} at offset ${lastOffset}`);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(recovery.warnings);
    expect((await stat(file)).size).toBe(lastOffset);

    // The cut is permanent and the log goes on from entry 4.
    wal.appendEntries([entry(5, 2)]);
    await wal.close();
    const again = await open();
    expect(again.recovery.warnings).toEqual([]);
    expect(summary(again.recovery.entries)).toEqual([...summary(entries(1, 4, 1)), ...summary([entry(5, 2)])]);
  });

  it('cuts a partial record appended after the last good one', async () => {
    await writeEntriesAndClose(entries(1, 3, 1));
    const file = await onlySegment();
    const goodSize = (await stat(file)).size;
    const next = encodeWalRecord({ kind: 'entry', entry: entry(4, 1) });
    await appendFile(file, next.subarray(0, next.length - 5));
    const { recovery } = await open();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
    expect(recovery.warnings[0]).toContain(`at offset ${goodSize}`);
    expect((await stat(file)).size).toBe(goodSize);
  });

  it('cuts a tail of zeros (space allocated, data never written)', async () => {
    await writeEntriesAndClose(entries(1, 3, 1));
    const file = await onlySegment();
    const goodSize = (await stat(file)).size;
    await appendFile(file, new Uint8Array(4096));
    const { recovery } = await open();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
    expect(recovery.warnings).toHaveLength(1);
    expect(recovery.warnings[0]).toContain(`at offset ${goodSize}`);
  });

  it('cuts a complete last record whose checksum fails when nothing follows it', async () => {
    const list = entries(1, 3, 1);
    await writeEntriesAndClose(list);
    const file = await onlySegment();
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0x40;
    await writeFile(file, bytes);
    const { recovery } = await open();
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 2, 1)));
    expect(recovery.warnings[0]).toMatch(new RegExp(`at offset ${recordOffsets(list)[2]} .*checksum mismatch`));
  });

  it('deletes a last segment too short to hold its header', async () => {
    // segmentBytes 1: every flush after the first goes to a new segment.
    await writeEntriesAndClose(entries(1, 3, 1), { segmentBytes: 1 });
    // The entries were written in one flush: one segment. Add a second, stub one.
    await writeFile(join(dir.path, 'wal-0000000000000002.log'), encodeSegmentHeader(2).subarray(0, 5));
    const { wal, recovery } = await open({ segmentBytes: 1 });
    expect(summary(recovery.entries)).toEqual(summary(entries(1, 3, 1)));
    expect(recovery.warnings).toEqual([expect.stringMatching(/deleted last segment .*wal-0000000000000002\.log: 5 bytes/)]);
    // The sequence is reused, so no gap appears.
    wal.appendEntries([entry(4, 1)]);
    await wal.sync();
    wal.appendEntries([entry(5, 1)]);
    await wal.close();
    expect(await segmentFiles()).toEqual(['wal-0000000000000001.log', 'wal-0000000000000002.log', 'wal-0000000000000003.log']);
    expect(summary((await open()).recovery.entries)).toEqual(summary(entries(1, 5, 1)));
  });
});

describe('file WAL corruption', () => {
  it('reports a flipped byte in an early record, with later records after it, naming file and offset', async () => {
    const list = entries(1, 10, 1);
    await writeEntriesAndClose(list);
    const file = await onlySegment();
    const bytes = await readFile(file);
    const offset = recordOffsets(list)[1] ?? 0;
    bytes[offset + 12] ^= 0x01;
    await writeFile(file, bytes);
    const error = await expectCorrupt(file, offset);
    expect(error.message).toMatch(/checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\); a valid record follows at offset \d+/);
    // Nothing was cut.
    expect((await stat(file)).size).toBe(bytes.length);
  });

  it('reports a length field damaged to point past the end while records follow', async () => {
    const list = entries(1, 10, 1);
    await writeEntriesAndClose(list);
    const file = await onlySegment();
    const bytes = await readFile(file);
    const offset = recordOffsets(list)[3] ?? 0;
    bytes.writeUInt32LE(1_000_000, offset);
    await writeFile(file, bytes);
    const error = await expectCorrupt(file, offset);
    expect(error.message).toMatch(/runs past the end/);
  });

  it('reports damage at the end of a segment that is not the last', async () => {
    const { wal } = await open({ segmentBytes: 128 });
    for (let i = 1; i <= 20; i += 2) {
      wal.appendEntries(entries(i, i + 1, 1));
      await wal.sync();
    }
    await wal.close();
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(2);
    const second = join(dir.path, files[1] ?? '');
    const size = (await stat(second)).size;
    await truncate(second, size - 2);
    const error = await expectCorrupt(second, recordOffsetsOfFile(await readFile(second)).at(-1) ?? -1);
    expect(error.message).toMatch(/not the last one/);
  });

  it('reports a missing segment between two others', async () => {
    const { wal } = await open({ segmentBytes: 1 });
    for (let i = 1; i <= 4; i++) {
      wal.appendEntries([entry(i, 1)]);
      await wal.sync();
    }
    await wal.close();
    expect(await segmentFiles()).toHaveLength(4);
    await unlink(join(dir.path, 'wal-0000000000000002.log'));
    const error = await expectCorrupt(join(dir.path, 'wal-0000000000000003.log'), 0);
    expect(error.message).toMatch(/segment 2 is missing/);
  });

  it('reports a foreign file with a segment name', async () => {
    await writeFile(join(dir.path, 'wal-0000000000000001.log'), 'this is a text file that is not a WAL segment\n');
    const error = await expectCorrupt(join(dir.path, 'wal-0000000000000001.log'), 0);
    expect(error.message).toMatch(/bad magic/);
  });

  it('reports a header whose sequence disagrees with the file name', async () => {
    await writeFile(join(dir.path, 'wal-0000000000000001.log'), encodeSegmentHeader(7));
    await expectCorrupt(join(dir.path, 'wal-0000000000000001.log'), 0);
  });

  it('can be wiped (WAL files only) so the node starts over', async () => {
    await writeFile(join(dir.path, 'wal-0000000000000001.log'), 'garbage that is not a WAL segment');
    await writeFile(join(dir.path, 'notes.txt'), 'kept');
    await expect(open()).rejects.toThrow(CorruptWalError);
    await writeFile(join(dir.path, 'wal-0000000000000002.log.tmp'), 'x');
    expect(await wipeWalDir(dir.path)).toBe(2);
    expect(await readdir(dir.path)).toEqual(['notes.txt']);
    expect((await open()).recovery).toEqual({ hardState: null, entries: [], warnings: [] });
    expect(await wipeWalDir(join(dir.path, 'missing'))).toBe(0);
  });

  it('reports entries that are not contiguous', async () => {
    const file = join(dir.path, 'wal-0000000000000001.log');
    const records = [entry(5, 1), entry(6, 1), entry(8, 1)].map((e) => encodeWalRecord({ kind: 'entry', entry: e }));
    await writeFile(file, Buffer.concat([encodeSegmentHeader(1), ...records]));
    const offset = SEGMENT_HEADER_BYTES + (records[0]?.length ?? 0) + (records[1]?.length ?? 0);
    const error = await expectCorrupt(file, offset);
    expect(error.message).toMatch(/entry index 8 does not follow the last entry 6/);
  });
});

/** Offsets of the records in a segment file, by walking its length fields. */
function recordOffsetsOfFile(bytes: Buffer): number[] {
  const offsets: number[] = [];
  let at = SEGMENT_HEADER_BYTES;
  while (at + 8 <= bytes.length) {
    offsets.push(at);
    at += 8 + bytes.readUInt32LE(at);
  }
  return offsets;
}

describe('file WAL compaction', () => {
  it('deletes whole old segments, keeps the later entries and the hard state', async () => {
    const { wal } = await open({ segmentBytes: 256 });
    wal.setHardState({ term: 3, commit: 95 });
    for (let i = 1; i <= 100; i += 5) {
      wal.appendEntries(entries(i, i + 4, 3));
      await wal.sync();
    }
    const before = await segmentFiles();
    await wal.compact(60);
    const after = await segmentFiles();
    // A prefix went; the rest is untouched (rewriting the hard state may have started a new segment).
    const survivors = before.filter((name) => after.includes(name));
    expect(survivors.length).toBeLessThan(before.length - 3);
    expect(survivors).toEqual(before.slice(before.length - survivors.length));
    expect(after.slice(0, survivors.length)).toEqual(survivors);
    await wal.close();

    const { wal: reopened, recovery } = await open({ segmentBytes: 256 });
    expect(recovery.hardState).toEqual({ term: 3, commit: 95 });
    const first = recovery.entries[0]?.index ?? 0;
    expect(first).toBeGreaterThan(1);
    expect(first).toBeLessThanOrEqual(61);
    expect(summary(recovery.entries)).toEqual(summary(entries(first, 100, 3)));

    // Compacting everything keeps only the active segment, and still the hard state.
    await reopened.compact(100);
    expect(await segmentFiles()).toHaveLength(1);
    await reopened.close();
    const last = await open({ segmentBytes: 256 });
    expect(last.recovery.hardState).toEqual({ term: 3, commit: 95 });
    expect(last.recovery.warnings).toEqual([]);
    // The one segment left is the one the hard state was rewritten into, after entry 100.
    expect(last.recovery.entries).toEqual([]);
  });

  it('deletes nothing that holds an entry above the compaction point', async () => {
    const { wal } = await open({ segmentBytes: 1 });
    for (let i = 1; i <= 6; i++) {
      wal.appendEntries([entry(i, 1)]);
      await wal.sync();
    }
    const before = await segmentFiles();
    await wal.compact(0);
    expect(await segmentFiles()).toEqual(before);
    await wal.compact(2);
    expect(await segmentFiles()).toEqual(before.slice(2));
    await wal.close();
    expect(summary((await open()).recovery.entries)).toEqual(summary(entries(3, 6, 1)));
  });
});

describe('file WAL group commit', () => {
  /** Spies on FileHandle.datasync; the first call waits until release() is called. */
  async function gateFirstDatasync(file: string) {
    const fs = await import('node:fs/promises');
    const probe = await fs.open(file, 'r');
    const prototype: { datasync(): Promise<void> } = Object.getPrototypeOf(probe);
    await probe.close();
    const original = prototype.datasync;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = (): void => undefined;
    const firstStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    let calls = 0;
    const spy = vi.spyOn(prototype, 'datasync').mockImplementation(async function (this: unknown) {
      calls++;
      if (calls === 1) {
        started();
        await gate;
      }
      return original.call(this);
    });
    return { spy, release, firstStarted };
  }

  it('shares one fsync among syncs made while another is running, and makes everything durable', async () => {
    const { wal } = await open();
    const file = await onlySegment();
    const { spy, release, firstStarted } = await gateFirstDatasync(file);
    try {
      wal.appendEntries(entries(1, 10, 1));
      const settled: string[] = [];
      const first = wal.sync().then(() => void settled.push('first'));
      await firstStarted; // the flush of 1..10 is inside its fdatasync now
      const later: Array<Promise<void>> = [];
      for (let i = 11; i <= 100; i += 10) {
        wal.appendEntries(entries(i, i + 9, 1));
        later.push(wal.sync().then(() => void settled.push(`later ${i}`)));
      }
      later.push(wal.sync().then(() => void settled.push('last')));
      await Promise.resolve();
      expect(settled).toEqual([]);
      release();
      await Promise.all([first, ...later]);
      expect(settled[0]).toBe('first');
      expect(settled).toHaveLength(11);
      // One fsync for 1..10, one shared by everything appended while it ran.
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
    // Everything is in the file before close: recover a copy taken now.
    const copy = join(dir.path, 'copy');
    await cp(file, join(copy, 'wal-0000000000000001.log'));
    const recovered = await openFileWal(copy);
    openWals.push(recovered.wal);
    expect(summary(recovered.recovery.entries)).toEqual(summary(entries(1, 100, 1)));
  });

  it('covers appends made in the same tick with a single fsync', async () => {
    const { wal } = await open();
    const { spy, release } = await gateFirstDatasync(await onlySegment());
    release();
    try {
      const syncs: Array<Promise<void>> = [];
      for (let i = 1; i <= 50; i += 10) {
        wal.appendEntries(entries(i, i + 9, 1));
        syncs.push(wal.sync());
      }
      await Promise.all(syncs);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('resolves a sync made with nothing buffered at once, and one during a flush after it', async () => {
    const { wal } = await open();
    await wal.sync();
    wal.appendEntries(entries(1, 3, 1));
    const first = wal.sync();
    const second = wal.sync(); // nothing new buffered: rides on the running flush
    await Promise.all([first, second]);
    await wal.close();
    expect(summary((await open()).recovery.entries)).toEqual(summary(entries(1, 3, 1)));
  });
});
