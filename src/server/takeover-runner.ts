// Runs the take-over the core asks for (fence, read the tail, replay; see
// src/coordination/takeover.ts) and reports its result, one at a time.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { takeOver } from '../coordination/takeover.js';
import type { ZkSession } from '../coordination/zk-api.js';
import type { TakeoverRequest, TakeoverResult } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import type { EpochSeen } from './cluster-watches.js';
import type { FencedTerm } from './leadership.js';
import type { NodeConfig } from './node-config.js';
import type { ConfigSeen } from './voter-config.js';

/** Bound on the replay phase of a take-over (after a successful fence). */
const REPLAY_DEADLINE_MS = 5000;

export interface TakeoverRunnerOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: NodeConfig;
  readonly selfId: NodeId;
  /** The result for the core, and on success what the new term needs. */
  readonly onDone: (result: TakeoverResult, fenced: FencedTerm | null) => void;
  /** ZooKeeper holds less than this node knows was committed. */
  readonly onZkDataLost: (reason: string) => void;
  /** The replay needs entries compacted behind a snapshot: load it; the index it covers, or null. */
  readonly loadSnapshot: (wanted: number) => Promise<number | null>;
  /** The fence succeeded (the replay follows): the term's lease starts now. */
  readonly onFenced: (f: { readonly term: number; readonly epochVersion: number; readonly leaseValidUntil: number; readonly leaseValidUntilWall: number }) => void;
  /** Told how each take-over went (metrics); nothing by default. */
  readonly observer?: TakeoverObserver;
  /**
   * Whether the core still waits for the outcome of `req` (it is a candidate in req.term).
   * A request that came while another take-over ran is started once that one ends, if so.
   */
  readonly stillWanted?: (req: TakeoverRequest) => boolean;
  /** What the watches see now: a queued request starts with it rather than with what they saw when it was queued. */
  readonly knownNow?: () => KnownCluster;
}

/** One take-over, as metrics see it. */
export interface TakeoverSample {
  /** The leader handed over (TimeoutNow), rather than this node suspecting it. */
  readonly transfer: boolean;
  readonly ok: boolean;
  /** From the start to the fence's success (null when it did not fence). */
  readonly fenceMs: number | null;
  /** From the fence to the replayed log (null when it did not fence). */
  readonly replayMs: number | null;
}

export interface TakeoverObserver {
  takeoverDone(sample: TakeoverSample): void;
}

/** What the watches last saw: lets the fence go out in one round trip. */
export interface KnownCluster {
  readonly epoch: EpochSeen | null;
  readonly leaderZnodeExists: boolean;
  /** The config znode's version as last seen, and whether it names this node a voter (the fence checks it). */
  readonly config: ConfigSeen | null;
}

export class TakeoverRunner {
  private readonly o: TakeoverRunnerOptions;
  private running = false;
  private stopped = false;
  /** The last take-over failed on a tail that did not decode: check it before the next fence. */
  private tailUnreadable = false;
  /** The newest request that came while a take-over ran (one at most: a newer one replaces it). */
  private queued: { readonly req: TakeoverRequest; readonly known: KnownCluster } | null = null;

  constructor(options: TakeoverRunnerOptions) {
    this.o = options;
  }

  start(req: TakeoverRequest, known: KnownCluster): void {
    const { logger, clock, config } = this.o;
    if (this.running) {
      // The core asked again (it became a candidate anew while the replay of an earlier
      // take-over ran). Ignoring it left the core a candidate until its candidate timeout,
      // 30 s, with no take-over running: the soak's 30 s outliers. It runs next instead,
      // if the core still wants it then.
      logger.info({ term: req.term }, 'take-over requested while one is running; it starts when that one ends');
      this.queued = { req, known };
      return;
    }
    this.running = true;
    const started = clock.now();
    logger.info({ term: req.term, leaseVersion: req.leaseVersion, commit: req.commit, transfer: req.transfer }, 'taking over: fencing ZooKeeper');
    const epoch = known.epoch;
    takeOver({
      zk: this.o.zk,
      paths: this.o.paths,
      clock,
      logger,
      selfId: this.o.selfId,
      address: config.advertise,
      request: req,
      ...(epoch
        ? { known: { epochTerm: epoch.term, epochLeader: epoch.leaderId, epochVersion: epoch.version, leaderExists: known.leaderZnodeExists, ...(known.config ? { config: known.config } : {}) } }
        : {}),
      leaseDurationMs: config.timing.leaseDurationMs,
      driftBound: config.timing.driftBound,
      replayDeadlineMs: REPLAY_DEADLINE_MS,
      onFenced: (f) => {
        if (!this.stopped) this.o.onFenced(f);
      },
      loadSnapshot: (wanted) => this.o.loadSnapshot(wanted),
      ...(config.faults?.readTailBeforeFence ? { unsafeReadTailBeforeFence: true } : {}),
      ...(config.faults?.tailWithoutSync ? { unsafeTailWithoutSync: true } : {}),
      ...(this.tailUnreadable ? { checkTailFirst: true } : {}),
    })
      .then((outcome) => {
        this.running = false;
        if (this.stopped) return;
        this.tailUnreadable = !outcome.ok && outcome.tailUnreadable === true;
        if (!outcome.ok) {
          if (outcome.zkDataLost) this.o.onZkDataLost(outcome.zkDataLost);
          logger.info({ reason: outcome.result.reason, epochTerm: outcome.result.epochTerm }, 'take-over failed');
          this.o.observer?.takeoverDone({ transfer: req.transfer, ok: false, fenceMs: null, replayMs: null });
          this.o.onDone(outcome.result, null);
          this.startQueued();
          return;
        }
        this.o.observer?.takeoverDone({ transfer: req.transfer, ok: true, fenceMs: outcome.fencedAt - started, replayMs: clock.now() - outcome.fencedAt });
        logger.info(
          { term: outcome.result.term, replayed: outcome.result.entries.length, zkTail: outcome.result.zkLastIndex, ms: Math.round(clock.now() - started) },
          'take-over done',
        );
        this.o.onDone(outcome.result, {
          term: outcome.result.term,
          epochVersion: outcome.epochVersion,
          tailVersion: outcome.tailVersion,
          tailLastIndex: outcome.result.zkLastIndex,
          tailSegmentFirstIndex: outcome.tailSegmentFirstIndex,
          leaseValidUntil: outcome.leaseValidUntil,
          leaseValidUntilWall: outcome.leaseValidUntilWall,
        });
        this.startQueued();
      })
      .catch((err: unknown) => {
        this.running = false;
        if (this.stopped) return;
        const reason = (err as Error).message;
        logger.warn({ err: reason }, 'take-over failed');
        this.o.observer?.takeoverDone({ transfer: req.transfer, ok: false, fenceMs: null, replayMs: null });
        this.o.onDone({ ok: false, epochTerm: 0, epochLeader: '', reason }, null);
        this.startQueued();
      });
  }

  /** Starts the request that came meanwhile, if the core (told the last outcome) still waits for it. */
  private startQueued(): void {
    const q = this.queued;
    this.queued = null;
    if (q === null || this.stopped || this.running) return;
    if (this.o.stillWanted?.(q.req) !== true) {
      this.o.logger.info({ term: q.req.term }, 'the take-over requested meanwhile is no longer wanted');
      return;
    }
    this.start(q.req, this.o.knownNow?.() ?? q.known);
  }

  stop(): void {
    this.stopped = true;
    this.queued = null;
  }
}
