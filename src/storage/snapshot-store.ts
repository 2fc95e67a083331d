// The local snapshot store: the complete snapshots of the state machine in DATA/snapshots/.
//
// - save(): writes a snapshot from a KvStore view, in slices, through a temp file (fsync,
//   rename, directory fsync).
// - list(): the complete, verified snapshots, newest first. A file that fails its checks
//   is set aside (renamed *.corrupt, with a warning) and the older ones are used.
// - chunks(): a snapshot as chunks of a given size, for the upload to ZooKeeper and for
//   streaming to the other voter; it re-checks the SHA-256 as it reads.
// - receive(): writes a snapshot from incoming chunks of known size and SHA-256 (from
//   ZooKeeper or the other voter); it becomes visible only after it verified.
// - load(): checks and loads one into a fresh KvStore, in slices.
// - prune(): keeps the newest `keep` (two by default).
//
// One store per directory per process (opening removes temp files, which another
// store's save in progress would still be writing).
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CorruptSnapshotError, DuoraftError, InvalidArgumentError, UnavailableError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { describePoint, snapshotPointProblem, type SnapshotPoint } from '../common/snapshot-point.js';
import type { StateView } from '../statemachine/kv-store.js';
import { FILE_HEADER_BYTES } from '../statemachine/snapshot-format.js';
import { loadSnapshot, type LoadedSnapshot } from '../statemachine/snapshot-loader.js';
import { readSnapshot, type SnapshotSummary } from '../statemachine/snapshot-reader.js';
import { sliceOptionsProblem, writeSnapshot, type SnapshotSliceOptions } from '../statemachine/snapshot-writer.js';
import { fsyncDir, writeFully } from './segment-files.js';
import {
  FileSink,
  isSetAsideFileName,
  isTempSnapshotFileName,
  parseSnapshotFileName,
  readFileChunks,
  SET_ASIDE_SUFFIX,
  snapshotFileName,
  tempSnapshotFileName,
} from './snapshot-files.js';

/** A complete snapshot file. */
export interface SavedSnapshot {
  readonly point: SnapshotPoint;
  /** Absolute path. */
  readonly file: string;
  readonly sizeBytes: number;
  /** SHA-256 of the whole file, lowercase hex (what the ZooKeeper manifest carries). */
  readonly sha256: string;
}

/** What a snapshot to receive must be. */
export interface ExpectedSnapshot {
  readonly point: SnapshotPoint;
  readonly sizeBytes: number;
  /** Lowercase hex. */
  readonly sha256: string;
  /** Where the bytes come from, for errors and logs (e.g. "zookeeper /duoraft/x/snapshots/…", "voter b"). */
  readonly source?: string;
}

export interface LocalSnapshotStoreOptions {
  /** The directory (DATA/snapshots); created if missing. */
  readonly dir: string;
  /** The cluster's name: written into every snapshot; a snapshot of another cluster is refused. */
  readonly cluster: string;
  readonly logger?: Logger;
  /** Work per event-loop turn when saving (see SnapshotSliceOptions). */
  readonly slices?: SnapshotSliceOptions;
  /** Bytes read at a time when verifying or loading (the work per turn is one record). Default 256 KiB. */
  readonly readChunkBytes?: number;
  /** How loading and verifying give the event loop back between records (default setImmediate; benchmarks wrap it). */
  readonly yieldTurn?: () => Promise<void>;
  /** Set-aside (corrupt) files kept for inspection; older ones are deleted. Default 2. */
  readonly keepSetAside?: number;
}

export const DEFAULT_READ_CHUNK_BYTES = 256 * 1024;
/** Bound on chunks handed out or taken in: a chunk is held in memory whole. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KEEP_SNAPSHOTS = 2;

/**
 * Opens the store in `options.dir`: creates the directory, removes temp files left by a
 * crash. Verifies nothing yet (list() does).
 */
export async function openLocalSnapshotStore(options: LocalSnapshotStoreOptions): Promise<LocalSnapshotStore> {
  const problem = options.slices ? sliceOptionsProblem(options.slices) : null;
  if (problem) throw new InvalidArgumentError(problem);
  const readChunkBytes = options.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
  if (!chunkSizeOk(readChunkBytes)) throw new InvalidArgumentError(`readChunkBytes must be an integer in 1..${MAX_CHUNK_BYTES}, got ${readChunkBytes}`);
  const keepSetAside = options.keepSetAside ?? 2;
  if (!Number.isSafeInteger(keepSetAside) || keepSetAside < 0) throw new InvalidArgumentError(`keepSetAside must be a non-negative integer, got ${keepSetAside}`);
  const logger = options.logger ?? silentLogger;
  await mkdir(options.dir, { recursive: true });
  const temps = (await readdir(options.dir)).filter(isTempSnapshotFileName);
  for (const name of temps) await unlink(join(options.dir, name));
  if (temps.length > 0) {
    await fsyncDir(options.dir);
    logger.warn({ dir: options.dir, removed: temps }, 'removed unfinished snapshot files left by a crash');
  }
  const reading = options.yieldTurn ? { yieldTurn: options.yieldTurn } : {};
  return new LocalSnapshotStore(options.dir, options.cluster, logger, options.slices ?? {}, readChunkBytes, keepSetAside, reading);
}

function chunkSizeOk(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_CHUNK_BYTES;
}

/** What list() learned about a file, valid while the file's identity and size stay the same. */
interface Verified {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly saved: SavedSnapshot;
}

export class LocalSnapshotStore {
  private readonly verified = new Map<string, Verified>();
  /** Serializes changes of the directory's names: commits, set-asides, prunes. */
  private lock: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly cluster: string,
    private readonly logger: Logger,
    private readonly slices: SnapshotSliceOptions,
    private readonly readChunkBytes: number,
    private readonly keepSetAside: number,
    private readonly reading: { readonly yieldTurn?: () => Promise<void> },
  ) {}

  /**
   * Writes the snapshot of `view` at `point` (point.index must be view.index), in slices,
   * and makes it durable. Always closes the view.
   *
   * @throws InvalidArgumentError for a bad point (nothing written)
   * @throws UnavailableError if the disk refused (the temp file is removed; older snapshots stay)
   */
  async save(point: SnapshotPoint, view: StateView): Promise<SavedSnapshot> {
    const problem = snapshotPointProblem(point);
    if (problem) {
      view.close();
      throw new InvalidArgumentError(problem);
    }
    const name = snapshotFileName(point);
    const started = performance.now();
    const saved = await this.writeThroughTemp(name, point, async (handle) => {
      const sink = new FileSink(handle);
      const written = await writeSnapshot(view, point, this.cluster, sink, this.slices);
      await sink.flush();
      return written;
    });
    this.logger.info(
      { snapshotIndex: point.index, snapshotTerm: point.term, file: saved.file, sizeBytes: saved.sizeBytes, ms: Math.round(performance.now() - started) },
      'snapshot saved',
    );
    return saved;
  }

  /** The complete, verified snapshots, newest first. Sets aside any that fail their checks. */
  async list(): Promise<SavedSnapshot[]> {
    const candidates = await this.candidates();
    const out: SavedSnapshot[] = [];
    for (const { name, parsed } of candidates) {
      const saved = await this.verify(name, parsed);
      if (saved) out.push(saved);
    }
    return out;
  }

  private logLoaded(loaded: LoadedSnapshot, started: number): void {
    const h = loaded.summary.header;
    this.logger.info({ snapshotIndex: h.point.index, snapshotTerm: h.point.term, keys: h.keyCount, sessions: h.sessionCount, ms: Math.round(performance.now() - started) }, 'snapshot loaded');
  }

  /** Snapshot files by name, newest first (unchecked); forgets checks of files gone. */
  private async candidates(): Promise<Array<{ name: string; parsed: { index: number; term: number } }>> {
    const names = await readdir(this.dir);
    for (const known of this.verified.keys()) if (!names.includes(known)) this.verified.delete(known);
    return names
      .map((name) => ({ name, parsed: parseSnapshotFileName(name) }))
      .filter((c): c is { name: string; parsed: { index: number; term: number } } => c.parsed !== null)
      .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
  }

  /** The newest complete snapshot, or null. */
  async newest(): Promise<SavedSnapshot | null> {
    return (await this.list())[0] ?? null;
  }

  /**
   * The snapshot's bytes as chunks of `chunkBytes` (the last may be shorter). The file is
   * opened once, so a prune meanwhile does not cut the stream. The SHA-256 is checked as
   * the bytes go by: if it does not match, the iteration throws after the last chunk, so a
   * consumer must commit nothing (a manifest, an install) before the iteration ended.
   *
   * @throws CorruptSnapshotError if the file is not what `s` says (size or SHA-256)
   */
  async *chunks(s: SavedSnapshot, chunkBytes: number): AsyncGenerator<Uint8Array> {
    if (!chunkSizeOk(chunkBytes)) throw new InvalidArgumentError(`chunkBytes must be an integer in 1..${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
    const handle = await this.openExisting(s);
    try {
      const size = (await handle.stat()).size;
      if (size !== s.sizeBytes) throw await this.corrupt(s.file, -1, `${size} bytes, expected ${s.sizeBytes}`);
      const hash = createHash('sha256');
      for await (const chunk of readFileChunks(s.file, chunkBytes, handle)) {
        hash.update(chunk);
        yield chunk;
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== s.sha256) throw await this.corrupt(s.file, -1, `SHA-256 ${sha256}, expected ${s.sha256}`);
    } finally {
      await handle.close();
    }
  }

  /**
   * Bytes [offset, offset + length) of a snapshot (fewer at its end): what the leader serves
   * to a follower pulling the snapshot range by range. The receiver checks the whole.
   */
  async readRange(s: SavedSnapshot, offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !chunkSizeOk(length)) throw new InvalidArgumentError(`bad range ${offset}+${length}`);
    const handle = await this.openExisting(s);
    try {
      const n = Math.max(0, Math.min(length, s.sizeBytes - offset));
      const buf = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        const { bytesRead } = await handle.read(buf, at, n - at, offset + at);
        if (bytesRead === 0) throw await this.corrupt(s.file, offset + at, `ends before its ${s.sizeBytes} bytes`);
        at += bytesRead;
      }
      return buf;
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes a snapshot from `chunks`: it must be `expected.sizeBytes` bytes with SHA-256
   * `expected.sha256`, a well-formed snapshot of this cluster at `expected.point`. It is
   * checked in a temp file and only then renamed into place; on any failure nothing is
   * left behind. Stops reading as soon as more bytes than expected arrive.
   *
   * @throws CorruptSnapshotError naming the source if the bytes are not the expected snapshot
   * @throws InvalidArgumentError for a bad `expected`
   * Errors of the chunk source pass through unchanged.
   */
  async receive(expected: ExpectedSnapshot, chunks: AsyncIterable<Uint8Array>): Promise<SavedSnapshot> {
    const problem =
      snapshotPointProblem(expected.point) ??
      (Number.isSafeInteger(expected.sizeBytes) && expected.sizeBytes > FILE_HEADER_BYTES ? null : `size ${expected.sizeBytes} is not a plausible snapshot size`) ??
      (/^[0-9a-f]{64}$/.test(expected.sha256) ? null : 'sha256 must be 64 lowercase hex digits');
    if (problem) throw new InvalidArgumentError(`cannot receive a snapshot: ${problem}`);
    const name = snapshotFileName(expected.point);
    const label = `${expected.source ?? 'received bytes'} for ${name}`;
    const started = performance.now();
    const saved = await this.writeThroughTemp(name, expected.point, async (handle, tempPath) => {
      const hash = createHash('sha256');
      let written = 0;
      for await (const chunk of chunks) {
        if (written + chunk.length > expected.sizeBytes) {
          throw new CorruptSnapshotError(label, written, `more than the expected ${expected.sizeBytes} bytes`);
        }
        await writeFully(handle, chunk, written);
        hash.update(chunk);
        written += chunk.length;
      }
      if (written !== expected.sizeBytes) throw new CorruptSnapshotError(label, written, `${written} bytes, expected ${expected.sizeBytes}: cut short`);
      const sha256 = hash.digest('hex');
      if (sha256 !== expected.sha256) throw new CorruptSnapshotError(label, -1, `SHA-256 ${sha256}, expected ${expected.sha256}`);
      const summary = await readSnapshot(label, readFileChunks(tempPath, this.readChunkBytes, handle), undefined, { ...this.reading, decode: false });
      const mismatch = this.identityProblem(summary, expected.point);
      if (mismatch) throw new CorruptSnapshotError(label, -1, mismatch);
      return { sizeBytes: written, sha256 };
    });
    this.logger.info(
      { snapshotIndex: expected.point.index, snapshotTerm: expected.point.term, source: expected.source, sizeBytes: saved.sizeBytes, ms: Math.round(performance.now() - started) },
      'snapshot received',
    );
    return saved;
  }

  /**
   * Checks and loads `s` into a fresh KvStore, in slices. A file that fails its checks is
   * set aside before the error is thrown.
   *
   * @throws CorruptSnapshotError naming the file (then load the next one of list())
   * @throws UnavailableError if the file is gone (pruned since it was listed: list again)
   */
  async load(s: SavedSnapshot): Promise<LoadedSnapshot> {
    const handle = await this.openExisting(s);
    const started = performance.now();
    let loaded: LoadedSnapshot;
    try {
      loaded = await loadSnapshot(s.file, readFileChunks(s.file, this.readChunkBytes, handle), { ...this.reading, cluster: this.cluster, expectedPoint: s.point });
      if (loaded.summary.sha256 !== s.sha256) throw new CorruptSnapshotError(s.file, -1, `SHA-256 ${loaded.summary.sha256}, listed as ${s.sha256}`);
    } catch (err) {
      if (err instanceof CorruptSnapshotError) await this.setAside(s.file, err.message);
      throw err;
    } finally {
      await handle.close();
    }
    this.logLoaded(loaded, started);
    return loaded;
  }

  /**
   * Loads the newest snapshot that passes its checks (setting aside those that do not),
   * or returns null if there is none: what a restart does. One pass over the file checks
   * and loads it (list() would check every snapshot first and load() read the newest again:
   * three reads of a 27 MB state where one does); older ones are checked when next listed.
   */
  async loadNewest(): Promise<(LoadedSnapshot & { readonly saved: SavedSnapshot }) | null> {
    for (const { name, parsed } of await this.candidates()) {
      const file = join(this.dir, name);
      let st;
      try {
        st = await stat(file);
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      const started = performance.now();
      let loaded: LoadedSnapshot;
      try {
        loaded = await loadSnapshot(file, readFileChunks(file, this.readChunkBytes), { ...this.reading, cluster: this.cluster });
        const { point } = loaded.summary.header;
        if (point.index !== parsed.index || point.term !== parsed.term) throw new CorruptSnapshotError(file, -1, `it holds ${describePoint(point)}, not what its name says`);
      } catch (err) {
        if (isMissing(err)) continue;
        if (!(err instanceof CorruptSnapshotError)) throw err;
        await this.setAside(file, err.message);
        continue;
      }
      const saved: SavedSnapshot = { point: loaded.point, file, sizeBytes: loaded.summary.sizeBytes, sha256: loaded.summary.sha256 };
      this.verified.set(name, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, saved });
      this.logLoaded(loaded, started);
      return { saved, ...loaded };
    }
    return null;
  }

  /**
   * Deletes all but the newest `keep` complete snapshots (and set-aside files beyond the
   * bound). A snapshot being read by chunks() or load() is read to its end all the same
   * (its file stays open). Returns the names deleted.
   */
  async prune(keep = DEFAULT_KEEP_SNAPSHOTS): Promise<string[]> {
    if (!Number.isSafeInteger(keep) || keep < 1) throw new InvalidArgumentError(`prune must keep at least one snapshot, got ${keep}`);
    const doomed = (await this.list()).slice(keep);
    return this.locked(async () => {
      const removed: string[] = [];
      for (const s of doomed) {
        await unlink(s.file).catch(ignoreMissing);
        removed.push(basename(s.file));
      }
      removed.push(...(await this.trimSetAside()));
      if (removed.length > 0) {
        await fsyncDir(this.dir);
        this.logger.info({ removed }, 'pruned snapshots');
      }
      return removed;
    });
  }

  // -------------------------------------------------------------------------

  /** Verifies the file (unless already verified and unchanged); sets it aside if it fails. */
  private async verify(name: string, parsed: { index: number; term: number }): Promise<SavedSnapshot | null> {
    const file = join(this.dir, name);
    let st;
    try {
      st = await stat(file);
    } catch (err) {
      if (isMissing(err)) return null; // pruned meanwhile
      throw err;
    }
    const known = this.verified.get(name);
    if (known && known.ino === st.ino && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.saved;
    try {
      const summary = await readSnapshot(file, readFileChunks(file, this.readChunkBytes), undefined, { ...this.reading, decode: false });
      const { point } = summary.header;
      const mismatch = point.index !== parsed.index || point.term !== parsed.term ? `it holds ${describePoint(point)}, not what its name says` : this.identityProblem(summary, point);
      if (mismatch) throw new CorruptSnapshotError(file, -1, mismatch);
      const saved: SavedSnapshot = { point, file, sizeBytes: summary.sizeBytes, sha256: summary.sha256 };
      this.verified.set(name, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, saved });
      return saved;
    } catch (err) {
      if (isMissing(err)) return null;
      if (!(err instanceof CorruptSnapshotError)) throw err;
      await this.setAside(file, err.message);
      return null;
    }
  }

  /** Why a checked file is not a snapshot of this cluster at `point`, or null. */
  private identityProblem(summary: SnapshotSummary, point: SnapshotPoint): string | null {
    const h = summary.header;
    if (h.cluster !== this.cluster) return `it belongs to cluster ${JSON.stringify(h.cluster)}, not ${JSON.stringify(this.cluster)}`;
    if (h.point.index !== point.index || h.point.term !== point.term || !Buffer.from(h.point.chain).equals(Buffer.from(point.chain))) {
      return `it holds ${describePoint(h.point)}, expected ${describePoint(point)} (or another chain value)`;
    }
    return null;
  }

  /**
   * Runs `fill` on a fresh temp file for final name `name`, then fsyncs, renames and
   * fsyncs the directory. Removes the temp file on any failure.
   */
  private async writeThroughTemp(
    name: string,
    point: SnapshotPoint,
    fill: (handle: FileHandle, tempPath: string) => Promise<{ sizeBytes: number; sha256: string }>,
  ): Promise<SavedSnapshot> {
    const file = join(this.dir, name);
    const tempPath = join(this.dir, tempSnapshotFileName(name));
    let handle: FileHandle | null = null;
    try {
      handle = await open(tempPath, 'wx+');
      const { sizeBytes, sha256 } = await fill(handle, tempPath);
      await handle.sync();
      await handle.close();
      handle = null;
      await this.locked(async () => {
        await rename(tempPath, file);
        await fsyncDir(this.dir);
      });
      const st = await stat(file);
      const saved: SavedSnapshot = { point, file, sizeBytes, sha256 };
      this.verified.set(name, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, saved });
      return saved;
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      await unlink(tempPath).catch(ignoreMissing);
      if (err instanceof DuoraftError) throw err;
      throw new UnavailableError(`writing snapshot ${file} failed: ${err instanceof Error ? err.message : String(err)}; older snapshots are unchanged`, { cause: err });
    }
  }

  private async openExisting(s: SavedSnapshot): Promise<FileHandle> {
    try {
      return await open(s.file, 'r');
    } catch (err) {
      if (isMissing(err)) throw new UnavailableError(`snapshot ${s.file} is gone (pruned since it was listed?); list the snapshots again`, { cause: err });
      throw err;
    }
  }

  /** Builds the error for `file`, setting the file aside first. */
  private async corrupt(file: string, offset: number, reason: string): Promise<CorruptSnapshotError> {
    const err = new CorruptSnapshotError(file, offset, reason);
    await this.setAside(file, err.message);
    return err;
  }

  /** Renames a file that failed its checks to *.corrupt, so it is never listed again. */
  private async setAside(file: string, reason: string): Promise<void> {
    await this.locked(async () => {
      try {
        await rename(file, file + SET_ASIDE_SUFFIX);
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      this.verified.delete(basename(file));
      await this.trimSetAside();
      await fsyncDir(this.dir);
      this.logger.warn({ file, setAsideAs: basename(file) + SET_ASIDE_SUFFIX, reason }, 'snapshot failed its checks and was set aside; using an older one');
    });
  }

  /** Deletes set-aside files beyond keepSetAside (the oldest by name). Call under the lock. */
  private async trimSetAside(): Promise<string[]> {
    const setAside = (await readdir(this.dir)).filter(isSetAsideFileName).sort().reverse();
    const doomed = setAside.slice(this.keepSetAside);
    for (const name of doomed) await unlink(join(this.dir, name)).catch(ignoreMissing);
    return doomed;
  }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}

function ignoreMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}
