// The node driver: runs one voter's Raft core against the real world.
//
// The loop is etcd's: something happens (a tick, a peer message, a ZooKeeper answer, a
// client write) -> the core is told -> on the next turn of the event loop processReady()
// drains core.ready() and carries it out: persist to the local WAL, mirror to ZooKeeper,
// send to the peer, apply committed entries, answer clients, start a take-over.
//
// Everything is reached through interfaces (Clock, ZkSession, PeerTransport, LocalWal),
// so the deterministic simulator runs this very code with simulated parts.
import type { Clock, TimerHandle } from '../common/clock.js';
import {
  BusyError,
  type DuoraftError,
  InvalidArgumentError,
  type LeaderHint,
  NotLeaderError,
  UnavailableError,
  UnknownOutcomeError,
} from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ensureClusterTree } from '../coordination/cluster-init.js';
import { ClusterPaths } from '../coordination/layout.js';
import { LeaseKeeper } from '../coordination/lease.js';
import { peerOf, registerMember, registerVoter } from '../coordination/membership.js';
import { decodeConfig, decodeEpoch, decodeLeader, decodeMember, decodeTail, encodeLeader, type MemberRecord } from '../coordination/records.js';
import { takeOver } from '../coordination/takeover.js';
import { WalMirror } from '../coordination/wal-mirror.js';
import type { ZkConnectionState, ZkSession } from '../coordination/zk-api.js';
import { ZkError } from '../coordination/zk-api.js';
import { readCommittedEntries } from '../coordination/zk-log-reader.js';
import { ZnodeWatch } from '../coordination/znode-watch.js';
import type { Entry, NodeId } from '../core/types.js';
import type { Message, TimeoutNow } from '../core/messages.js';
import type { RandomSource } from '../core/random.js';
import { RaftCore, type LeadershipLost, type Ready, type Role, type SoftState, type TakeoverRequest } from '../core/raft.js';
import type { LocalWal, WalRecovery } from '../storage/local-wal.js';
import { encodeCommand, type KvCommand, validateCommand, validateKey, type WriteContext } from '../statemachine/command.js';
import { KvStore } from '../statemachine/kv-store.js';
import type { PeerTransport } from '../transport/transport.js';
import { AppliedWaiters } from './applied-waiters.js';
import { type NodeConfig, coreConfigFor, validateNodeConfig } from './node-config.js';
import { type Applied, PendingProposals } from './proposals.js';
import { PauseMonitor } from './pause-monitor.js';
import { ReadIndexQueue } from './read-index.js';

export type Consistency = 'linearizable' | 'lease' | 'stale';

export interface ReadResult {
  readonly found: boolean;
  readonly value: Uint8Array;
  /** The applied index the read reflects. */
  readonly index: number;
}

export interface MemberStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly leaderId: NodeId;
  readonly address: string;
}

export interface NodeDriverDeps {
  readonly config: NodeConfig;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly zk: ZkSession;
  readonly transport: PeerTransport;
  readonly wal: LocalWal;
  readonly recovery: WalRecovery;
}

/** What this node needs to lead the term it fenced. */
interface Leadership {
  readonly term: number;
  readonly epochVersion: number;
  readonly tailVersion: number;
  readonly tailLastIndex: number;
  readonly leaseValidUntil: number;
}

/** Bound on catch-up ticks run at once after the event loop was blocked. */
const MAX_CATCHUP_TICKS = 50;
/** Bound on ready() rounds per turn of the event loop; more work reschedules itself. */
const MAX_READY_ROUNDS = 16;
/** Segments read per round when a follower catches up from ZooKeeper. */
const CATCHUP_SEGMENTS = 64;
/**
 * A follower whose commit index has not moved for this long looks at ZooKeeper's tail, and
 * if it is behind, reads the committed entries from there. The normal path is the leader's
 * AppendEntries; this is the safety net for a follower the leader cannot feed fast enough
 * (a replacement with an empty disk) or at all (a broken peer channel).
 */
const STALL_CHECK_MS = 1000;
/** How far behind ZooKeeper's tail a stalled follower must be before it reads from there. */
const STALL_FAR_BEHIND = 1000;
/** How long a request waits for a take-over under way to finish. */
const TAKEOVER_HOLD_MS = 2000;

export class NodeDriver {
  readonly id: NodeId;
  private readonly cfg: NodeConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly zk: ZkSession;
  private readonly transport: PeerTransport;
  private readonly wal: LocalWal;
  private readonly paths: ClusterPaths;
  private readonly core: RaftCore;
  private readonly kv = new KvStore();
  private readonly proposals: PendingProposals;
  private readonly appliedWaiters: AppliedWaiters;
  private readonly reads: ReadIndexQueue;

  private soft: SoftState;
  private peer: NodeId = '';
  private peerAddress = '';
  private readonly addresses = new Map<NodeId, string>();
  private leaderZnode: { id: NodeId; address: string } | null = null;
  /** The epoch znode as the watch last saw it: lets a take-over fence in one round trip. */
  private epochSeen: { term: number; leaderId: NodeId; version: number } | null = null;
  private leaderZnodeExists = true;
  /** Callers waiting for the role to change (a take-over to finish), bounded. */
  private roleWaiters: Array<() => void> = [];
  private wasTransferring = false;
  private leadership: Leadership | null = null;
  private mirror: WalMirror | null = null;
  private lease: LeaseKeeper | null = null;
  private takeoverRunning = false;
  private lastStamp = 0;

  private scheduled = false;
  private stopped = false;
  private tickTimer: TimerHandle | null = null;
  private tickOrigin = 0;
  private ticksDone = 0;
  private walSyncing = false;
  private walSyncAgain = false;
  private walSyncTimer: TimerHandle | null = null;
  private stallTimer: TimerHandle | null = null;
  private commitAtStallCheck = -1;
  private lastWalSync = Number.NEGATIVE_INFINITY;

  private readonly watches: ZnodeWatch[] = [];
  private peerWatch: ZnodeWatch | null = null;
  private tailWatch: ZnodeWatch | null = null;
  private catchingUp = false;
  private unsubscribeZk: (() => void) | null = null;
  private pauseMonitor: PauseMonitor | null = null;
  private sawExpiry = false;

  private constructor(deps: NodeDriverDeps, voters: readonly NodeId[]) {
    validateNodeConfig(deps.config);
    this.cfg = deps.config;
    this.id = deps.config.id;
    this.clock = deps.clock;
    this.log = deps.logger;
    this.zk = deps.zk;
    this.transport = deps.transport;
    this.wal = deps.wal;
    this.paths = new ClusterPaths(deps.config.cluster);
    this.peer = peerOf(voters, this.id);
    const rec = deps.recovery;
    const restored = {
      ...(rec.hardState ? { hardState: rec.hardState } : {}),
      ...(rec.entries.length > 0 && rec.entries[0]!.index > 1
        ? { snapshot: { index: rec.entries[0]!.index - 1, term: 0 } }
        : {}),
      entries: rec.entries,
    };
    this.core = new RaftCore(coreConfigFor(deps.config, this.peer), deps.random, restored);
    this.soft = this.core.softState();
    this.addresses.set(this.id, deps.config.advertise);
    this.proposals = new PendingProposals(deps.clock, deps.config.limits.maxPendingProposals);
    this.appliedWaiters = new AppliedWaiters(deps.clock, deps.config.limits.maxPendingReads, () => this.kv.applied());
    this.reads = new ReadIndexQueue(
      {
        canServeReads: () => this.core.committedInCurrentTerm() && this.mirror !== null,
        isLeader: () => this.soft.role === 'leader',
        commitIndex: () => this.core.commitIndex(),
        confirmLeadership: () => this.confirmLeadership(),
        hint: () => this.hint(),
      },
      deps.clock,
      deps.config.limits.maxPendingReads,
    );
    // The restored log may begin after index 1 (compacted WAL): the state machine then
    // starts from there. (Snapshots restore it fully; until then this only happens in tests.)
    this.kv.resetApplied(this.core.status().applied);
  }

  /** Creates the cluster tree if needed, registers this voter and starts the loop. */
  static async start(deps: NodeDriverDeps): Promise<NodeDriver> {
    validateNodeConfig(deps.config);
    const paths = new ClusterPaths(deps.config.cluster);
    const state = await ensureClusterTree(deps.zk, paths);
    const voters = await registerVoter(deps.zk, paths, deps.config.id, deps.config.voters);
    const d = new NodeDriver(deps, voters);
    d.core.observeEpoch(state.epoch.term, state.epoch.leaderId);
    d.core.observeLease(state.leaseVersion);
    d.core.setZkConnected(deps.zk.state === 'connected');
    await registerMember(deps.zk, paths, d.memberRecord());
    d.begin();
    d.log.info({ voters, peer: d.peer, epoch: state.epoch, tail: state.tail }, 'node started');
    return d;
  }

  // ------------------------------------------------------------ client API

  /**
   * A write (or a session command). Resolves once the entry is committed in ZooKeeper and
   * applied. With a write context it is executed at most once however often it is retried.
   */
  async submit(command: KvCommand, ctx?: WriteContext): Promise<Applied> {
    validateCommand(command, this.cfg.limits.maxValueBytes, ctx);
    if (this.stopped) throw new UnavailableError('this member is shutting down');
    await this.waitWhileUnsettled();
    if (this.soft.role !== 'leader' || !this.mirror) throw new NotLeaderError(this.hint());
    if (this.proposals.isFull()) throw new BusyError(20, this.hint());
    const stamp = Math.max(this.lastStamp, this.kv.lastStampMs(), Math.floor(this.clock.wallNow()));
    this.lastStamp = stamp;
    const r = this.core.propose([encodeCommand(command, stamp, ctx)]);
    if (!r.ok) {
      throw r.reason === 'transferring'
        ? new NotLeaderError(this.hint(), 'leadership is being transferred; retry shortly')
        : r.reason === 'lease-lapsed'
          ? new NotLeaderError({ leaderId: '', leaderAddress: '' }, 'the leader cannot reach ZooKeeper right now; retry shortly')
          : new NotLeaderError(this.hint());
    }
    const applied = this.proposals.add(r.firstIndex, r.term, this.cfg.limits.requestTimeoutMs, command.kind === 'put');
    this.schedule();
    return applied;
  }

  async read(key: string, consistency: Consistency, minIndex = 0): Promise<ReadResult> {
    validateKey(key);
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new InvalidArgumentError('minIndex must be a non-negative integer');
    if (this.stopped) throw new UnavailableError('this member is shutting down');
    const timeout = this.cfg.limits.requestTimeoutMs;
    if (consistency === 'stale') {
      await this.appliedWaiters.waitFor(minIndex, timeout);
      return this.readLocal(key);
    }
    await this.waitWhileUnsettled();
    if (this.soft.role !== 'leader') throw new NotLeaderError(this.hint());
    if (consistency === 'lease' && this.lease?.holds() && this.core.committedInCurrentTerm()) {
      // No other leader can commit while our lease holds (notes/timing.md): the commit
      // index now is the latest committed state.
      await this.appliedWaiters.waitFor(this.core.commitIndex(), timeout);
      return this.readLocal(key);
    }
    const readIndex = await this.reads.request(timeout);
    await this.appliedWaiters.waitFor(readIndex, timeout);
    return this.readLocal(key);
  }

  /**
   * A client that reaches a node in the middle of taking over, or a leader handing over,
   * waits for the outcome (bounded) instead of being sent away to retry: then it either
   * proceeds or is pointed at the new leader.
   */
  private async waitWhileUnsettled(): Promise<void> {
    const deadline = this.clock.now() + TAKEOVER_HOLD_MS;
    const unsettled = (): boolean => this.soft.role === 'candidate' || (this.soft.role === 'leader' && this.core.isTransferring());
    while (unsettled() && !this.stopped && this.clock.now() < deadline) {
      if (this.roleWaiters.length >= this.cfg.limits.maxPendingProposals) throw new BusyError(20, this.hint(), 'too many requests waiting for a take-over');
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, Math.max(1, deadline - this.clock.now()));
        this.roleWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
  }

  status(): MemberStatus {
    const s = this.core.status();
    return {
      id: this.id,
      role: s.role,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: this.kv.applied(),
      lastIndex: s.lastIndex,
      leaderId: s.leaderId,
      address: this.cfg.advertise,
    };
  }

  /** Role, term and leader as the core sees them right now (for log lines). */
  softStateNow(): SoftState {
    return this.core.softState();
  }

  hint(): LeaderHint {
    const leaderId = this.soft.leaderId || this.leaderZnode?.id || '';
    const leaderAddress = (leaderId && this.addresses.get(leaderId)) || (this.leaderZnode?.id === leaderId ? this.leaderZnode.address : '') || '';
    return { leaderId, leaderAddress };
  }

  /** Hands leadership to the follower. Resolves true once this node no longer leads. */
  async transferLeadership(timeoutMs: number): Promise<boolean> {
    if (this.soft.role !== 'leader') return true;
    if (!this.core.transferLeadership()) return false;
    this.log.info({ to: this.peer }, 'transferring leadership');
    this.schedule();
    const deadline = this.clock.now() + timeoutMs;
    while (this.soft.role === 'leader' && this.core.isTransferring() && this.clock.now() < deadline && !this.stopped) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, Math.max(1, deadline - this.clock.now()));
        this.roleWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
    if (this.soft.role === 'leader') {
      this.core.abortTransfer();
      this.schedule();
      return false;
    }
    return true;
  }

  peerId(): NodeId {
    return this.peer;
  }

  /** Stops the loop. With transfer, a leader first hands over to its follower (bounded). */
  async stop(options: { transfer?: boolean; transferTimeoutMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    if (options.transfer && this.soft.role === 'leader' && this.peer) {
      const ok = await this.transferLeadership(options.transferTimeoutMs ?? 3000);
      this.log.info({ transferred: ok }, ok ? 'leadership handed over before shutdown' : 'leadership transfer did not finish before shutdown');
    }
    this.stopped = true;
    this.tickTimer?.cancel();
    this.pauseMonitor?.stop();
    this.walSyncTimer?.cancel();
    this.stallTimer?.cancel();
    for (const w of this.watches) w.stop();
    this.peerWatch?.stop();
    this.tailWatch?.stop();
    this.unsubscribeZk?.();
    this.stopLeading();
    const shutting = (): DuoraftError => new UnavailableError('this member is shutting down');
    this.proposals.rejectAll(shutting);
    this.reads.failAll(shutting);
    this.appliedWaiters.failAll(shutting);
    await this.wal.close();
    this.log.info('node stopped');
  }

  /** For tests and the simulator: the core's view, its log and the state machine. */
  inspect(): { commitIndex: number; appliedIndex: number; kv: KvStore; softState: SoftState; entryAt: (index: number) => Entry | undefined; leaseHolds: boolean } {
    // Called after every simulated event: kept to plain reads (no status() object).
    return {
      commitIndex: this.core.commitIndex(),
      appliedIndex: this.kv.applied(),
      kv: this.kv,
      softState: this.core.softState(),
      entryAt: (index) => this.core.entryAt(index),
      leaseHolds: this.lease?.holds() ?? false,
    };
  }

  // ------------------------------------------------------------- the loop

  private begin(): void {
    this.scheduleStallCheck();
    this.transport.setHandler((m: Message) => {
      if (this.stopped) return;
      this.core.step(m);
      this.schedule();
    });
    this.transport.onPeerDisconnected((id) => {
      if (!this.stopped && id === this.soft.leaderId && this.soft.role !== 'leader') {
        this.log.info({ peer: id }, 'connection to the leader broke: suspecting it');
        this.core.suspectLeader();
        this.schedule();
      }
    });
    this.unsubscribeZk = this.zk.onStateChange((s) => this.onZkState(s));
    this.pauseMonitor = new PauseMonitor({
      clock: this.clock,
      intervalMs: this.cfg.timing.tickMs,
      thresholdMs: this.cfg.timing.pauseLeaseMs,
      onStall: (ms) => this.onStall(ms),
    });
    this.pauseMonitor.start();
    this.startWatches();
    if (this.peer) this.watchPeer(this.peer);
    this.tickOrigin = this.clock.now();
    this.scheduleTick();
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.clock.defer(() => {
      this.scheduled = false;
      if (!this.stopped) this.processReady();
    });
  }

  private scheduleTick(): void {
    const tickMs = this.cfg.timing.tickMs;
    const due = this.tickOrigin + (this.ticksDone + 1) * tickMs;
    this.tickTimer = this.clock.setTimeout(() => this.onTickTimer(), Math.max(0, due - this.clock.now()));
  }

  private onTickTimer(): void {
    if (this.stopped) return;
    const tickMs = this.cfg.timing.tickMs;
    // Ticks count real elapsed time: after a stall, catch up (bounded), never run ahead.
    const owed = Math.floor((this.clock.now() - this.tickOrigin) / tickMs) - this.ticksDone;
    const run = Math.min(Math.max(owed, 0), MAX_CATCHUP_TICKS);
    for (let i = 0; i < run; i++) this.core.tick();
    this.ticksDone += owed > MAX_CATCHUP_TICKS ? owed : run;
    if (run > 0) this.schedule();
    this.reads.kick();
    this.failWritesOfLongLapse();
    this.scheduleTick();
  }

  private processReady(): void {
    let walDirty = false;
    for (let round = 0; round < MAX_READY_ROUNDS && this.core.hasReady(); round++) {
      const rd = this.core.ready();
      walDirty = this.carryOut(rd) || walDirty;
    }
    // A transfer that ended (or was given up) releases the requests held meanwhile.
    const transferring = this.soft.role === 'leader' && this.core.isTransferring();
    if (this.wasTransferring && !transferring) this.wakeRoleWaiters();
    this.wasTransferring = transferring;
    if (this.core.hasReady()) this.schedule();
    if (walDirty) this.syncWal();
    this.reads.kick();
  }

  /** Does what one Ready asks. Returns whether the local WAL was written. */
  private carryOut(rd: Ready): boolean {
    if (rd.leadershipLost) this.onLeadershipLost(rd.leadershipLost);
    if (rd.softState) this.onSoftState(rd.softState);
    let walDirty = false;
    if (rd.truncateFrom !== undefined) {
      this.wal.truncateFrom(rd.truncateFrom);
      walDirty = true;
    }
    if (rd.entries.length > 0) {
      this.wal.appendEntries(rd.entries);
      walDirty = true;
    }
    if (rd.hardState) {
      this.wal.setHardState(rd.hardState);
      walDirty = true;
    }
    let handOver: TimeoutNow | null = null;
    if (rd.resumeLease && this.leadership && this.soft.role === 'leader') {
      this.log.warn({ term: this.leadership.term }, 'leadership transfer given up: taking the lease back');
      this.startLease(this.leadership, this.clock.now());
    }
    if (rd.toMirror.length > 0) {
      this.mirror?.enqueue(rd.toMirror);
      if (this.cfg.faults?.ackBeforeCommit) this.proposals.ackEarly(rd.toMirror.map((e) => e.index));
    }
    for (const m of rd.messages) {
      if (m.type === 'timeoutNow') handOver = m;
      else this.transport.send(m);
    }
    if (rd.relinquishLease || handOver) void this.handOver(handOver);
    if (rd.committed.length > 0) this.apply(rd.committed);
    if (rd.takeover) this.startTakeover(rd.takeover);
    return walDirty;
  }

  /**
   * Leadership transfer, last step: stop touching the lease, wait until no touch is in
   * flight, then tell the follower to take over, with the version the lease was left at:
   * it fences against exactly that version, so if we take the lease back later (the
   * transfer timed out) its fence fails.
   */
  private async handOver(timeoutNow: TimeoutNow | null): Promise<void> {
    const lease = this.lease;
    if (lease) await lease.revoke();
    if (!timeoutNow || this.stopped) return;
    this.transport.send({ ...timeoutNow, leaseVersion: lease?.lastVersion() ?? 0 });
  }

  private apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      const result = this.kv.apply(e);
      this.proposals.applied(e.index, e.term, result);
    }
    this.appliedWaiters.notify(this.kv.applied());
  }

  /** Asks for an fsync of the local WAL: at most one runs at a time, paced by walSyncIntervalMs. */
  private syncWal(): void {
    if (this.walSyncing || this.walSyncTimer) {
      this.walSyncAgain = true;
      return;
    }
    const wait = this.lastWalSync + this.cfg.limits.walSyncIntervalMs - this.clock.now();
    if (wait > 0) {
      this.walSyncTimer = this.clock.setTimeout(() => {
        this.walSyncTimer = null;
        this.runWalSync();
      }, wait);
      return;
    }
    this.runWalSync();
  }

  private runWalSync(): void {
    if (this.stopped) return;
    this.walSyncing = true;
    this.walSyncAgain = false;
    this.lastWalSync = this.clock.now();
    this.wal.sync().then(
      () => {
        this.walSyncing = false;
        if (this.walSyncAgain && !this.stopped) this.syncWal();
      },
      (err: unknown) => {
        this.walSyncing = false;
        // The local WAL is not on the commit path; a broken disk makes restarts slow, not
        // unsafe. Say it loudly.
        this.log.error({ err: (err as Error).message }, 'local WAL sync failed');
      },
    );
  }

  // ------------------------------------------------------------ leadership

  private onSoftState(s: SoftState): void {
    const prev = this.soft;
    this.soft = s;
    if (prev.role !== s.role) this.wakeRoleWaiters();
    if (prev.role !== s.role || prev.term !== s.term || prev.leaderId !== s.leaderId) {
      this.log.info({ from: prev.role, to: s.role, term: s.term, leader: s.leaderId }, 'role changed');
    }
    if (prev.role === 'leader' && (s.role !== 'leader' || s.term !== prev.term)) this.stopLeading();
    if (s.role === 'leader' && (prev.role !== 'leader' || prev.term !== s.term)) this.startLeading(s.term);
    if (s.role !== 'leader') this.reads.failAll(() => new NotLeaderError(this.hint()));
    // A follower that hears no leader keeps itself current from ZooKeeper (L2).
    this.setCatchingUp(s.role === 'precandidate');
  }

  private wakeRoleWaiters(): void {
    if (this.roleWaiters.length === 0) return;
    const waiters = this.roleWaiters;
    this.roleWaiters = [];
    for (const w of waiters) w();
  }

  private startLeading(term: number): void {
    const l = this.leadership;
    if (!l || l.term !== term) {
      this.log.error({ term }, 'became leader without the fence details: stepping down');
      this.core.mirrorFenced(term);
      this.schedule();
      return;
    }
    this.mirror = new WalMirror({
      zk: this.zk,
      paths: this.paths,
      clock: this.clock,
      logger: this.log,
      term,
      epochVersion: l.epochVersion,
      tailVersion: l.tailVersion,
      tailLastIndex: l.tailLastIndex,
      maxInflight: this.cfg.limits.maxInflightMultis,
      maxBatchBytes: this.cfg.limits.maxSegmentBytes,
      maxQueuedEntries: this.cfg.limits.maxPendingProposals * 2 + 16,
      onCommitted: (lastIndex) => {
        if (this.stopped) return;
        this.core.mirrorCommitted(term, lastIndex);
        this.schedule();
      },
      onFenced: (reason) => {
        this.log.warn({ term, reason }, 'fenced: another node took over');
        this.core.mirrorFenced(term);
        this.schedule();
      },
    });
    this.startLease(l, l.leaseValidUntil);
    this.log.info({ term, epochVersion: l.epochVersion, zkTail: l.tailLastIndex }, 'leading');
  }

  private startLease(l: Leadership, validUntil: number): void {
    const term = l.term;
    this.lease?.stop();
    this.lease = new LeaseKeeper({
      zk: this.zk,
      paths: this.paths,
      clock: this.clock,
      logger: this.log,
      term,
      leaderId: this.id,
      epochVersion: l.epochVersion,
      intervalMs: this.cfg.timing.leaseIntervalMs,
      durationMs: this.cfg.timing.leaseDurationMs,
      initialValidUntil: validUntil,
      onExpired: () => {
        this.core.leaseExpired(term);
        this.schedule();
      },
      onRenewed: () => {
        this.core.leaseRenewed(term);
        this.schedule();
      },
      onFenced: (reason) => {
        this.log.warn({ term, reason }, 'fenced (lease): another node took over');
        this.core.mirrorFenced(term);
        this.schedule();
      },
    });
  }

  private stopLeading(): void {
    this.mirror?.close();
    this.mirror = null;
    this.lease?.stop();
    this.lease = null;
    this.leadership = null;
  }

  /**
   * A lease lapsed for two lease windows means the follower may well have taken over:
   * waiting writes are told their outcome is unknown so their clients move on (they may
   * still commit, if ZooKeeper comes back and nobody fenced us).
   */
  private failWritesOfLongLapse(): void {
    if (!this.lease || this.proposals.size() === 0) return;
    if (this.lease.lapsedForMs() < 2 * this.cfg.timing.leaseWindowMs) return;
    this.proposals.failAll(() => new UnknownOutcomeError('the leader lost its lease (ZooKeeper unreachable) with this write in flight; retry with the same session and sequence to learn its outcome'));
  }

  /** The event loop stalled for `ms`: the lease may not be trusted, and after a long stall neither may leadership. */
  private onStall(ms: number): void {
    if (this.stopped) return;
    const leading = this.soft.role === 'leader';
    this.log.warn({ stalledMs: Math.round(ms), leading }, 'event loop stalled');
    if (!leading) return;
    if (ms >= this.cfg.timing.pauseStepDownMs) {
      this.core.abdicate(`event loop stalled for ${Math.round(ms)} ms`);
      this.schedule();
    } else {
      this.lease?.lapseNow();
    }
  }

  private onLeadershipLost(l: LeadershipLost): void {
    this.log.warn({ term: l.term, commit: l.commit, inFlightTo: l.sentToMirror, reason: l.reason }, 'leadership lost');
    this.proposals.leadershipLost(l.commit, l.sentToMirror, this.hint(), l.reason);
  }

  private async confirmLeadership(): Promise<void> {
    const l = this.leadership;
    if (!l || this.soft.role !== 'leader') throw new NotLeaderError(this.hint());
    try {
      await this.zk.multi([{ type: 'check', path: this.paths.epoch, version: l.epochVersion }]);
    } catch (err) {
      if (err instanceof ZkError && err.code === 'BAD_VERSION') {
        this.core.mirrorFenced(l.term);
        this.schedule();
      }
      throw err;
    }
  }

  private startTakeover(req: TakeoverRequest): void {
    if (this.takeoverRunning) {
      this.log.warn('take-over requested while one is running; ignored');
      return;
    }
    this.takeoverRunning = true;
    const started = this.clock.now();
    this.log.info({ term: req.term, leaseVersion: req.leaseVersion, commit: req.commit, transfer: req.transfer }, 'taking over: fencing ZooKeeper');
    takeOver({
      zk: this.zk,
      paths: this.paths,
      clock: this.clock,
      logger: this.log,
      selfId: this.id,
      address: this.cfg.advertise,
      request: req,
      ...(this.epochSeen ? { known: { epochTerm: this.epochSeen.term, epochLeader: this.epochSeen.leaderId, epochVersion: this.epochSeen.version, leaderExists: this.leaderZnodeExists } } : {}),
      leaseDurationMs: this.cfg.timing.leaseDurationMs,
      replayDeadlineMs: 5000,
      ...(this.cfg.faults?.readTailBeforeFence ? { unsafeReadTailBeforeFence: true } : {}),
    })
      .then((outcome) => {
        this.takeoverRunning = false;
        if (this.stopped) return;
        if (outcome.ok) {
          this.leadership = {
            term: outcome.result.term,
            epochVersion: outcome.epochVersion,
            tailVersion: outcome.tailVersion,
            tailLastIndex: outcome.result.zkLastIndex,
            leaseValidUntil: outcome.leaseValidUntil,
          };
          this.log.info(
            { term: outcome.result.term, replayed: outcome.result.entries.length, zkTail: outcome.result.zkLastIndex, ms: Math.round(this.clock.now() - started) },
            'take-over done',
          );
        } else {
          this.log.info({ reason: outcome.result.reason, epochTerm: outcome.result.epochTerm }, 'take-over failed');
        }
        this.core.takeoverResult(outcome.result);
        this.schedule();
      })
      .catch((err: unknown) => {
        this.takeoverRunning = false;
        if (this.stopped) return;
        this.log.warn({ err: (err as Error).message }, 'take-over failed');
        this.core.takeoverResult({ ok: false, epochTerm: 0, epochLeader: '', reason: (err as Error).message });
        this.schedule();
      });
  }

  // -------------------------------------------------------------- ZooKeeper

  private onZkState(s: ZkConnectionState): void {
    if (this.stopped) return;
    this.core.setZkConnected(s === 'connected');
    if (s === 'expired') {
      this.sawExpiry = true;
      this.log.warn('ZooKeeper session expired: ephemeral znodes are gone');
    }
    if (s === 'connected' && this.sawExpiry) {
      this.sawExpiry = false;
      void this.restoreEphemerals();
    }
    this.schedule();
  }

  /** After a session expiry: publish our address again, and (if leading) the leader znode. */
  private async restoreEphemerals(): Promise<void> {
    try {
      await registerMember(this.zk, this.paths, this.memberRecord());
      const l = this.leadership;
      if (l && this.soft.role === 'leader') {
        await this.zk.multi([
          { type: 'check', path: this.paths.epoch, version: l.epochVersion },
          { type: 'create', path: this.paths.leader, data: encodeLeader({ id: this.id, term: l.term, address: this.cfg.advertise }), mode: 'ephemeral' },
        ]);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not restore ephemeral znodes after session expiry');
      if (err instanceof ZkError && err.code === 'BAD_VERSION' && this.leadership) {
        this.core.mirrorFenced(this.leadership.term);
        this.schedule();
      }
    }
  }

  private startWatches(): void {
    const common = { zk: this.zk, clock: this.clock, logger: this.log };
    this.watches.push(
      new ZnodeWatch({
        ...common,
        path: this.paths.epoch,
        onChange: (st) => {
          if (!st.exists) return;
          const e = decodeEpoch(this.paths.epoch, st.data);
          this.epochSeen = { term: e.term, leaderId: e.leaderId, version: st.stat.version };
          this.core.observeEpoch(e.term, e.leaderId);
          this.schedule();
        },
      }),
      new ZnodeWatch({
        ...common,
        path: this.paths.lease,
        statOnly: true,
        onChange: (st) => {
          if (!st.exists) return;
          this.core.observeLease(st.stat.version);
          this.schedule();
        },
      }),
      new ZnodeWatch({
        ...common,
        path: this.paths.leader,
        onChange: (st) => {
          const before = this.leaderZnode;
          this.leaderZnodeExists = st.exists;
          this.leaderZnode = st.exists ? (({ id, address }) => ({ id, address }))(decodeLeader(this.paths.leader, st.data)) : null;
          if (this.leaderZnode) this.addresses.set(this.leaderZnode.id, this.leaderZnode.address);
          if (!st.exists && before && before.id === this.soft.leaderId && this.soft.role === 'follower') {
            this.log.info({ leader: before.id }, 'leader znode vanished: suspecting the leader');
            this.core.suspectLeader();
            this.schedule();
          }
        },
      }),
      new ZnodeWatch({
        ...common,
        path: this.paths.config,
        onChange: (st) => {
          if (!st.exists) return;
          const peer = peerOf(decodeConfig(this.paths.config, st.data).voters, this.id);
          if (peer && peer !== this.peer) {
            this.log.info({ peer }, 'the other voter is known');
            this.peer = peer;
            this.core.setPeer(peer);
            this.watchPeer(peer);
            this.schedule();
          }
        },
      }),
    );
  }

  private watchPeer(peer: NodeId): void {
    this.peerWatch?.stop();
    this.peerWatch = new ZnodeWatch({
      zk: this.zk,
      clock: this.clock,
      logger: this.log,
      path: this.paths.member(peer),
      onChange: (st) => {
        if (!st.exists) return; // keep the last known address: the peer may be restarting
        const m = decodeMember(this.paths.member(peer), st.data);
        const peerAddress = m.peerAddress || m.address;
        this.addresses.set(peer, m.address);
        if (this.peerAddress !== peerAddress) {
          this.peerAddress = peerAddress;
          this.transport.setPeerAddress(peer, peerAddress);
          this.log.info({ peer, address: m.address, peerAddress }, 'peer address');
        }
      },
    });
  }

  /** Follower without a leader: follow the committed log in ZooKeeper directly. */
  private setCatchingUp(on: boolean): void {
    if (on === (this.tailWatch !== null)) return;
    if (!on) {
      this.tailWatch?.stop();
      this.tailWatch = null;
      return;
    }
    this.tailWatch = new ZnodeWatch({
      zk: this.zk,
      clock: this.clock,
      logger: this.log,
      path: this.paths.tail,
      onChange: (st) => {
        if (!st.exists) return;
        const t = decodeTail(this.paths.tail, st.data);
        void this.catchUpTo(t.lastIndex, t.segmentFirstIndex);
      },
    });
  }

  private scheduleStallCheck(): void {
    this.stallTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      void this.checkFollowerStall().finally(() => {
        if (!this.stopped) this.scheduleStallCheck();
      });
    }, STALL_CHECK_MS);
  }

  /** Follower: no commit progress since the last check; if ZooKeeper is ahead, read from it. */
  private async checkFollowerStall(): Promise<void> {
    const commit = this.core.commitIndex();
    const stalled = commit === this.commitAtStallCheck;
    this.commitAtStallCheck = commit;
    if (!stalled || this.soft.role !== 'follower' || this.catchingUp) return;
    try {
      const { data } = await this.zk.getData(this.paths.tail);
      const t = decodeTail(this.paths.tail, data);
      // Far behind only: a follower a few entries short is being fed by its leader.
      if (t.lastIndex - this.core.commitIndex() < STALL_FAR_BEHIND) return;
      this.log.info({ commit, zkTail: t.lastIndex }, 'commit index stalled behind ZooKeeper: catching up from ZooKeeper');
      await this.catchUpTo(t.lastIndex, t.segmentFirstIndex, true);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'stall check could not read the tail; the next check retries');
    }
  }

  private async catchUpTo(zkLastIndex: number, tailSegmentFirstIndex: number, once = false): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      for (let round = 0; round < 1000 && !this.stopped && (once || this.tailWatch); round++) {
        const from = this.core.commitIndex();
        if (from >= zkLastIndex || this.soft.role === 'leader' || this.soft.role === 'candidate') return;
        const entries = await readCommittedEntries(this.zk, this.paths, from, zkLastIndex, { maxSegments: CATCHUP_SEGMENTS, tailSegmentFirstIndex });
        if (entries.length === 0) return;
        this.core.committedFromZk(entries, entries[entries.length - 1]!.index);
        this.schedule();
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'catch-up from ZooKeeper failed; the next tail change retries');
    } finally {
      this.catchingUp = false;
    }
  }

  private memberRecord(): MemberRecord {
    return { id: this.id, address: this.cfg.advertise, kind: 'voter', peerAddress: this.cfg.peerAdvertise ?? this.cfg.advertise };
  }

  private readLocal(key: string): ReadResult {
    const value = this.kv.get(key);
    return { found: value !== undefined, value: value ?? new Uint8Array(0), index: this.kv.applied() };
  }
}
