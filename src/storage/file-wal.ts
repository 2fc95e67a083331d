// The local WAL on disk: a directory of segment files (see wal-record.ts for the
// format and file-wal-recovery.ts for what opening one does).
//
// The hot path is cheap: appends only encode into an in-memory buffer; sync() writes
// everything buffered with one write and one fdatasync. One flush runs at a time;
// sync() calls that arrive meanwhile share the next flush, which takes everything
// buffered by the time it starts (group commit).
//
// A failed write or fsync leaves the file in an unknown state (and a later fsync may
// report success without the data), so after one the WAL refuses all further work:
// the node must restart and recover.
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InvalidArgumentError, UnavailableError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { Entry, HardState } from '../core/types.js';
import { recoverWalDir, type RecoveredSegment } from './file-wal-recovery.js';
import type { LocalWal, WalRecovery } from './local-wal.js';
import { LogBounds } from './log-bounds.js';
import { createSegmentFile, fsyncDir, isTempSegmentFileName, parseSegmentFileName, writeFully } from './segment-files.js';
import { SYNC_MARK_FILE_NAME, SyncMarkWriter } from './sync-mark.js';
import { encodeWalRecord, SEGMENT_HEADER_BYTES, type WalRecord } from './wal-record.js';

export interface FileWalOptions {
  /** Roll to a new segment once the current one holds this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  readonly logger?: Logger;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Keeps every segment readable into memory in one piece during recovery. */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
/** The most that may wait in memory for a sync(); the caller must sync more often. */
export const MAX_BUFFERED_BYTES = 512 * 1024 * 1024;

/**
 * Opens (creating if needed) the WAL in `dir` and recovers it.
 *
 * @throws CorruptWalError if a segment is damaged other than by a torn tail; the
 *   caller rebuilds the node from ZooKeeper (and may wipe the directory).
 */
export async function openFileWal(dir: string, options: FileWalOptions = {}): Promise<{ wal: LocalWal; recovery: WalRecovery }> {
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > MAX_SEGMENT_BYTES) {
    throw new ConfigError(`WAL segmentBytes must be an integer in 1..${MAX_SEGMENT_BYTES}, got ${segmentBytes}`);
  }
  const logger = options.logger ?? silentLogger;
  const { recovery, segments, hardStateSequence } = await recoverWalDir(dir, logger);

  let last = segments.at(-1);
  let handle: FileHandle;
  if (last === undefined) {
    const created = await createSegmentFile(dir, 1);
    handle = created.handle;
    last = { sequence: 1, path: created.path, size: SEGMENT_HEADER_BYTES, maxEntryIndex: 0 };
    segments.push(last);
  } else {
    handle = await open(last.path, 'r+');
  }
  logger.info(
    { dir, segments: segments.length, entries: recovery.entries.length, warnings: recovery.warnings.length },
    'local WAL recovered',
  );
  const bounds = LogBounds.of(recovery.entries);
  // The mark now describes what recovery kept (a cut, a loss, or an older WAL without
  // one), so the next recovery compares against this and not against what is gone.
  let mark: SyncMarkWriter;
  try {
    mark = await SyncMarkWriter.open(dir);
    await mark.writeDurably({ sequence: last.sequence, size: last.size, lastIndex: bounds.lastIndex });
  } catch (err) {
    await handle.close();
    throw err;
  }
  const wal = new FileWal(dir, segmentBytes, logger, segments, handle, mark, bounds, recovery.hardState, hardStateSequence);
  return { wal, recovery };
}

/**
 * Deletes the WAL files in `dir` (segments and unfinished ones; nothing else), for a
 * node that found its WAL corrupt and rebuilds from ZooKeeper. The WAL must not be open.
 * Returns how many files were deleted.
 */
export async function wipeWalDir(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return 0;
    throw err;
  }
  const walFiles = names.filter((name) => parseSegmentFileName(name) !== null || isTempSegmentFileName(name) || name === SYNC_MARK_FILE_NAME);
  for (const name of walFiles) await unlink(join(dir, name));
  if (walFiles.length > 0) await fsyncDir(dir);
  return walFiles.length;
}

/** A segment as the writer tracks it. */
interface SegmentState {
  readonly sequence: number;
  readonly path: string;
  size: number;
  maxEntryIndex: number;
}

const ignore = (): void => undefined;

class FileWal implements LocalWal {
  private readonly segments: SegmentState[];

  // Records waiting for the next flush.
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingMaxEntryIndex = 0;
  private pendingHasHardState = false;

  /** The flush running now, if any. */
  private inFlight: Promise<void> | null = null;
  /** The flush that starts when inFlight ends, shared by every sync() made meanwhile. */
  private queued: Promise<void> | null = null;
  /** Serializes everything that touches the files: flushes, deletions, close. */
  private lock: Promise<void> = Promise.resolve();

  private failure: Error | null = null;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly logger: Logger,
    segments: readonly RecoveredSegment[],
    private activeHandle: FileHandle,
    private readonly mark: SyncMarkWriter,
    private readonly bounds: LogBounds,
    private hardState: HardState | null,
    /** The segment holding the last hard state record written, 0 if none. */
    private hardStateSequence: number,
  ) {
    this.segments = segments.map((s) => ({ ...s }));
  }

  appendEntries(entries: readonly Entry[]): void {
    this.assertWritable();
    if (entries.length === 0) return;
    // Encode and check everything before buffering anything: a refused batch leaves no trace.
    const frames = entries.map((entry) => encodeWalRecord({ kind: 'entry', entry }));
    this.bounds.checkAppend(entries);
    this.assertRoomFor(frames.reduce((sum, f) => sum + f.length, 0));
    for (const frame of frames) this.buffer(frame);
    this.bounds.append(entries);
    const lastIndex = this.bounds.lastIndex;
    if (lastIndex > this.pendingMaxEntryIndex) this.pendingMaxEntryIndex = lastIndex;
  }

  truncateFrom(fromIndex: number): void {
    this.assertWritable();
    this.bufferRecord({ kind: 'truncate', fromIndex });
    this.bounds.truncateFrom(fromIndex);
  }

  setHardState(hs: HardState): void {
    this.assertWritable();
    this.bufferRecord({ kind: 'hardState', hardState: hs });
    this.hardState = { term: hs.term, commit: hs.commit };
    this.pendingHasHardState = true;
  }

  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state === 'closed') return Promise.reject(new UnavailableError('the local WAL is closed'));
    if (this.queued) return this.queued;
    if (this.inFlight) {
      // Everything buffered before this call is in the running flush or an earlier one.
      if (this.pendingBytes === 0) return this.inFlight;
      const queued = this.inFlight.then(ignore, ignore).then(() => {
        this.queued = null;
        return this.startFlush();
      });
      this.queued = queued;
      return queued;
    }
    if (this.pendingBytes === 0) return Promise.resolve();
    return this.startFlush();
  }

  async compact(upToIndex: number): Promise<void> {
    if (!Number.isSafeInteger(upToIndex) || upToIndex < 0) {
      throw new InvalidArgumentError(`compaction index ${upToIndex} is not a non-negative safe integer`);
    }
    this.assertWritable();
    if (this.deletableSegmentCount(upToIndex, { keepHardState: false }) === 0) return;
    // The segments about to go may hold the only copy of the hard state: write it
    // again, into the active segment, before any of them is deleted.
    const active = this.activeSegment();
    if (this.hardState !== null && !this.pendingHasHardState && this.hardStateSequence !== active.sequence) {
      this.bufferRecord({ kind: 'hardState', hardState: this.hardState });
      this.pendingHasHardState = true;
    }
    await this.sync();
    await this.exclusive(() => this.deleteSegmentsLocked(upToIndex));
  }

  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    this.state = 'closing';
    this.closing = (async () => {
      try {
        await this.sync();
      } finally {
        await this.exclusive(async () => {
          this.state = 'closed';
          await this.activeHandle.close();
          await this.mark.close();
        });
      }
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------

  private assertWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new UnavailableError('the local WAL is closed');
  }

  private assertRoomFor(bytes: number): void {
    if (this.pendingBytes + bytes > MAX_BUFFERED_BYTES) {
      throw new UnavailableError(
        `the local WAL buffer would exceed ${MAX_BUFFERED_BYTES} bytes (${this.pendingBytes} buffered); sync() before appending more`,
      );
    }
  }

  private bufferRecord(record: WalRecord): void {
    const frame = encodeWalRecord(record);
    this.assertRoomFor(frame.length);
    this.buffer(frame);
  }

  private buffer(frame: Uint8Array): void {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  private activeSegment(): SegmentState {
    const active = this.segments.at(-1);
    // The constructor receives at least one segment and deletion never takes the last.
    if (active === undefined) throw new Error('local WAL invariant broken: no active segment');
    return active;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task);
    this.lock = run.then(ignore, ignore);
    return run;
  }

  private startFlush(): Promise<void> {
    const flush: Promise<void> = this.exclusive(() => this.flushLocked()).finally(() => {
      if (this.inFlight === flush) this.inFlight = null;
    });
    this.inFlight = flush;
    return flush;
  }

  private async flushLocked(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pendingBytes === 0) return;
    const frames = this.pending;
    const bytes = this.pendingBytes;
    const maxEntryIndex = this.pendingMaxEntryIndex;
    const hasHardState = this.pendingHasHardState;
    // Everything buffered so far is in `frames`: the log's end after this flush.
    const lastIndex = this.bounds.lastIndex;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingMaxEntryIndex = 0;
    this.pendingHasHardState = false;
    try {
      let segment = this.activeSegment();
      // Rolling before the write (not after) keeps an idle WAL from creating empty
      // segments; the full segment was fsynced by the flush that filled it.
      if (segment.size >= this.segmentBytes && segment.size > SEGMENT_HEADER_BYTES) segment = await this.rollLocked();
      await writeFully(this.activeHandle, Buffer.concat(frames, bytes), segment.size);
      await this.activeHandle.datasync();
      segment.size += bytes;
      if (maxEntryIndex > segment.maxEntryIndex) segment.maxEntryIndex = maxEntryIndex;
      if (hasHardState) this.hardStateSequence = segment.sequence;
      // Only now, with the data durable, may the mark say so (sync-mark.ts).
      await this.mark.write({ sequence: segment.sequence, size: segment.size, lastIndex });
    } catch (err) {
      throw this.fail(err, 'write to the local WAL failed');
    }
  }

  private async rollLocked(): Promise<SegmentState> {
    const sequence = this.activeSegment().sequence + 1;
    const { path, handle } = await createSegmentFile(this.dir, sequence);
    const previous = this.activeHandle;
    this.activeHandle = handle;
    const segment: SegmentState = { sequence, path, size: SEGMENT_HEADER_BYTES, maxEntryIndex: 0 };
    this.segments.push(segment);
    await previous.close();
    this.logger.debug({ segment: path }, 'local WAL rolled to a new segment');
    return segment;
  }

  /**
   * How many segments, oldest first, compaction up to `upToIndex` may delete: a
   * prefix (so replay of the rest stays correct), never the active segment, never
   * the one with the last hard state record (with keepHardState), and only segments
   * whose every entry is at most upToIndex.
   */
  private deletableSegmentCount(upToIndex: number, options: { keepHardState: boolean }): number {
    let limit = this.segments.length - 1;
    const hardStatePosition = this.segments.findIndex((s) => s.sequence === this.hardStateSequence);
    if (options.keepHardState && hardStatePosition >= 0) limit = Math.min(limit, hardStatePosition);
    let count = 0;
    while (count < limit && (this.segments[count]?.maxEntryIndex ?? Infinity) <= upToIndex) count++;
    return count;
  }

  private async deleteSegmentsLocked(upToIndex: number): Promise<void> {
    if (this.failure) throw this.failure;
    const count = this.deletableSegmentCount(upToIndex, { keepHardState: true });
    try {
      // Oldest first, each deletion durable before the next: a crash midway leaves
      // a shorter prefix deleted, never a gap that recovery would call corruption.
      for (let i = 0; i < count; i++) {
        const segment = this.segments[0];
        if (segment === undefined) break;
        await unlink(segment.path);
        this.segments.shift();
        await fsyncDir(this.dir);
      }
    } catch (err) {
      throw this.fail(err, 'deleting compacted local WAL segments failed');
    }
    if (count > 0) this.logger.info({ dir: this.dir, deleted: count, upToIndex }, 'local WAL compacted');
  }

  private fail(err: unknown, what: string): Error {
    const failure = new UnavailableError(`${what}; the node must restart and recover: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
    this.failure = failure;
    this.logger.error({ err }, what);
    return failure;
  }
}
