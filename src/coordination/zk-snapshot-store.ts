// The snapshot store in ZooKeeper, as the node uses it:
//   leader, after a local snapshot:  publish()  = upload, prune, compact wal/
//   a node with an empty disk, or behind the compaction point:  fetchNewest()
// plus the pieces on their own (upload, list, download, prune, compactWal).
//
// Writes (upload, prune, compaction) run one at a time, each checking the epoch version
// the caller holds; an upload keeps one chunk in flight. Reads need no epoch.
import type { Clock } from '../common/clock.js';
import { CorruptZnodeError, UnavailableError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { NodeId } from '../core/types.js';
import type { ClusterPaths } from './layout.js';
import type { ZkSession } from './zk-api.js';
import type { EpochWriter } from './zk-epoch-multi.js';
import { inspectZk, type ZkUsage } from './zk-inspect.js';
import { DEFAULT_DOWNLOAD_READ_AHEAD, downloadSnapshot } from './zk-snapshot-download.js';
import { listCompleteSnapshots, scanSnapshots, type SnapshotDir } from './zk-snapshot-list.js';
import { DEFAULT_KEEP_SNAPSHOTS, DEFAULT_PARTIAL_GRACE_MS, pruneSnapshots, type PruneReport } from './zk-snapshot-prune.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, type ZkSnapshotManifest } from './zk-snapshot-records.js';
import { uploadSnapshot, type SnapshotUpload } from './zk-snapshot-upload.js';
import { compactWal, type CompactionReport } from './zk-wal-compaction.js';

export interface ZkSnapshotStoreOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Who uploads (recorded in the manifest). */
  readonly nodeId: NodeId;
  /** Chunk payload in bytes (default 256 KiB, at most MAX_SNAPSHOT_CHUNK_BYTES). */
  readonly chunkBytes?: number;
  /** Complete snapshots kept (default 2). */
  readonly keep?: number;
  /** How old an unfinished upload of the current epoch may get before prune removes it (default 10 min). */
  readonly partialGraceMs?: number;
  /** Chunk reads in flight ahead of a download's consumer (default 4). */
  readonly downloadReadAhead?: number;
}

export interface PublishReport {
  readonly manifest: ZkSnapshotManifest;
  readonly prune: PruneReport;
  /** Null when no snapshot may be compacted through yet (see compactionTarget). */
  readonly compaction: CompactionReport | null;
}

/** Rounds of compaction one publish runs (each deletes at most DEFAULT_COMPACTION_MAX_SEGMENTS). */
const MAX_COMPACTION_ROUNDS = 16;
/** Times fetchNewest lists again after a snapshot vanished under it. */
const MAX_RELISTS = 3;
/** Writes waiting behind the one running; more is a caller that does not wait for its results. */
const MAX_QUEUED_WRITES = 4;

/**
 * The snapshot wal/ may be compacted through: the oldest of the `keep` newest complete
 * snapshots, so that if the newest one turns out corrupt, the previous one plus the log
 * after it still rebuild the state (issue 10, point 7). Null while fewer than `keep` are
 * complete. The price: wal/ holds the log of `keep` snapshot intervals.
 */
export function compactionTarget(completeNewestFirst: readonly ZkSnapshotManifest[], keep: number): ZkSnapshotManifest | null {
  const k = Math.max(1, keep);
  return completeNewestFirst.length >= k ? completeNewestFirst[k - 1]! : null;
}

export class ZkSnapshotStore {
  private readonly o: ZkSnapshotStoreOptions;
  private readonly keep: number;
  private writes: Promise<unknown> = Promise.resolve();
  private queuedWrites = 0;

  constructor(options: ZkSnapshotStoreOptions) {
    this.o = options;
    this.keep = Math.max(1, options.keep ?? DEFAULT_KEEP_SNAPSHOTS);
  }

  /** Uploads a snapshot (the manifest last); see uploadSnapshot for the errors. */
  upload(u: SnapshotUpload): Promise<ZkSnapshotManifest> {
    return this.serially(() => this.uploadNow(u));
  }

  /** Complete snapshots, newest first. */
  list(): Promise<ZkSnapshotManifest[]> {
    return listCompleteSnapshots(this.o.zk, this.o.paths, this.o.logger);
  }

  /** Every snapshot directory with its state (complete, partial, corrupt), newest first. */
  scan(): Promise<SnapshotDir[]> {
    return scanSnapshots(this.o.zk, this.o.paths, this.o.logger);
  }

  /** The snapshot file's bytes, chunk by chunk, verified (see downloadSnapshot). */
  download(m: ZkSnapshotManifest): AsyncGenerator<Uint8Array> {
    return downloadSnapshot(this.o.zk, this.o.paths, m, this.o.downloadReadAhead ?? DEFAULT_DOWNLOAD_READ_AHEAD);
  }

  /** Keeps the newest `keep` complete snapshots (default: the store's) and removes the rest. */
  prune(epochVersion: number, keep = this.keep): Promise<PruneReport> {
    return this.serially(() => this.pruneNow(epochVersion, keep));
  }

  /** The chunk payload size uploads use. */
  get chunkBytes(): number {
    return this.o.chunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES;
  }

  /** The cluster's znodes with their sizes (see inspectZk); reads only. */
  inspect(): Promise<ZkUsage> {
    return inspectZk(this.o.zk, this.o.paths, { clock: this.o.clock });
  }

  /**
   * Deletes every segment `covering` holds, in as many bounded calls as needed (at most
   * MAX_COMPACTION_ROUNDS); null when nothing was to be done. With `maxSegments`, one call
   * of at most that many (the report's `more` says whether covered segments are left).
   */
  compactThrough(epochVersion: number, covering: ZkSnapshotManifest, maxSegments?: number): Promise<CompactionReport | null> {
    if (maxSegments !== undefined) return this.serially(() => compactWal(this.o, { epochVersion, covering, maxSegments }));
    return this.serially(() => this.compactRounds(epochVersion, covering));
  }

  /**
   * Deletes the segments `covering` holds (one bounded call of at most `maxSegments`,
   * default DEFAULT_COMPACTION_MAX_SEGMENTS; see compactWal). A small bound keeps the
   * writes queued behind it (a publish) from waiting long.
   */
  compactWal(epochVersion: number, covering: ZkSnapshotManifest, maxSegments?: number): Promise<CompactionReport> {
    return this.serially(() => compactWal(this.o, { epochVersion, covering, maxSegments }));
  }

  /**
   * The leader's routine after a local snapshot: upload it, prune, then compact wal/
   * through compactionTarget. Throws EpochFencedError once this node no longer leads.
   */
  publish(u: SnapshotUpload): Promise<PublishReport> {
    return this.serially(async () => {
      const manifest = await this.uploadNow(u);
      const prune = await this.pruneNow(u.epochVersion, this.keep);
      const target = compactionTarget(await this.list(), this.keep);
      const compaction = target ? await this.compactRounds(u.epochVersion, target) : null;
      return { manifest, prune, compaction };
    });
  }

  /**
   * Loads the newest usable snapshot: hands each complete one, newest first, to `receive`
   * (for instance the local store's receive(expected, chunks)); a snapshot that does not
   * verify (CorruptZnodeError) is logged and the previous one tried. Resolves with the
   * manifest used and what receive returned, or null when no complete snapshot is usable:
   * then nothing may be served from a snapshot, and the log from index 1 is needed.
   */
  async fetchNewest<T>(receive: (manifest: ZkSnapshotManifest, chunks: AsyncIterable<Uint8Array>) => Promise<T>): Promise<{ manifest: ZkSnapshotManifest; result: T } | null> {
    for (let relist = 0; relist <= MAX_RELISTS; relist++) {
      let vanished = false;
      for (const manifest of await this.list()) {
        try {
          return { manifest, result: await receive(manifest, this.download(manifest)) };
        } catch (err) {
          if (err instanceof CorruptZnodeError) {
            this.o.logger.error({ index: manifest.point.index, path: err.path, err: err.message }, 'zk snapshot: does not verify; falling back to the previous one');
            continue;
          }
          if (err instanceof UnavailableError) {
            this.o.logger.warn({ index: manifest.point.index, err: err.message }, 'zk snapshot: vanished while downloading; listing again');
            vanished = true;
            break;
          }
          throw err;
        }
      }
      if (!vanished) return null;
    }
    throw new UnavailableError(`the snapshots in ZooKeeper kept changing while being downloaded (${MAX_RELISTS + 1} lists); try again`);
  }

  private uploadNow(u: SnapshotUpload): Promise<ZkSnapshotManifest> {
    return uploadSnapshot({ ...this.o, chunkBytes: this.o.chunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES }, u);
  }

  private pruneNow(epochVersion: number, keep: number): Promise<PruneReport> {
    const w: EpochWriter = { zk: this.o.zk, paths: this.o.paths, clock: this.o.clock, epochVersion };
    return pruneSnapshots(w, this.o.logger, { keep: Math.max(1, keep), partialGraceMs: this.o.partialGraceMs ?? DEFAULT_PARTIAL_GRACE_MS });
  }

  private async compactRounds(epochVersion: number, covering: ZkSnapshotManifest): Promise<CompactionReport | null> {
    let compaction: CompactionReport | null = null;
    for (let round = 0; round < MAX_COMPACTION_ROUNDS; round++) {
      const r = await compactWal(this.o, { epochVersion, covering });
      compaction = compaction ? { ...r, deletedSegments: compaction.deletedSegments + r.deletedSegments, deletedBytes: compaction.deletedBytes + r.deletedBytes } : r;
      if (!r.more) break;
    }
    return compaction;
  }

  /** Runs writes one after another: never two uploads, prunes or compactions at once. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    if (this.queuedWrites >= MAX_QUEUED_WRITES) {
      return Promise.reject(new UnavailableError(`${this.queuedWrites} snapshot writes already wait for ZooKeeper; try again when they are done`));
    }
    this.queuedWrites++;
    const done = (): void => {
      this.queuedWrites--;
    };
    const run = this.writes.then(fn, fn).finally(done);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
