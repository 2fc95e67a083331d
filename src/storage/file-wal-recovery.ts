// Recovery of the file WAL: reads the segment files of a directory in order and
// replays their records (see segment-scan.ts for the torn-tail rule and
// wal-replay.ts for how records apply).
//
// Repairs it makes, each with a warning: leftover temporary segment files are
// deleted, a torn tail of the last segment is cut off, and a last segment too
// short to hold its header is deleted. With `repair: false` (duoraft admin restore-zk
// reads a data folder it must not change) it reads the same and changes nothing: the
// warnings say what a node's start would repair. Everything else that is wrong throws
// CorruptWalError naming the file and offset; the node then rebuilds from ZooKeeper.
// The sync mark (sync-mark.ts) tells a torn record written after the last sync from
// synced data that is gone, and how many entries that was (wal-loss-report.ts).
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CorruptWalError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { WalRecovery } from './local-wal.js';
import { scanSegment } from './segment-scan.js';
import { readSyncMark } from './sync-mark.js';
import { reportLoss, type TornCut } from './wal-loss-report.js';
import { fsyncDir, isTempSegmentFileName, parseSegmentFileName } from './segment-files.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from './wal-record.js';
import { WalReplay } from './wal-replay.js';

/** What the writer needs to know about a segment that survived recovery. */
export interface RecoveredSegment {
  readonly sequence: number;
  readonly path: string;
  /** Valid bytes (after any cut); new records of the last segment go here. */
  readonly size: number;
  /** The highest entry index written into the segment (voided ones included), 0 if none. */
  readonly maxEntryIndex: number;
}

export interface FileWalRecovery {
  readonly recovery: WalRecovery;
  /** In write order. */
  readonly segments: RecoveredSegment[];
  /** The sequence of the segment holding the last hard state record, 0 if none. */
  readonly hardStateSequence: number;
}

export interface RecoverOptions {
  /** Make the repairs above (default true); false: change nothing on disk, only report. */
  readonly repair?: boolean;
}

export async function recoverWalDir(dir: string, logger: Logger, options: RecoverOptions = {}): Promise<FileWalRecovery> {
  const repair = options.repair ?? true;
  if (repair) await ensureDir(dir);
  else if (!(await isDirectory(dir))) return { recovery: { hardState: null, entries: [], warnings: [`no WAL folder ${dir}`] }, segments: [], hardStateSequence: 0 };
  const warnings: string[] = [];
  const warn = (message: string, fields: Record<string, unknown>): void => {
    warnings.push(message);
    logger.warn(fields, message);
  };

  const mark = await readSyncMark(dir);
  const names = await readdir(dir);
  const temps = names.filter(isTempSegmentFileName);
  for (const name of temps) {
    if (repair) await unlink(join(dir, name));
    warn(`${repair ? 'deleted' : 'ignored'} unfinished segment file ${join(dir, name)}`, { file: join(dir, name) });
  }
  if (temps.length > 0 && repair) await fsyncDir(dir);

  const found = names
    .map((name) => ({ name, sequence: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; sequence: number } => f.sequence !== null)
    .sort((a, b) => a.sequence - b.sequence);

  const replay = new WalReplay();
  const segments: RecoveredSegment[] = [];
  let hardStateSequence = 0;
  let torn: TornCut | null = null;

  for (const [position, { name, sequence }] of found.entries()) {
    const path = join(dir, name);
    const previous = found[position - 1];
    if (previous !== undefined && sequence !== previous.sequence + 1) {
      throw new CorruptWalError(path, 0, `segment ${previous.sequence + 1} is missing between ${previous.name} and ${name}`);
    }
    const isLast = position === found.length - 1;
    const bytes = await readFile(path);

    if (bytes.length < SEGMENT_HEADER_BYTES && isLast) {
      // Segments are created by rename after their header is durable, so this
      // only happens on file systems that do not keep that order; nothing after the
      // header can have been acknowledged.
      if (repair) {
        await unlink(path);
        await fsyncDir(dir);
      }
      warn(`${repair ? 'deleted' : 'ignored'} last segment ${path}: ${bytes.length} bytes, shorter than its header`, { file: path, size: bytes.length });
      continue;
    }
    const header = decodeSegmentHeader(bytes);
    if ('problem' in header) throw new CorruptWalError(path, 0, header.problem);
    if (header.sequence !== sequence) {
      throw new CorruptWalError(path, 0, `header holds segment sequence ${header.sequence}, the file name ${sequence}`);
    }

    const scan = scanSegment(bytes, SEGMENT_HEADER_BYTES, path, isLast);
    let maxEntryIndex = 0;
    for (const { record, offset } of scan.records) {
      replay.apply(record, path, offset);
      if (record.kind === 'entry') maxEntryIndex = Math.max(maxEntryIndex, record.entry.index);
      if (record.kind === 'hardState') hardStateSequence = sequence;
    }
    let size = bytes.length;
    if (scan.tornTail !== null) {
      size = scan.tornTail.offset;
      if (repair) await cutFile(path, size);
      torn = { path, offset: size, droppedBytes: bytes.length - size, reason: scan.tornTail.reason };
    }
    segments.push({ sequence, path, size, maxEntryIndex });
  }

  const recovered = replay.result([]);
  const lastIndex = recovered.entries.at(-1)?.index ?? 0;
  const loss = reportLoss(mark, { segments, lastIndex, torn });
  if (loss !== null) {
    warn(loss.message, {
      ...(torn ? { file: torn.path, offset: torn.offset, droppedBytes: torn.droppedBytes } : {}),
      lostEntries: loss.lostEntries,
      lostBytes: loss.lostBytes,
      lastIndex,
    });
  }
  return { recovery: { ...recovered, warnings }, segments, hardStateSequence };
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  // mkdir returns the first directory it created: make that entry durable in its parent.
  if (created !== undefined) await fsyncDir(dirname(created));
}

async function cutFile(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
