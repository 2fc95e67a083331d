// Snapshots of this node's state machine: taking them, compacting behind them, publishing
// them to ZooKeeper, and installing one (from ZooKeeper or from the leader) when the log it
// needs is gone (PROTOCOL.md section 8; notes/snapshots.md).
//
// Taking one: every `everyEntries` applied entries or `everyBytes` of applied entry data,
// the state machine's copy-on-write view at the applied index is written in slices to the
// local store; then the in-memory log is compacted up to `retainEntries` before it (the
// follower may still need those) and the local WAL up to it; a leader then uploads it to
// ZooKeeper (the manifest last), which prunes old snapshots and compacts wal/ behind them.
// Nothing here blocks the event loop for long: the writer, the loader, the uploads and
// downloads all work in slices or chunks.
//
// Installing one: a follower behind the compaction point gets the snapshot (a) from the
// leader when the leader offers it (its file is local and the link between the voters does
// not load ZooKeeper, which is the commit path), or (b) from ZooKeeper when no leader feeds
// it (catching up while the link is cut, rebuilding at start, taking over) or when the
// transfer from the leader failed. Either way it is verified (size, SHA-256, every record's
// checksum, the point) before the state machine is swapped and the core told.
import type { Clock, TimerHandle } from '../common/clock.js';
import { EpochFencedError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import type { ZkSnapshotManifest } from '../coordination/zk-snapshot-records.js';
import type { Entry } from '../core/types.js';
import type { KvStore } from '../statemachine/kv-store.js';
import type { SnapshotStorage } from '../storage/snapshot-storage.js';
import type { SavedSnapshot } from '../storage/snapshot-store.js';

export interface SnapshotPolicy {
  /** Take a snapshot after this many applied entries. */
  readonly everyEntries: number;
  /** ... or after this many bytes of applied entry data, whichever comes first. */
  readonly everyBytes: number;
  /** Entries the in-memory log keeps before the snapshot point (a follower slightly behind still gets appends). */
  readonly retainEntries: number;
  /** Snapshots kept locally (and in ZooKeeper). */
  readonly keep: number;
}

export const defaultSnapshotPolicy: SnapshotPolicy = {
  everyEntries: 50_000,
  everyBytes: 8 * 1024 * 1024,
  retainEntries: 5_000,
  keep: 2,
};

export interface SnapshotterHost {
  /** The state machine now. */
  kv(): KvStore;
  /** The snapshot point of the applied index `index` (its term and chain value). */
  pointAt(index: number): SnapshotPoint;
  /** Drops log entries up to `memoryIndex` from memory and up to `walIndex` from the local WAL. */
  compactLocal(memoryIndex: number, walIndex: number): Promise<void>;
  /** The epoch version this node leads with, or null while it does not lead. */
  leaderEpochVersion(): number | null;
  /**
   * A verified snapshot was loaded into `store`: make it the state machine and tell the
   * core. False when the core refused it (nothing new, or this node leads meanwhile).
   */
  install(point: SnapshotPoint, store: KvStore): boolean;
}

export interface SnapshotterOptions {
  readonly storage: SnapshotStorage;
  /** Null where ZooKeeper snapshots are not used (tests). */
  readonly zk: ZkSnapshotStore | null;
  readonly host: SnapshotterHost;
  readonly policy: SnapshotPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The newest local snapshot at start (it is what the state machine was loaded from). */
  readonly initial: SavedSnapshot | null;
}

export interface SnapshotStatus {
  /** The newest local snapshot's index (0: none). */
  readonly index: number;
  readonly sizeBytes: number;
  readonly taking: boolean;
  readonly installing: boolean;
  readonly lastError: string;
}

/** After a failed snapshot (a full disk, say), the next try waits this long. */
const RETRY_AFTER_FAILURE_MS = 5_000;
/** Failed range reads in a row a pull survives (each resumes where the last one stopped). */
const MAX_RANGE_FAILURES = 3;
/** Bytes read at a time when a snapshot is uploaded. */
const UPLOAD_READ_BYTES = 1 << 20;

export class Snapshotter {
  private readonly o: SnapshotterOptions;
  private newestSaved: SavedSnapshot | null;
  private entriesSince = 0;
  private bytesSince = 0;
  private taking: Promise<SavedSnapshot> | null = null;
  private installing: Promise<boolean> | null = null;
  private lastError = '';
  private notBefore = 0;
  private publishing = false;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(options: SnapshotterOptions) {
    this.o = options;
    this.newestSaved = options.initial;
  }

  /** Entries were applied: count them, and take a snapshot when the policy says so. */
  noteApplied(entries: readonly Entry[]): void {
    this.entriesSince += entries.length;
    for (const e of entries) this.bytesSince += e.data.length;
    if (this.entriesSince >= this.o.policy.everyEntries || this.bytesSince >= this.o.policy.everyBytes) this.maybeTake();
  }

  /** Takes a snapshot now (duoraft admin snapshot); resolves once it is durable locally. */
  takeNow(): Promise<SavedSnapshot> {
    return this.taking ?? this.take();
  }

  newest(): SavedSnapshot | null {
    return this.newestSaved;
  }

  status(): SnapshotStatus {
    const s = this.newestSaved;
    return { index: s?.point.index ?? 0, sizeBytes: s?.sizeBytes ?? 0, taking: this.taking !== null, installing: this.installing !== null, lastError: this.lastError };
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
  }

  /**
   * Installs the newest complete snapshot in ZooKeeper if it reaches at least `minIndex`
   * (the first index this node needs and ZooKeeper no longer has). Resolves true when one
   * was installed. One install at a time.
   */
  installFromZk(minIndex: number): Promise<boolean> {
    if (this.installing) return this.installing;
    const zk = this.o.zk;
    if (!zk) return Promise.resolve(false);
    this.installing = (async () => {
      try {
        const got = await zk.fetchNewest(async (m: ZkSnapshotManifest, chunks) => {
          if (m.point.index < minIndex) return null;
          const expected = { point: m.point, sizeBytes: m.sizeBytes, sha256: Buffer.from(m.sha256).toString('hex'), source: `ZooKeeper snapshot ${m.point.index}` };
          return this.o.storage.receive(expected, chunks);
        });
        if (!got || !got.result) {
          this.o.logger.warn({ minIndex }, 'no snapshot in ZooKeeper reaches the index this node needs');
          return false;
        }
        return await this.installSaved(got.result, 'ZooKeeper');
      } catch (err) {
        this.lastError = (err as Error).message;
        this.o.logger.warn({ err: this.lastError }, 'installing a snapshot from ZooKeeper failed');
        return false;
      } finally {
        this.installing = null;
      }
    })();
    return this.installing;
  }

  /**
   * Installs a snapshot whose bytes come from `chunks` (the leader's, pulled over the link
   * between the voters), verified against what was announced.
   */
  installFromChunks(expected: { point: SnapshotPoint; sizeBytes: number; sha256: string; source: string }, chunks: AsyncIterable<Uint8Array>): Promise<boolean> {
    if (this.installing) return this.installing;
    this.installing = (async () => {
      try {
        const saved = await this.o.storage.receive(expected, chunks);
        return await this.installSaved(saved, expected.source);
      } finally {
        this.installing = null;
      }
    })();
    return this.installing;
  }

  /**
   * Leader: a range of a snapshot it offered (the follower pulls it). Only the newest local
   * snapshot is served, and only when the follower names it exactly.
   */
  readRange(index: number, sha256: string, offset: number, maxBytes: number): Promise<Uint8Array> {
    const s = this.newestSaved;
    if (!s || s.point.index !== index || s.sha256 !== sha256) return Promise.reject(new Error(`snapshot ${index} is not the one this node serves (it has ${s?.point.index ?? 'none'})`));
    return this.o.storage.readRange(s, offset, maxBytes);
  }

  /**
   * A follower pulls a snapshot its leader offered, range by range (resuming at the offset
   * where a failed read stopped, a bounded number of times), for installFromChunks.
   */
  static async *pull(read: (offset: number) => Promise<Uint8Array>, sizeBytes: number, clock: Clock): AsyncGenerator<Uint8Array> {
    let offset = 0;
    let failures = 0;
    while (offset < sizeBytes) {
      let data: Uint8Array;
      try {
        data = await read(offset);
      } catch (err) {
        if (++failures > MAX_RANGE_FAILURES) throw err;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100 * failures));
        continue;
      }
      if (data.length === 0) throw new Error(`the snapshot ended at ${offset} of ${sizeBytes} bytes`);
      failures = 0;
      offset += data.length;
      yield data;
    }
  }

  private async installSaved(saved: SavedSnapshot, from: string): Promise<boolean> {
    const loaded = await this.o.storage.load(saved);
    if (this.stopped) return false;
    const ok = this.o.host.install(loaded.point, loaded.store);
    if (!ok) {
      this.o.logger.info({ index: loaded.point.index, from }, 'snapshot not installed: the node moved past it meanwhile');
      return false;
    }
    this.newestSaved = saved;
    this.entriesSince = 0;
    this.bytesSince = 0;
    this.o.logger.info({ index: loaded.point.index, term: loaded.point.term, bytes: saved.sizeBytes, from }, 'snapshot installed');
    void this.o.storage.prune(this.o.policy.keep).catch(() => undefined);
    return true;
  }

  private maybeTake(): void {
    if (this.taking || this.installing || this.stopped || this.o.clock.now() < this.notBefore) return;
    if (this.o.host.kv().viewOpen()) return;
    void this.take().catch(() => undefined);
  }

  private take(): Promise<SavedSnapshot> {
    const run = async (): Promise<SavedSnapshot> => {
      const kv = this.o.host.kv();
      const index = kv.applied();
      const point = this.o.host.pointAt(index);
      const started = this.o.clock.now();
      this.entriesSince = 0;
      this.bytesSince = 0;
      try {
        const saved = await this.o.storage.save(point, kv.openView());
        this.newestSaved = saved;
        this.lastError = '';
        this.o.logger.info({ index, bytes: saved.sizeBytes, ms: Math.round(this.o.clock.now() - started) }, 'snapshot taken');
        await this.o.storage.prune(this.o.policy.keep);
        await this.o.host.compactLocal(Math.max(0, index - this.o.policy.retainEntries), index);
        this.publish(saved);
        return saved;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.notBefore = this.o.clock.now() + RETRY_AFTER_FAILURE_MS;
        this.o.logger.error({ index, err: this.lastError }, 'taking a snapshot failed; trying again later');
        throw err;
      }
    };
    const p = run().finally(() => {
      this.taking = null;
    });
    this.taking = p;
    return p;
  }

  /** A leader uploads its snapshot to ZooKeeper (which then compacts wal/ behind it). */
  private publish(saved: SavedSnapshot): void {
    const zk = this.o.zk;
    const epochVersion = this.o.host.leaderEpochVersion();
    if (!zk || epochVersion === null || this.publishing || this.stopped) return;
    this.publishing = true;
    const started = this.o.clock.now();
    zk.publish({
      point: saved.point,
      sizeBytes: saved.sizeBytes,
      sha256: new Uint8Array(Buffer.from(saved.sha256, 'hex')),
      chunks: this.o.storage.chunks(saved, UPLOAD_READ_BYTES),
      epochVersion,
    }).then(
      (r) => {
        this.publishing = false;
        this.o.logger.info(
          {
            index: saved.point.index,
            bytes: saved.sizeBytes,
            ms: Math.round(this.o.clock.now() - started),
            compactedSegments: r.compaction?.deletedSegments ?? 0,
          },
          'snapshot published to ZooKeeper',
        );
      },
      (err: unknown) => {
        this.publishing = false;
        if (err instanceof EpochFencedError) return; // no longer the leader: its successor publishes
        this.lastError = (err as Error).message;
        this.o.logger.warn({ index: saved.point.index, err: this.lastError }, 'publishing a snapshot to ZooKeeper failed; the next snapshot tries again');
      },
    );
  }
}
