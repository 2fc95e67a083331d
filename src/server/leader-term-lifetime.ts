// The lifetime of a leader term on this node, kept apart from the node driver's loop (as etcd
// keeps its Raft node apart from what it drives): what the last successful take-over
// established (the fenced term), the lease started at the fence and touched through the
// replay (the early lease), the LeaderTerm (leadership.ts) from the moment the core leads
// the fenced term until it stops leading it, and the leader's claim on its ephemeral znode.
//
// The driver decides when each step runs, in its one order of a Ready's side effects
// (onSoftState, carryOut, stop; notes/safety.md, S1-S5 hinge on it): nothing here steps the
// core on its own initiative except through the LeaderHost the term's parts report to.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import type { LeaseKeeper } from '../coordination/lease.js';
import type { ZkSession } from '../coordination/zk-api.js';
import type { RaftCore, SoftState } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import type { LeaderClaim } from './ephemerals.js';
import { type FencedTerm, type LeaderHost, LeaderTerm, startTermLease } from './leadership.js';
import type { NodeConfig } from './node-config.js';
import type { NodeTelemetry } from './telemetry.js';
import { withWalBytesCounted } from './zk-budget.js';

/** The fence's lease, as the take-over reports it (takeover-runner.ts, onFenced). */
export interface FenceLease {
  readonly term: number;
  readonly epochVersion: number;
  readonly leaseValidUntil: number;
  readonly leaseValidUntilWall: number;
}

/** What the term's lifetime needs of the driver. */
export interface LeaderTermLifetimeHost {
  /** The node stopped: nothing more may reach the core. */
  stopped(): boolean;
  /** Asks the loop to run (processReady on the next turn). */
  schedule(): void;
  /** The term cannot go on (another node fenced us, or a persistent error). */
  fenced(term: number, reason: string): void;
  /** The leader znode this node keeps while it leads (ephemerals.ts); null: none. */
  setLeaderClaim(claim: LeaderClaim | null): void;
  /** Bytes of WAL segments the mirror appended (the snapshot policy counts them). */
  walAppended(bytes: number): void;
}

export interface LeaderTermLifetimeOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: NodeConfig;
  readonly selfId: NodeId;
  /** Told what the term's parts learn from ZooKeeper. */
  readonly core: Pick<RaftCore, 'mirrorCommitted' | 'committedInCurrentTerm' | 'mirrorFenced' | 'leaseExpired' | 'leaseTouchLanded' | 'leaseRenewed'>;
  readonly telemetry: NodeTelemetry;
  readonly host: LeaderTermLifetimeHost;
}

export class LeaderTermLifetime {
  private readonly o: LeaderTermLifetimeOptions;
  /** What the last successful take-over established, until the core leads that term. */
  private fencedTerm: FencedTerm | null = null;
  private leading: LeaderTerm | null = null;
  /** The lease of a term this node fenced and is still replaying (it becomes the leader term's). */
  private termLease: { readonly term: number; readonly keeper: LeaseKeeper } | null = null;

  constructor(options: LeaderTermLifetimeOptions) {
    this.o = options;
  }

  /** The leader term under way (null when not leading). */
  current(): LeaderTerm | null {
    return this.leading;
  }

  /** A take-over succeeded: what it established, for startLeading once the core leads `fenced.term`. */
  takeoverFenced(fenced: FencedTerm): void {
    this.fencedTerm = fenced;
  }

  /** The fence succeeded: touch the lease from now on, through the replay (see startTermLease). */
  startTermLease(f: FenceLease): void {
    if (this.o.host.stopped()) return;
    this.termLease?.keeper.stop();
    const keeper = startTermLease({
      zk: this.o.zk,
      paths: this.o.paths,
      clock: this.o.clock,
      logger: this.o.logger,
      config: this.o.config,
      selfId: this.o.selfId,
      term: f.term,
      epochVersion: f.epochVersion,
      validUntil: f.leaseValidUntil,
      validUntilWall: f.leaseValidUntilWall,
      host: this.leaderHost(),
      isClosed: () => this.o.host.stopped() || (this.termLease?.keeper !== keeper && this.leading?.term !== f.term),
      onLapsed: () => this.o.telemetry.leaseLapsed(),
    });
    this.termLease = { term: f.term, keeper };
  }

  /** The role the loop carries out changed from `prev` to `s`: a term that ended stops, a new one starts. */
  roleChanged(prev: SoftState, s: SoftState): void {
    if (prev.role === 'leader' && (s.role !== 'leader' || s.term !== prev.term)) this.stopLeading();
    if (s.role === 'leader' && (prev.role !== 'leader' || prev.term !== s.term)) this.startLeading(s.term);
  }

  /** A lease started at a fence whose take-over did not end in leading it: stop it. */
  dropUnledLease(s: SoftState): void {
    if (this.termLease && s.role !== 'candidate' && !(s.role === 'leader' && s.term === this.termLease.term)) {
      this.termLease.keeper.stop();
      this.termLease = null;
    }
  }

  /** A transfer that relinquished the lease was given up: the leader term touches it again. */
  resumeLease(): void {
    this.leading?.resumeLease();
  }

  /** Stops the lease of a fence still replaying (the node stops). */
  stopTermLease(): void {
    this.termLease?.keeper.stop();
  }

  stopLeading(): void {
    this.leading?.close();
    this.leading = null;
    this.fencedTerm = null;
    this.o.host.setLeaderClaim(null);
  }

  private startLeading(term: number): void {
    const f = this.fencedTerm;
    if (!f || f.term !== term) {
      this.o.logger.error({ term }, 'became leader without the fence details: stepping down');
      this.o.core.mirrorFenced(term);
      this.o.host.schedule();
      return;
    }
    const earlyLease = this.termLease?.term === term ? this.termLease.keeper : undefined;
    this.termLease = null;
    this.leading = new LeaderTerm({
      zk: this.o.zk,
      paths: this.o.paths,
      clock: this.o.clock,
      logger: this.o.logger,
      config: this.o.config,
      selfId: this.o.selfId,
      fenced: f,
      // The segments it appends are counted against the ZooKeeper budget too.
      observer: withWalBytesCounted(this.o.telemetry, (bytes) => this.o.host.walAppended(bytes)),
      host: this.leaderHost(),
      ...(earlyLease ? { lease: earlyLease } : {}),
    });
    this.o.host.setLeaderClaim({ term, epochVersion: f.epochVersion });
    this.o.logger.info({ term, epochVersion: f.epochVersion, zkTail: f.tailLastIndex }, 'leading');
  }

  private leaderHost(): LeaderHost {
    const { core, host } = this.o;
    return {
      mirrorCommitted: (t, lastIndex) => {
        if (host.stopped()) return;
        core.mirrorCommitted(t, lastIndex);
        if (core.committedInCurrentTerm()) this.o.telemetry.committedInTerm(t);
        host.schedule();
      },
      fenced: (t, reason) => host.fenced(t, reason),
      leaseExpired: (t) => {
        core.leaseExpired(t);
        host.schedule();
      },
      leaseTouchLanded: (t) => core.leaseTouchLanded(t),
      leaseRenewed: (t) => {
        core.leaseRenewed(t);
        host.schedule();
      },
    };
  }
}
