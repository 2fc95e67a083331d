// Snapshots of this node's state machine: taking them, compacting behind them, publishing
// them to ZooKeeper, and installing one (from ZooKeeper or from the leader) when the log it
// needs is gone (PROTOCOL.md section 8; notes/snapshots.md).
//
// Taking one: every `everyEntries` applied entries or `everyBytes` of applied entry data,
// the state machine's copy-on-write view at the applied index is written in slices to the
// local store; then the in-memory log is compacted up to `retainEntries` before it (the
// follower may still need those) and the local WAL up to it; a leader then uploads it to
// ZooKeeper (the manifest last), which prunes old snapshots and compacts wal/ behind them.
// A leader also compacts wal/ behind the snapshots already in ZooKeeper soon after its term
// starts, and finishes a publish's compaction left unfinished (wal-compactor.ts).
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
import { EpochFencedError, UnavailableError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import type { ZkSnapshotManifest } from '../coordination/zk-snapshot-records.js';
import type { ZkUsage } from '../coordination/zk-inspect.js';
import type { Entry } from '../core/types.js';
import type { KvStore } from '../statemachine/kv-store.js';
import type { SnapshotStorage } from '../storage/snapshot-storage.js';
import type { SavedSnapshot } from '../storage/snapshot-store.js';
import { publishWithinBudget } from './budgeted-publish.js';
import { defaultWalCompactorLimits, WalCompactor, type WalCompactorLimits } from './wal-compactor.js';
import { budgetCeilingBytes, budgetWantsSnapshot, formatBytes, snapshotZkBytes, stateTooLarge, ZkBudget, type ZkBudgetStatus } from './zk-budget.js';

export interface SnapshotPolicy {
  /** Take a snapshot after this many applied entries. */
  readonly everyEntries: number;
  /** ... or after this many bytes of applied entry data, whichever comes first. */
  readonly everyBytes: number;
  /** Entries the in-memory log keeps before the snapshot point (a follower slightly behind still gets appends). */
  readonly retainEntries: number;
  /** Snapshots kept locally (and in ZooKeeper). */
  readonly keep: number;
  /**
   * What the cluster may keep in ZooKeeper, WAL segments and snapshots together (data
   * bytes). The leader snapshots and compacts to stay under it, and refuses writes that add
   * data when the state alone is too large for it (zk-budget.ts, budgeted-publish.ts).
   */
  readonly zkBudgetBytes: number;
}

export const defaultSnapshotPolicy: SnapshotPolicy = {
  everyEntries: 50_000,
  everyBytes: 8 * 1024 * 1024,
  retainEntries: 5_000,
  keep: 2,
  zkBudgetBytes: 64 * 1024 * 1024,
};

/** What the snapshotter tells an observer (metrics): told, never asked. */
export interface SnapshotObserver {
  /** A local snapshot was taken (ok) or failed; `bytes` is its file's size. */
  snapshotTaken(sample: { readonly ok: boolean; readonly ms: number; readonly bytes: number; readonly index: number }): void;
  /** The leader's publish to ZooKeeper ended: published, over_budget (not uploaded), fenced (deposed meanwhile) or failed. */
  snapshotPublished(sample: { readonly outcome: 'published' | 'over_budget' | 'fenced' | 'failed'; readonly ms: number }): void;
  /** An install ended: from ZooKeeper or from the leader, installed (ok) or not. */
  snapshotInstalled(sample: { readonly source: 'zookeeper' | 'leader'; readonly ok: boolean }): void;
}

const noSnapshotObserver: SnapshotObserver = { snapshotTaken: () => undefined, snapshotPublished: () => undefined, snapshotInstalled: () => undefined };

/** What `duoraft admin snapshot` gets back. */
export interface SnapshotTaken {
  readonly saved: SavedSnapshot;
  readonly tookMs: number;
  /** 'published', 'not-leader', 'over-budget', or 'failed: why'. */
  readonly publish: string;
  readonly zkBudget: ZkBudgetStatus | null;
}

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
  /** Told about snapshots taken, published and installed (default: nobody). */
  readonly observer?: SnapshotObserver;
  /** The leader's compaction of wal/ outside its publishes (default: defaultWalCompactorLimits). */
  readonly compactorLimits?: Partial<WalCompactorLimits>;
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
/** Publishes of the local snapshot retried after failures in one term, at most (then the next snapshot tries). */
const MAX_PUBLISH_RETRIES = 6;
/** Failed range reads in a row a pull survives (each resumes where the last one stopped). */
const MAX_RANGE_FAILURES = 3;
/** Bytes read at a time when a snapshot is uploaded. */
const UPLOAD_READ_BYTES = 1 << 20;
/** A new leader counts ZooKeeper this long after it starts leading (not in the take-over's rush). */
const COUNT_AFTER_LEADING_MS = 2_000;
/**
 * Segments a publish's compaction deletes before the publish returns; the WalCompactor
 * deletes the rest in rounds, so the next snapshot's upload is not held up (wal-compactor.ts).
 */
const INLINE_COMPACTION_SEGMENTS = defaultWalCompactorLimits.roundSegments;
/**
 * A new leader checks this long after its term starts whether its newest local snapshot is
 * newer than ZooKeeper's newest, and publishes it if so.
 */
const PUBLISH_LOCAL_AFTER_LEADING_MS = 1_000;
/** While over budget, a snapshot is taken again this often (if anything was applied) to see whether deletes made room. */
const OVER_RECHECK_MS = 30_000;
/** Past the budget's ceiling, how often a snapshot is retaken while none lands (a publish takes a second or two). */
const CEILING_RETAKE_MS = 1_000;

export class Snapshotter {
  private readonly o: SnapshotterOptions;
  private newestSaved: SavedSnapshot | null;
  private entriesSince = 0;
  private bytesSince = 0;
  private taking: Promise<SavedSnapshot> | null = null;
  private installing: Promise<boolean> | null = null;
  private lastError = '';
  private notBefore = 0;
  private publishing: Promise<string> | null = null;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;
  private readonly observer: SnapshotObserver;
  /** The leader's count of what ZooKeeper holds (reset at every term). */
  private readonly budget: ZkBudget;
  /** The epoch version the budget's count belongs to (null: not leading). */
  private budgetEpoch: number | null = null;
  private leadingSince = 0;
  private counting: Promise<void> | null = null;
  private lastTakenAt = 0;
  /** The publish started for the last snapshot taken. */
  private publishOf: { readonly index: number; readonly outcome: Promise<string> } | null = null;
  /** The leader's compaction of wal/ outside its publishes (null without ZooKeeper snapshots). */
  private readonly compactor: WalCompactor | null;
  /** Failed publishes retried in this term (bounded by MAX_PUBLISH_RETRIES). */
  private publishRetries = 0;
  /** The planned check whether ZooKeeper lacks this leader's newest local snapshot. */
  private publishCheck: TimerHandle | null = null;

  constructor(options: SnapshotterOptions) {
    this.o = options;
    this.newestSaved = options.initial;
    this.observer = options.observer ?? noSnapshotObserver;
    this.budget = new ZkBudget(options.policy.zkBudgetBytes);
    this.compactor = options.zk
      ? new WalCompactor({
          store: options.zk,
          clock: options.clock,
          logger: options.logger,
          host: {
            leaderEpochVersion: () => (this.stopped ? null : this.o.host.leaderEpochVersion()),
            keepSnapshots: () => (this.budgetEpoch !== null && this.budget.mode !== 'normal' ? 1 : this.o.policy.keep),
            // Never during a count of ZooKeeper: segments deleted while it runs might or might not be in it.
            busy: () => this.counting,
            compacted: (epochVersion, report) => {
              if (this.budgetEpoch === epochVersion) this.budget.walCompacted(report.deletedBytes);
            },
            compactionFailed: (epochVersion) => {
              if (this.budgetEpoch === epochVersion) this.budget.recountSoon();
            },
          },
          ...(options.compactorLimits ? { limits: options.compactorLimits } : {}),
        })
      : null;
  }

  /** Entries were applied: count them, and take a snapshot when the policy (or the ZooKeeper budget) says so. */
  noteApplied(entries: readonly Entry[]): void {
    this.entriesSince += entries.length;
    for (const e of entries) this.bytesSince += e.data.length;
    this.followLeadership();
    if (this.entriesSince >= this.o.policy.everyEntries || this.bytesSince >= this.o.policy.everyBytes || this.budgetDue()) this.maybeTake();
  }

  /** Leader: bytes of a WAL segment its mirror appended to ZooKeeper (counted against the budget). */
  walAppended(bytes: number): void {
    if (this.budgetEpoch !== null) this.budget.walAppended(bytes);
  }

  /** Leader, once it has counted ZooKeeper: what the cluster keeps there against the budget. */
  zkBudget(): ZkBudgetStatus | null {
    this.followLeadership();
    this.budgetDue(); // starts a count when one is due (an idle leader is counted when asked)
    return this.budgetEpoch === null ? null : this.budget.status(this.o.clock.now());
  }

  /** Leader: the state is too large for the ZooKeeper budget; writes that add data are to be refused. */
  refusesGrowth(): boolean {
    return this.budgetEpoch !== null && this.budgetEpoch === this.o.host.leaderEpochVersion() && this.budget.over;
  }

  /**
   * Leader: ZooKeeper holds more than the budget's ceiling (the log outran the snapshots, or
   * publishes keep failing): why, for the writes that add data to wait on; else null. It
   * lifts as soon as a publish compacts wal/ back under; the publish is under way, or due.
   */
  ceilingReached(): string | null {
    if (this.budgetEpoch === null || this.budgetEpoch !== this.o.host.leaderEpochVersion() || !this.budget.counted) return null;
    const used = this.budget.used();
    const ceiling = budgetCeilingBytes(this.budget.budgetBytes);
    if (used <= ceiling) return null;
    // The writes waiting here are what applies nothing: the snapshot that lifts the wait is
    // started from here when due (noteApplied, which starts the others, may not run again).
    if (this.budgetDue()) this.maybeTake();
    return (
      `ZooKeeper holds ${formatBytes(used)}, over the ${formatBytes(ceiling)} ceiling of its ${formatBytes(this.budget.budgetBytes)} budget ` +
      '(the log outran the snapshots); writes that add data wait until a snapshot is published and the log behind it compacted'
    );
  }

  /**
   * Takes a snapshot now (duoraft admin snapshot) and, on the leader, publishes it; resolves
   * once it is durable locally and the publish is done or refused.
   */
  async takeAndPublish(): Promise<SnapshotTaken> {
    if (this.stopped) throw new UnavailableError('this member is stopping');
    if (this.installing) throw new UnavailableError('this member is installing a snapshot; try again when it is done');
    const started = this.o.clock.now();
    const saved = await (this.taking ?? this.take());
    const tookMs = Math.round(this.o.clock.now() - started);
    let publish = this.publishOf?.index === saved.point.index ? await this.publishOf.outcome : 'not-leader';
    if (publish.startsWith('skipped')) publish = await this.publish(saved, true);
    return { saved, tookMs, publish, zkBudget: this.zkBudget() };
  }

  /** Takes a snapshot now (duoraft admin snapshot); resolves once it is durable locally. */
  takeNow(): Promise<SavedSnapshot> {
    if (this.installing && !this.taking) return Promise.reject(new UnavailableError('this member is installing a snapshot; try again when it is done'));
    return this.taking ?? this.take();
  }

  newest(): SavedSnapshot | null {
    return this.newestSaved;
  }

  status(): SnapshotStatus {
    const s = this.newestSaved;
    return { index: s?.point.index ?? 0, sizeBytes: s?.sizeBytes ?? 0, taking: this.taking !== null, installing: this.installing !== null, lastError: this.lastError };
  }

  private observeInstall(install: Promise<boolean>, source: 'zookeeper' | 'leader'): void {
    install.then(
      (ok) => this.observer.snapshotInstalled({ source, ok }),
      () => this.observer.snapshotInstalled({ source, ok: false }),
    );
  }

  /**
   * A new term (or the end of leading) starts the ZooKeeper count afresh; a new term also
   * compacts wal/ behind the snapshots its predecessors left in ZooKeeper, soon.
   */
  private followLeadership(): void {
    const epoch = this.o.zk ? this.o.host.leaderEpochVersion() : null;
    if (epoch === this.budgetEpoch) return;
    this.budgetEpoch = epoch;
    this.budget.reset();
    this.publishRetries = 0;
    this.leadingSince = this.o.clock.now();
    if (epoch !== null && !this.stopped) {
      this.compactor?.termStarted(epoch);
      this.planPublishCheck(epoch, PUBLISH_LOCAL_AFTER_LEADING_MS);
    }
  }

  private planPublishCheck(epoch: number, delayMs: number): void {
    this.publishCheck?.cancel();
    this.publishCheck = this.o.clock.setTimeout(() => {
      this.publishCheck = null;
      void this.publishIfNewer(epoch);
    }, delayMs);
  }

  /**
   * Leader: ZooKeeper's newest complete snapshot is older than this node's newest local one
   * (taken or installed while following, or its publish failed): publish the local one. A
   * node rebuilt from ZooKeeper walks the log after ZooKeeper's newest snapshot, so a stale
   * one makes that walk long (notes/results.md: 97.6 s in the soak, past the recovery timeout).
   */
  private async publishIfNewer(epoch: number): Promise<void> {
    const zk = this.o.zk;
    const saved = this.newestSaved;
    const mayGo = (): boolean => !this.stopped && this.o.host.leaderEpochVersion() === epoch && !this.publishing && !this.taking;
    if (!zk || !saved || !mayGo()) return;
    try {
      const newestInZk = (await zk.list())[0]?.point.index ?? 0;
      if (saved.point.index <= newestInZk || !mayGo() || this.newestSaved !== saved) return;
      this.o.logger.info({ index: saved.point.index, newestInZk }, 'publishing the newest local snapshot: ZooKeeper holds only older ones');
      await this.publish(saved, false);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not compare the local snapshot with ZooKeeper\'s; the next term or failed publish tries again');
    }
  }

  /**
   * Leader: a snapshot is due for the budget's sake (used + the next snapshot + the reserve
   * reach the budget); while over, one every OVER_RECHECK_MS to see whether deletes made room.
   * Starts the count of ZooKeeper when one is due.
   */
  private budgetDue(): boolean {
    const zk = this.o.zk;
    if (!zk || this.budgetEpoch === null || this.stopped) return false;
    const now = this.o.clock.now();
    if (!this.counting && !this.publishing && now - this.leadingSince >= COUNT_AFTER_LEADING_MS && this.budget.countDue(now)) {
      void this.count(zk);
    }
    if (!this.budget.counted || this.publishing || this.taking) return false;
    // Past the ceiling writes wait: a snapshot now, whatever was applied since the last one
    // (its publish may have failed), and again every CEILING_RETAKE_MS until one lands.
    if (this.budget.used() > budgetCeilingBytes(this.budget.budgetBytes)) {
      // While the compactor still deletes behind the newest snapshot, another full snapshot
      // would only slow it down (its uploads queue between the rounds).
      if (this.budgetEpoch !== null && this.compactor?.pending(this.budgetEpoch)) return false;
      return now - this.lastTakenAt >= CEILING_RETAKE_MS;
    }
    if (this.budget.over) return this.entriesSince > 0 && now - this.lastTakenAt >= OVER_RECHECK_MS;
    if (this.bytesSince < Math.max(1, Math.floor(this.o.policy.everyBytes / 8))) return false;
    const newest = this.newestSaved ? snapshotZkBytes(this.newestSaved.sizeBytes, zk.chunkBytes) : 0;
    return budgetWantsSnapshot(this.budget.used(), newest + this.bytesSince, this.budget.reserve(), this.budget.budgetBytes);
  }

  /** Counts what ZooKeeper holds (bounded by inspectZk's deadline); never throws. */
  private count(zk: ZkSnapshotStore): Promise<void> {
    if (this.counting) return this.counting;
    const epoch = this.budgetEpoch;
    // A compaction round in flight ends first (the compactor starts none while this runs).
    const round = this.compactor?.roundInFlight() ?? null;
    const inspect = async (): Promise<ZkUsage> => {
      if (round) await round.then(() => undefined, () => undefined);
      this.budget.countStarted();
      return zk.inspect();
    };
    this.counting = inspect()
      .then(
        (usage) => {
          if (this.budgetEpoch !== epoch) return;
          const firstCount = !this.budget.counted;
          this.budget.countDone(usage, this.o.clock.now());
          // A new leader learns from ZooKeeper whether the state is too large, before its
          // first snapshot: the newest complete snapshot there is the state's size.
          const newest = usage.snapshots.find((s) => s.state === 'complete');
          if (firstCount && newest && stateTooLarge(newest.dataBytes, this.budget.budgetBytes)) {
            this.budget.setMode('over', `the newest snapshot in ZooKeeper (index ${newest.index}) takes ${formatBytes(newest.dataBytes)}: two of them and the least reserve for the log do not fit in the ${formatBytes(this.budget.budgetBytes)} budget`);
            this.logOver();
          }
        },
        (err: unknown) => {
          this.budget.countFailed();
          this.o.logger.warn({ err: (err as Error).message }, 'could not count what ZooKeeper holds for the budget; trying again later');
        },
      )
      .finally(() => {
        this.counting = null;
      });
    return this.counting;
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.publishCheck?.cancel();
    this.compactor?.stop();
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
    this.observeInstall(this.installing, 'zookeeper');
    return this.installing;
  }

  /** The point of a complete snapshot in ZooKeeper at exactly `index` (its manifest only), or null. */
  async zkPointAt(index: number): Promise<SnapshotPoint | null> {
    const zk = this.o.zk;
    if (!zk) return null;
    const m = (await zk.list()).find((x) => x.point.index === index);
    return m ? m.point : null;
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
    this.observeInstall(this.installing, 'leader');
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
      this.lastTakenAt = started;
      this.budget.markGrowth();
      try {
        const saved = await this.o.storage.save(point, kv.openView());
        this.lastError = '';
        const ms = Math.round(this.o.clock.now() - started);
        this.o.logger.info({ index, bytes: saved.sizeBytes, ms }, 'snapshot taken');
        this.observer.snapshotTaken({ ok: true, ms, bytes: saved.sizeBytes, index });
        // A snapshot installed while this one was written is newer: it stays the one this
        // node offers and builds on (offering the older one would send a follower that
        // needs more a snapshot that cannot help it, again and again).
        if (this.newestSaved && this.newestSaved.point.index >= saved.point.index) {
          this.o.logger.info({ index, newest: this.newestSaved.point.index }, 'a newer snapshot was installed meanwhile: this one is kept locally only');
          return saved;
        }
        this.newestSaved = saved;
        await this.o.storage.prune(this.o.policy.keep);
        await this.o.host.compactLocal(Math.max(0, index - this.o.policy.retainEntries), index);
        this.publishOf = { index, outcome: this.publish(saved, false) };
        return saved;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.notBefore = this.o.clock.now() + RETRY_AFTER_FAILURE_MS;
        this.o.logger.error({ index, err: this.lastError }, 'taking a snapshot failed; trying again later');
        this.observer.snapshotTaken({ ok: false, ms: Math.round(this.o.clock.now() - started), bytes: 0, index });
        throw err;
      }
    };
    const p = run().finally(() => {
      this.taking = null;
    });
    this.taking = p;
    return p;
  }

  /**
   * A leader uploads its snapshot to ZooKeeper, within the budget (budgeted-publish.ts),
   * which then prunes and compacts wal/ behind it. Resolves with the outcome ('published',
   * 'not-leader', 'over-budget', 'skipped: ...' or 'failed: ...'); never rejects. One at a
   * time: with `wait`, after the one running; without, a snapshot taken meanwhile is not
   * published (the next one is).
   */
  private publish(saved: SavedSnapshot, wait: boolean): Promise<string> {
    const zk = this.o.zk;
    const epochVersion = this.o.host.leaderEpochVersion();
    if (!zk || epochVersion === null || this.stopped) return Promise.resolve('not-leader');
    const running = this.publishing;
    if (running) {
      if (!wait) return Promise.resolve(`skipped: the publish of an earlier snapshot is still running`);
      return running.then(() => (this.publishing ? 'skipped: another publish started meanwhile' : this.publish(saved, false)));
    }
    const p = this.publishNow(zk, saved, epochVersion).finally(() => {
      this.publishing = null;
    });
    this.publishing = p;
    return p;
  }

  private async publishNow(zk: ZkSnapshotStore, saved: SavedSnapshot, epochVersion: number): Promise<string> {
    const started = this.o.clock.now();
    const ms = (): number => Math.round(this.o.clock.now() - started);
    const wasOver = this.budget.over;
    const wasMode = this.budget.mode;
    try {
      this.followLeadership();
      if (this.counting) await this.counting;
      if (this.budget.countDue(this.o.clock.now())) await this.count(zk);
      if (!this.budget.counted) throw new UnavailableError('ZooKeeper could not be counted for the budget; the next snapshot tries again');
      const r = await publishWithinBudget(
        zk,
        this.budget,
        { point: saved.point, sizeBytes: saved.sizeBytes, sha256: new Uint8Array(Buffer.from(saved.sha256, 'hex')), chunks: this.o.storage.chunks(saved, UPLOAD_READ_BYTES), epochVersion },
        this.o.policy.keep,
        this.o.logger,
        INLINE_COMPACTION_SEGMENTS,
      );
      this.budget.growthMeasured();
      // Covered segments the publish's own compaction left (one round at most): go on in rounds.
      if (r.compactionLeft) this.compactor?.resume(epochVersion);
      const used = this.budget.used();
      this.observer.snapshotPublished({ outcome: r.outcome === 'published' ? 'published' : 'over_budget', ms: ms() });
      if (r.outcome === 'published') {
        this.publishRetries = 0;
        this.o.logger.info(
          { index: saved.point.index, bytes: saved.sizeBytes, ms: ms(), compactedSegments: r.compactedSegments, zkUsedBytes: used, zkBudgetBytes: this.budget.budgetBytes, mode: r.mode },
          'snapshot published to ZooKeeper',
        );
      }
      if (r.mode === 'over') this.logOver();
      else if (wasOver) this.o.logger.warn({ index: saved.point.index, zkUsedBytes: used, zkBudgetBytes: this.budget.budgetBytes }, 'ZooKeeper budget: the state fits again; writes that add data are accepted again');
      else if (r.mode === 'tight' && wasMode !== 'tight') this.o.logger.warn({ zkUsedBytes: used, zkBudgetBytes: this.budget.budgetBytes, reason: r.reason }, 'ZooKeeper budget is tight');
      return r.outcome;
    } catch (err) {
      this.budget.growthMeasured();
      // A compaction may have deleted segments before it failed: count ZooKeeper again soon.
      this.budget.recountSoon();
      if (err instanceof EpochFencedError) {
        // No longer the leader: its successor publishes.
        this.observer.snapshotPublished({ outcome: 'fenced', ms: ms() });
        return 'not-leader';
      }
      this.lastError = (err as Error).message;
      this.observer.snapshotPublished({ outcome: 'failed', ms: ms() });
      // The upload may have landed and its compaction not: the compactor finishes it (bounded
      // retries). If it did not land, the snapshot is published again later.
      this.compactor?.resume(epochVersion);
      if (++this.publishRetries <= MAX_PUBLISH_RETRIES) this.planPublishCheck(epochVersion, RETRY_AFTER_FAILURE_MS);
      this.o.logger.warn({ index: saved.point.index, err: this.lastError }, 'publishing a snapshot to ZooKeeper failed; the next snapshot tries again');
      return `failed: ${this.lastError}`;
    }
  }

  /** The loud line, at every snapshot while the state is too large for the budget. */
  private logOver(): void {
    const s = this.budget.status(this.o.clock.now());
    this.o.logger.error(
      { zkUsedBytes: s?.usedBytes ?? 0, zkBudgetBytes: this.budget.budgetBytes, snapshotBytes: this.newestSaved?.sizeBytes ?? 0, reason: s?.reason ?? '' },
      'ZooKeeper budget exceeded: the state is too large for --zk-budget-bytes; writes that add data (put, incr, cas) are refused until deletes shrink it or the budget is raised',
    );
  }
}
