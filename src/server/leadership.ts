// One term of leadership: the WAL mirror (the commit point), the lease keeper, and the
// leadership checks reads and hand-overs need. Created when the core becomes leader of the
// term this node fenced, closed when it stops leading it.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { LeaseKeeper } from '../coordination/lease.js';
import { type MirrorObserver, WalMirror } from '../coordination/wal-mirror.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { ZkError } from '../coordination/zk-api.js';
import type { ChainedEntry, NodeId } from '../core/types.js';
import type { NodeConfig } from './node-config.js';

/** What the fence and replay established: everything this node needs to lead `term`. */
export interface FencedTerm {
  readonly term: number;
  readonly epochVersion: number;
  readonly tailVersion: number;
  readonly tailLastIndex: number;
  /** The first index of the segment holding the tail (the back-link of our first segment). */
  readonly tailSegmentFirstIndex: number;
  /** The lease the fence multi itself started (by this node's clock). */
  readonly leaseValidUntil: number;
  /** The same on the wall clock. */
  readonly leaseValidUntilWall: number;
}

/** How a term's parts report back to the core (the driver steps it and schedules). */
export interface LeaderHost {
  mirrorCommitted(term: number, lastIndex: number): void;
  /** Another node took over, or the term cannot go on (a persistent error): stop leading it. */
  fenced(term: number, reason: string): void;
  leaseExpired(term: number): void;
  leaseRenewed(term: number): void;
  /** A lease touch of `term` landed, in time or not. */
  leaseTouchLanded(term: number): void;
}

export interface LeaderTermOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: NodeConfig;
  readonly selfId: NodeId;
  readonly fenced: FencedTerm;
  readonly host: LeaderHost;
  /** The lease started at the fence (startTermLease), if one runs for this term. */
  readonly lease?: LeaseKeeper;
  /** Told of the mirror's multis and of lease lapses (metrics); nothing by default. */
  readonly observer?: LeaderTermObserver;
}

export interface TermLeaseOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: NodeConfig;
  readonly selfId: NodeId;
  readonly term: number;
  readonly epochVersion: number;
  /** The lease the fence multi started (it touched the lease), on both clocks. */
  readonly validUntil: number;
  readonly validUntilWall: number;
  readonly host: LeaderHost;
  /** Callbacks are dropped once this says true. */
  readonly isClosed: () => boolean;
  /** Told when the lease lapses (metrics). */
  readonly onLapsed?: () => void;
}

/**
 * The lease of a fenced term. It starts at the fence, not when the take-over is done: the
 * other voter watches the lease, and a replay that takes longer than its window must not
 * look like a dead leader (each would fence the other in turn, for ever).
 */
export function startTermLease(o: TermLeaseOptions): LeaseKeeper {
  const { zk, paths, clock, logger, config, selfId, host, term, isClosed } = o;
  return new LeaseKeeper({
    zk,
    paths,
    clock,
    logger,
    term,
    leaderId: selfId,
    epochVersion: o.epochVersion,
    intervalMs: config.timing.leaseIntervalMs,
    durationMs: config.timing.leaseDurationMs,
    driftBound: config.timing.driftBound,
    initialValidUntil: o.validUntil,
    initialValidUntilWall: o.validUntilWall,
    onExpired: () => {
      if (isClosed()) return;
      o.onLapsed?.();
      host.leaseExpired(term);
    },
    onRenewed: () => {
      if (!isClosed()) host.leaseRenewed(term);
    },
    onLanded: () => {
      if (!isClosed()) host.leaseTouchLanded(term);
    },
    onFenced: (reason) => {
      if (isClosed()) return;
      logger.warn({ term, reason }, 'fenced (lease): another node took over');
      host.fenced(term, reason);
    },
  });
}

export interface LeaderTermObserver extends MirrorObserver {
  /** No lease touch succeeded in time: the lease lapsed (it may be renewed later). */
  leaseLapsed(): void;
}

export class LeaderTerm {
  readonly term: number;
  readonly epochVersion: number;
  private readonly o: LeaderTermOptions;
  private readonly mirror: WalMirror;
  private lease: LeaseKeeper;
  private closed = false;

  constructor(options: LeaderTermOptions) {
    this.o = options;
    const { zk, paths, clock, logger, config, fenced, host } = options;
    this.term = fenced.term;
    this.epochVersion = fenced.epochVersion;
    const term = this.term;
    this.mirror = new WalMirror({
      zk,
      paths,
      clock,
      logger,
      term,
      epochVersion: fenced.epochVersion,
      tailVersion: fenced.tailVersion,
      tailLastIndex: fenced.tailLastIndex,
      tailSegmentFirstIndex: fenced.tailSegmentFirstIndex,
      maxInflight: config.limits.maxInflightMultis,
      maxBatchBytes: config.limits.maxSegmentBytes,
      maxQueuedEntries: config.limits.maxPendingProposals * 2 + 16,
      onCommitted: (lastIndex) => {
        if (!this.closed) host.mirrorCommitted(term, lastIndex);
      },
      onFenced: (reason) => {
        if (this.closed) return;
        logger.warn({ term, reason }, 'fenced: another node took over');
        host.fenced(term, reason);
      },
      onFailed: (reason) => {
        if (!this.closed) host.fenced(term, reason);
      },
      ...(config.faults?.tailWithoutSync ? { unsafeAcceptAnyTail: true } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    this.lease = options.lease ?? this.newLease(fenced.leaseValidUntil, fenced.leaseValidUntilWall);
  }

  /** Entries to commit through ZooKeeper, contiguous with everything handed over before. */
  mirrorEntries(entries: readonly ChainedEntry[]): void {
    if (!this.closed) this.mirror.enqueue(entries);
  }

  /** Entries handed to the mirror and not yet known to be committed. */
  mirrorBacklog(): number {
    return this.mirror.backlog();
  }

  /** Whether lease reads may be served now. */
  leaseHolds(): boolean {
    return !this.closed && this.lease.holds();
  }

  /** How long the lease has been lapsed with no touch landing (0 while it holds; LeaseKeeper.unansweredForMs). */
  leaseUnansweredForMs(): number {
    return this.lease.unansweredForMs();
  }

  /** An event-loop stall: the lease ends now; it holds again once a touch succeeds whose send time + D is still ahead on both clocks. */
  lapseLease(): void {
    this.lease.lapseNow();
  }

  /** A transfer that relinquished the lease was given up: start touching it again. */
  resumeLease(): void {
    if (this.closed) return;
    this.o.logger.warn({ term: this.term }, 'leadership transfer given up: taking the lease back');
    this.lease.stop();
    this.lease = this.newLease(this.o.clock.now(), this.o.clock.wallNow());
  }

  /**
   * Ends the lease (no more lease reads or touches), then writes the record that says it
   * was relinquished; returns that write's version (the TimeoutNow names it, and the new
   * leader fences against exactly it). Rejects when the write did not surely land; a fence
   * found there is reported as one.
   */
  async relinquishLease(): Promise<number> {
    const keeper = this.lease;
    try {
      // Not once the lease was taken back (resumeLease: a new keeper) or the term closed.
      return await keeper.relinquish(() => this.lease === keeper && !this.closed);
    } catch (err) {
      if (err instanceof ZkError && err.code === 'BAD_VERSION' && err.failedOp === 0 && !this.closed) {
        this.o.host.fenced(this.term, 'epoch moved (the hand-over\'s lease write)');
      }
      throw err;
    }
  }

  /** One check of the epoch: resolves while we still hold it, rejects (and reports the fence) otherwise. */
  async confirm(): Promise<void> {
    try {
      await this.o.zk.multi([{ type: 'check', path: this.o.paths.epoch, version: this.epochVersion }]);
    } catch (err) {
      if (err instanceof ZkError && err.code === 'BAD_VERSION' && !this.closed) this.o.host.fenced(this.term, 'epoch moved (leadership check)');
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.mirror.close();
    this.lease.stop();
  }

  private newLease(validUntil: number, validUntilWall: number): LeaseKeeper {
    return startTermLease({
      ...this.o,
      term: this.term,
      epochVersion: this.epochVersion,
      validUntil,
      validUntilWall,
      isClosed: () => this.closed,
      onLapsed: () => this.o.observer?.leaseLapsed(),
    });
  }
}
