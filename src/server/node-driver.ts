// The node driver: runs one voter's Raft core against the real world.
//
// The loop is etcd's: something happens (a tick, a peer message, a ZooKeeper answer, a
// client write) -> the core is told -> on the next turn of the event loop processReady()
// drains core.ready() and carries it out by handing each part its share:
//
//   wal-sync.ts        the local WAL: paced fsyncs, and replies held until durable
//   leadership.ts      a leader's term: the WAL mirror (commit point) and the lease
//   takeover-runner.ts fence, read the tail, replay
//   catch-up.ts        a follower its leader does not feed reads ZooKeeper's log
//   ephemerals.ts      the leader and member znodes, restored after every new session
//   cluster-watches.ts epoch, lease, leader, config and peer znodes, told to the core
//   peer-admission.ts  each peer message: the sender check, the core's step, refusals
//   identity-check.ts  the root znode still names this cluster (else ZooKeeper lost it)
//   cluster-sightings.ts what the watches last saw: leader hints, what a fence knows
//   role-waiters.ts    requests waiting for a take-over or a transfer to settle
//   lead-permit.ts     a node with no state to lead with refuses to take over
//   applier.ts         the state machine: committed entries applied, the clients waiting on them answered
//   client-api.ts      the client-facing API: writes, reads, and what the member reports
//   leader-term-lifetime.ts the fenced term, the lease started at the fence, the leader term from start to stop
//   transfer-request.ts the operator's transfer: started or joined, waited on, answered
//
// The driver itself keeps the loop (the one place that orders a Ready's side effects); its
// parts are built and wired to each other in node-driver-wiring.ts.
// Everything is reached through interfaces (Clock, ZkSession, PeerTransport, LocalWal), so
// the deterministic simulator runs this very code with simulated parts.
import { type Clock, sleep } from '../common/clock.js';
import { BusyError, type DuoraftError, type LeaderHint, NotLeaderError, UnavailableError, UnknownOutcomeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { WarningThrottle } from '../common/warning-throttle.js';
import { ensureClusterTree, FRESH_NODE, randomClusterId } from '../coordination/cluster-init.js';
import { ClusterPaths } from '../coordination/layout.js';
import { registerMember, registerVoter } from '../coordination/membership.js';
import { type ClusterIdentity, type LeaseRecord, type MemberRecord, leaseWindowFor } from '../coordination/records.js';
import type { ZkConnectionState, ZkSession } from '../coordination/zk-api.js';
import type { NodeId } from '../core/types.js';
import type { LeaseSighting } from '../core/hand-over.js';
import type { TimeoutNow } from '../core/messages.js';
import type { Divergence, RaftCore, LeadershipLost, Ready, SoftState } from '../core/raft.js';
import type { LocalWal } from '../storage/local-wal.js';
import type { KvCommand, WriteContext } from '../statemachine/command.js';
import type { PeerTransport } from '../transport/transport.js';
import type { CoreTicker } from './core-ticker.js';
import type { Applier, ReadResult } from './applier.js';
import type { ClientApi, Consistency, MemberStatus, NodeView } from './client-api.js';
import { FollowerCatchUp } from './catch-up.js';
import { type ClusterWatchHandlers, ClusterWatches } from './cluster-watches.js';
import type { Ephemerals } from './ephemerals.js';
import type { LeaderTermLifetime } from './leader-term-lifetime.js';
import { type NodeConfig, lapseSilenceMs, validateNodeConfig } from './node-config.js';
import type { FatalKind, NodeDriverDeps } from './node-driver-deps.js';
import { memberRecordOf, wireNodeDriver } from './node-driver-wiring.js';
import type { NodeFigures } from './node-figures.js';
import type { Applied } from './proposals.js';
import { PauseMonitor, type StallCpu } from './pause-monitor.js';
import type { RoleWaiters } from './role-waiters.js';
import type { ClusterSightings } from './cluster-sightings.js';
import type { LeadPermit } from './lead-permit.js';
import type { ReadIndexQueue } from './read-index.js';
import type { KnownCluster, TakeoverRunner } from './takeover-runner.js';
import type { NodeTelemetry } from './telemetry.js';
import type { TransferOutcome } from './transfer-outcome.js';
import { transferBeforeShutdown, type TransferRequests } from './transfer-request.js';
import { departureOf, type WalSync } from './wal-sync.js';
import { checkZkLogAtStart } from './zk-log-check.js';
import { rebuildFromZk } from './rebuild-from-zk.js';
import type { VoterSnapshotExchange } from './voter-snapshot-exchange.js';
import type { SnapshotTaken, Snapshotter } from './snapshotter.js';
import type { VoterConfig } from './voter-config.js';
import type { CommitHoldReport } from './commit-hold-report.js';
import type { IdentityCheck } from './identity-check.js';
import type { PeerAdmission } from './peer-admission.js';

export type { FatalKind, NodeDriverDeps, NodeSnapshots } from './node-driver-deps.js';

/** Bound on ready() rounds per turn of the event loop; more work reschedules itself. */
const MAX_READY_ROUNDS = 16;
/** A follower behind ZooKeeper's compaction point waits this long for its leader's offer before it loads ZooKeeper's snapshot. */
const SNAPSHOT_ZK_GRACE_MS = 1000;

/** This process's CPU time so far (user + system, all threads), for the pause monitor's reports. */
function processCpuTimeMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

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
  /** The state machine, the committed entries applied to it and the clients waiting on them (applier.ts). */
  private readonly applier: Applier;
  private readonly snapshotter: Snapshotter;
  private readonly reads: ReadIndexQueue;
  private readonly walSync: WalSync;
  private readonly takeovers: TakeoverRunner;
  private readonly ephemerals: Ephemerals;
  /** The sender check, the core's step and the refusals' telemetry (peer-admission.ts). */
  private readonly peerAdmission: PeerAdmission;
  /** Confirms what the root watch reads is still this cluster (identity-check.ts). */
  private readonly identityCheck: IdentityCheck;
  /** Logs a commit index held for long (the commit gate). */
  private readonly commitHold: CommitHoldReport;
  /** Hand-overs ZooKeeper did not confirm: a plaintext forger can send TimeoutNows in a loop, so at most one warning a second. */
  private readonly handOverWarnings: WarningThrottle;
  private readonly telemetry: NodeTelemetry;
  private catchUp: FollowerCatchUp | null = null;
  private watches: ClusterWatches | null = null;

  private soft: SoftState;
  /** Who the other voter is, followed live from the config znode (voter-config.ts). */
  private readonly voterConfig: VoterConfig;
  /** What the watches last saw: the leader's whereabouts for clients, the epoch for a fence (cluster-sightings.ts). */
  private readonly sightings: ClusterSightings;
  /** Callers waiting for the role to change (a take-over or a transfer to finish), bounded (role-waiters.ts). */
  private readonly roleWaiters: RoleWaiters;
  /** The fenced term, the lease started at the fence and the leader term under way (leader-term-lifetime.ts). */
  private readonly termLifetime: LeaderTermLifetime;
  /** Snapshots between the voters: offering (leader) and installing (follower). */
  private readonly voterSnapshots: VoterSnapshotExchange;
  /** Withheld when this node started empty and ZooKeeper holds no snapshot it can use (lead-permit.ts). */
  private readonly leadPermit: LeadPermit;
  /** Writes, reads and what the member reports; it keeps why the node stopped serving (client-api.ts). */
  private readonly api: ClientApi;

  /** The operator's transfer requests: started or joined, waited on, answered; they count the TimeoutNows handOver sends (transfer-request.ts). */
  private readonly transfers: TransferRequests;

  private scheduled = false;
  private stopped = false;
  /** The shutdown under way or done (stopped is set as it starts); every stop() awaits it. */
  private shutdown: Promise<void> | null = null;
  private readonly ticker: CoreTicker;
  private unsubscribeZk: (() => void) | null = null;
  private pauseMonitor: PauseMonitor | null = null;

  private constructor(
    private readonly deps: NodeDriverDeps,
    voters: readonly NodeId[],
    readonly identity: ClusterIdentity,
  ) {
    validateNodeConfig(deps.config);
    this.cfg = deps.config;
    this.id = deps.config.id;
    this.clock = deps.clock;
    this.log = deps.logger;
    this.zk = deps.zk;
    this.transport = deps.transport;
    this.wal = deps.wal;
    this.paths = new ClusterPaths(deps.config.cluster);
    const parts = wireNodeDriver(deps, voters, identity, this.paths, {
      soft: () => this.soft,
      stopped: () => this.stopped,
      schedule: () => this.schedule(),
      catchUpTicks: () => this.catchUpTicks(),
      onTickTimer: () => this.onTickTimer(),
      hint: () => this.hint(),
      confirmLeadership: () => this.confirmLeadership(),
      waitForRoleChange: (deadline, busyMessage) => this.waitForRoleChange(deadline, busyMessage),
      knownCluster: () => this.knownCluster(),
      fail: (reason, what) => this.fail(reason, what),
      fenced: (term, reason) => this.fenced(term, reason),
      watches: () => this.watches,
    });
    this.sightings = parts.sightings;
    this.voterConfig = parts.voterConfig;
    this.applier = parts.applier;
    this.core = parts.core;
    this.soft = parts.soft;
    this.ticker = parts.ticker;
    this.roleWaiters = parts.roleWaiters;
    this.reads = parts.reads;
    this.commitHold = parts.commitHold;
    this.handOverWarnings = parts.handOverWarnings;
    this.telemetry = parts.telemetry;
    this.peerAdmission = parts.peerAdmission;
    this.identityCheck = parts.identityCheck;
    this.walSync = parts.walSync;
    this.termLifetime = parts.termLifetime;
    this.takeovers = parts.takeovers;
    this.snapshotter = parts.snapshotter;
    this.voterSnapshots = parts.voterSnapshots;
    this.leadPermit = parts.leadPermit;
    this.ephemerals = parts.ephemerals;
    this.api = parts.api;
    this.transfers = parts.transfers;
  }

  /** Creates the cluster tree if needed, registers this voter and starts the loop. */
  static async start(deps: NodeDriverDeps): Promise<NodeDriver> {
    validateNodeConfig(deps.config);
    const paths = new ClusterPaths(deps.config.cluster);
    const state = await ensureClusterTree(deps.zk, paths, deps.local ?? FRESH_NODE, () => ({
      cluster: deps.config.cluster,
      clusterId: randomClusterId(),
      createdAtMs: Math.floor(deps.clock.wallNow()),
    }));
    const voters = await registerVoter(deps.zk, paths, deps.config.id, deps.config.voters);
    const rebuild = await rebuildFromZk({ zk: deps.zk, clock: deps.clock, logger: deps.logger, nodeId: deps.config.id, recovery: deps.recovery, snapshots: deps.snapshots }, paths, state.tail.lastIndex);
    const rebuilt = rebuild && 'saved' in rebuild ? rebuild : null;
    if (deps.verifyZkLogAtStart !== false) {
      const snapshotIndex = (rebuilt ?? deps.snapshots?.initial)?.loaded.point.index ?? 0;
      await checkZkLogAtStart({
        zk: deps.zk,
        paths,
        clock: deps.clock,
        logger: deps.logger,
        clusterId: state.identity.clusterId,
        fromIndex: Math.max(deps.recovery.hardState?.commit ?? 0, snapshotIndex),
        tail: state.tail,
      });
    }
    const d = new NodeDriver(rebuilt ? { ...deps, snapshots: { ...deps.snapshots!, initial: rebuilt } } : deps, voters, state.identity);
    if (rebuild && 'unusable' in rebuild) d.leadPermit.withhold(rebuild.unusable);
    d.core.observeEpoch(state.epoch.term, state.epoch.leaderId);
    d.core.observeLease(state.leaseVersion, d.leaseWindowTicks(state.lease), leaseSighting(state.lease));
    d.core.setZkConnected(deps.zk.state === 'connected');
    try {
      await registerMember(deps.zk, paths, d.memberRecord());
    } catch (err) {
      // The caller may try the whole start again (startup-retry.ts): leave nothing of this
      // attempt behind (its Ephemerals is subscribed to the session already).
      d.ephemerals.stop();
      throw err;
    }
    d.begin();
    d.log.info({ voters, peer: d.peerId(), epoch: state.epoch, tail: state.tail }, 'node started');
    return d;
  }

  // ------------------------------------------------------------ client API

  /** A write (or a session command); resolves once its entry is committed in ZooKeeper and applied (client-api.ts). */
  submit(command: KvCommand, ctx?: WriteContext): Promise<Applied> {
    return this.api.submit(command, ctx);
  }

  read(key: string, consistency: Consistency, minIndex?: number): Promise<ReadResult> {
    return this.api.read(key, consistency, minIndex);
  }

  status(): MemberStatus {
    return this.api.status();
  }

  /** duoraft admin snapshot: a snapshot now (published to ZooKeeper when this node leads). */
  takeSnapshot(): Promise<SnapshotTaken> {
    return this.snapshotter.takeAndPublish();
  }

  /** Leader: the state is too large for the ZooKeeper budget, so writes that add data are refused. */
  zkBudgetRefusesGrowth(): boolean {
    return this.soft.role === 'leader' && this.snapshotter.refusesGrowth();
  }

  /** Leader: ZooKeeper holds more than the budget's ceiling; writes that add data wait. */
  zkBudgetCeiling(): string | null {
    return this.soft.role === 'leader' ? this.snapshotter.ceilingReached() : null;
  }

  /** Read-only figures for metrics and health (node-figures.ts). */
  figures(): NodeFigures {
    return this.api.figures();
  }

  /** Role, term and leader as the core sees them right now (for log lines). */
  softStateNow(): SoftState {
    return this.core.softState();
  }

  hint(): LeaderHint {
    return this.sightings.hint(this.soft.leaderId);
  }

  /** Hands leadership to the follower, waiting at most `timeoutMs` for it to take over (transfer-request.ts). */
  transferLeadership(timeoutMs: number): Promise<TransferOutcome> {
    return this.transfers.transferLeadership(timeoutMs);
  }

  /** A transfer runs now: a request arriving would join it (transfer-request.ts). */
  transferUnderWay(): boolean {
    return this.transfers.underWay();
  }

  /** Waits until the role changes or the deadline passes (bounded number of waiters). */
  private waitForRoleChange(deadline: number, busyMessage: string): Promise<void> {
    return this.roleWaiters.wait(deadline, () => new BusyError(20, this.hint(), busyMessage));
  }

  peerId(): NodeId {
    return this.voterConfig.peer();
  }

  /** Stops the loop. With transfer, a leader first hands over to its follower (bounded). */
  async stop(options: { transfer?: boolean; transferTimeoutMs?: number } = {}): Promise<void> {
    if (this.shutdown) return this.shutdown;
    if (options.transfer && this.soft.role === 'leader' && this.voterConfig.peer()) {
      // Whatever becomes of the transfer (another stop() meanwhile, or a room of held
      // requests too full for its wait: BUSY), the node stops: the caller asked for a stop.
      const outcome = await this.transferLeadership(options.transferTimeoutMs ?? 3000).catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'leadership transfer before shutdown failed');
        return null;
      });
      this.log.info({ transfer: outcome }, transferBeforeShutdown(outcome));
    }
    // A stop() that came while this one handed over shut the node down already: once only.
    this.shutdown ??= this.shutDown();
    return this.shutdown;
  }

  /** Stops every part, answers what still waits, closes the WAL (once: see stop). */
  private async shutDown(): Promise<void> {
    this.stopped = true;
    // Requests held while the role settles would otherwise wait out their bound (2 s):
    // woken now, they see the node stopped and answer UNAVAILABLE (client-api.ts).
    this.roleWaiters.close();
    this.ticker.stop();
    this.pauseMonitor?.stop();
    this.walSync.stop();
    this.catchUp?.stop();
    this.watches?.stop();
    this.ephemerals.stop();
    this.takeovers.stop();
    this.termLifetime.stopTermLease();
    this.snapshotter.stop();
    this.unsubscribeZk?.();
    this.termLifetime.stopLeading();
    const shutting = (): DuoraftError => new UnavailableError('this member is shutting down');
    // A waiting write's entry may be in a multi ZooKeeper has yet to answer: it may still land
    // and the next leader replays it. UNAVAILABLE says "retry later", which the client does at
    // once even without a session (an incr twice); its outcome is unknown (review 28).
    this.applier.proposals.close(
      () => new UnknownOutcomeError('this member stopped while the write waited for its entry to commit; it may still take effect: retry with the same session and sequence to learn its outcome'),
      () => new UnavailableError('this member is shutting down; the write did not take effect'),
    );
    // Closed, not merely emptied: a read whose ZooKeeper confirmation was under way, or one
    // the gRPC server still hands in, must not queue where no loop serves it any more.
    this.reads.close(shutting);
    this.applier.appliedWaiters.close(shutting);
    await this.wal.close();
    this.log.info('node stopped');
  }

  /** For tests and the simulator: the core's view, its log and the state machine. */
  inspect(): NodeView {
    return this.api.inspect();
  }

  // ------------------------------------------------------------- the loop

  private begin(): void {
    const common = { zk: this.zk, paths: this.paths, clock: this.clock, logger: this.log };
    this.catchUp = new FollowerCatchUp({
      ...common,
      host: {
        commitIndex: () => this.core.commitIndex(),
        role: () => this.soft.role,
        committedFromZk: (entries, zkLastIndex) => {
          if (this.stopped) return;
          this.core.committedFromZk(entries, zkLastIndex);
          this.schedule();
        },
        // The leader's copy is preferred (it offers what this node lacks, without loading
        // ZooKeeper): wait a moment for its offer, then load ZooKeeper's if still needed.
        needsSnapshot: async (_wanted, firstAvailable) => {
          await sleep(this.clock, SNAPSHOT_ZK_GRACE_MS);
          if (this.stopped) return false;
          // The leader's offer may have bridged the gap during the grace period.
          if (this.core.commitIndex() + 1 >= firstAvailable) return true;
          if (this.snapshotter.status().installing) return false;
          return this.snapshotter.installFromZk(firstAvailable - 1);
        },
      },
    });
    this.transport.setHandler((m, sender) => this.peerAdmission.admit(m, sender));
    this.voterSnapshots.serve();
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
      onStall: (ms, cpu) => this.onStall(ms, cpu),
      cpuTimeMs: this.deps.cpuTimeMs ?? processCpuTimeMs,
    });
    this.pauseMonitor.start();
    this.watches = new ClusterWatches({ ...common, handlers: this.watchHandlers() });
    if (this.voterConfig.peer()) this.watches.watchPeer(this.voterConfig.peer());
    this.ticker.start();
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

  /** Runs every tick owed up to now (core-ticker.ts: before every input the core stamps with its tick count). */
  private catchUpTicks(): void {
    if (!this.stopped) this.ticker.catchUp();
  }

  /** The tick timer's periodic work (after its ticks ran). */
  private onTickTimer(): void {
    if (this.stopped) return;
    this.reads.kick();
    this.failWritesOfLongLapse();
    this.commitHold.note(this.core.commitHeld(), () => {
      const s = this.core.status();
      return { term: s.term, trustedTerm: s.trustedTerm, leaderId: s.leaderId, commit: s.commit, lastIndex: s.lastIndex };
    });
  }

  /** The lease window the holder of `record` requires, in ticks (0: it published none). */
  private leaseWindowTicks(record: LeaseRecord): number {
    if (record.durationMs <= 0) return 0;
    return Math.ceil(leaseWindowFor(record, this.cfg.timing.driftBound) / this.cfg.timing.tickMs);
  }

  private processReady(): void {
    for (let round = 0; round < MAX_READY_ROUNDS && !this.stopped && this.core.hasReady(); round++) {
      this.carryOut(this.core.ready());
    }
    // A divergence stopped the node: its WAL is closed, nothing more may be carried out.
    if (this.stopped) return;
    // A transfer that ended (or was given up) releases the requests held meanwhile.
    this.roleWaiters.transferring(this.soft.role === 'leader' && this.core.isTransferring());
    if (this.core.hasReady()) this.schedule();
    this.reads.kick();
  }

  /** Does what one Ready asks. */
  private carryOut(rd: Ready): void {
    if (rd.diverged) {
      // Nothing else of this Ready may happen: the node's state cannot be trusted, and
      // stopping closes the WAL the rest would write to.
      this.onDiverged(rd.diverged);
      return;
    }
    if (rd.leadershipLost) this.onLeadershipLost(rd.leadershipLost);
    if (rd.softState) this.onSoftState(rd.softState);
    let walWritten = false;
    if (rd.logReset) {
      // A snapshot was installed (its file is durable already): the local log starts over.
      this.wal.truncateFrom(1);
      walWritten = true;
    }
    if (rd.truncateFrom !== undefined) {
      this.wal.truncateFrom(rd.truncateFrom);
      walWritten = true;
    }
    if (rd.entries.length > 0) {
      this.wal.appendEntries(rd.entries);
      walWritten = true;
    }
    if (rd.hardState) {
      this.wal.setHardState(rd.hardState);
      walWritten = true;
    }
    if (walWritten) this.walSync.written();
    let handOver: TimeoutNow | null = null;
    if (rd.resumeLease && this.soft.role === 'leader') this.termLifetime.resumeLease();
    if (rd.toMirror.length > 0) {
      this.termLifetime.current()?.mirrorEntries(rd.toMirror);
      if (this.cfg.faults?.ackBeforeCommit) this.applier.proposals.ackEarly(rd.toMirror.map((e) => e.index));
    }
    for (const m of rd.messages) {
      if (m.type === 'timeoutNow') {
        handOver = m;
        continue;
      }
      // A follower's replies wait for the local WAL (R1, wal-sync.ts); the rest leave now.
      const departure = departureOf(m, this.cfg.faults);
      if (departure === 'now') this.transport.send(m);
      else this.walSync.afterDurable(() => this.transport.send(m), departure);
    }
    if (rd.relinquishLease !== undefined) void this.handOver(rd.relinquishLease, handOver);
    if (rd.handOverUnconfirmed !== undefined) {
      this.handOverWarnings.warn('hand-over', { reason: rd.handOverUnconfirmed }, `hand-over not confirmed by ZooKeeper: ${rd.handOverUnconfirmed}`);
    }
    if (rd.committed.length > 0) this.applier.apply(rd.committed);
    if (rd.snapshotNeeded) this.voterSnapshots.offer(rd.snapshotNeeded.peer);
    if (rd.takeover) {
      if (this.leadPermit.mayLead()) this.takeovers.start(rd.takeover, this.knownCluster());
      else this.clock.setTimeout(() => this.refuseTakeover(), 0);
    }
  }

  /** What the watches last saw of the cluster: lets a fence go out in one round trip. */
  private knownCluster(): KnownCluster {
    return this.sightings.known(this.voterConfig.configSeen());
  }

  private refuseTakeover(): void {
    if (this.stopped) return;
    const reason = this.leadPermit.refusal();
    const epoch = this.sightings.epoch;
    this.core.takeoverResult({ ok: false, epochTerm: epoch?.term ?? 0, epochLeader: epoch?.leaderId ?? '', reason });
    this.schedule();
  }

  /**
   * Leadership transfer, last step: end the lease (no more lease reads or touches), write
   * the record that says it was relinquished, then tell the follower to take over, with
   * that write's version: the follower takes over at once only while the lease znode is at
   * exactly that version and says so, and fences against it, so if we take the lease back
   * later (the transfer timed out) its fence fails. A record that did not surely land means
   * no hand-over: the transfer is given up and the lease taken back.
   */
  private async handOver(transfer: number, timeoutNow: TimeoutNow | null): Promise<void> {
    const leading = this.termLifetime.current();
    if (!leading) return;
    let leaseVersion: number;
    try {
      leaseVersion = await leading.relinquishLease();
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: (err as Error).message }, 'leadership transfer: the relinquished lease record was not (surely) written; not handing over');
      this.core.relinquishFailed(leading.term, transfer);
      this.schedule();
      return;
    }
    if (!timeoutNow || this.stopped) return;
    // The transfer ended while the record was written (it timed out, its peer changed): the
    // lease was taken back, and the operator told it failed. Its TimeoutNow would be refused
    // by the follower's version check anyway (the touches moved the version on), but it
    // must not even try to hand over a leadership that was said to stay (review 33).
    if (!this.core.handingOver(leading.term, transfer)) {
      this.log.info({ transfer }, 'leadership transfer ended while the lease was relinquished; no TimeoutNow sent');
      return;
    }
    this.core.timeoutNowLeft(leading.term, transfer);
    this.transfers.timeoutNowLeft();
    this.transport.send({ ...timeoutNow, leaseVersion });
  }

  // ------------------------------------------------------------ leadership

  private onSoftState(s: SoftState): void {
    const prev = this.soft;
    this.soft = s;
    this.telemetry.roleChanged(prev, s, this.api.leaderContactAgeMs());
    if (prev.role !== s.role) this.roleWaiters.wake();
    if (prev.role !== s.role || prev.term !== s.term || prev.leaderId !== s.leaderId) {
      this.log.info({ from: prev.role, to: s.role, term: s.term, leader: s.leaderId }, 'role changed');
    }
    this.voterSnapshots.followingChanged(s);
    this.termLifetime.roleChanged(prev, s);
    if (s.role !== 'leader') this.reads.failAll(() => new NotLeaderError(this.hint()));
    // A follower that hears no leader keeps itself current from ZooKeeper (L2).
    this.catchUp?.followTail(s.role === 'precandidate');
    // A lease started at a fence whose take-over did not end in leading it: stop it.
    this.termLifetime.dropUnledLease(s);
  }

  /** The term `term` cannot go on (another node fenced us, or a persistent error). */
  private fenced(term: number, reason: string): void {
    if (this.stopped) return;
    this.log.warn({ term, reason }, 'stepping down');
    this.core.mirrorFenced(term);
    this.schedule();
  }

  /**
   * A lease lapsed until the leader fell silent (lapseSilenceMs) means the follower may
   * well take over: waiting writes are told their outcome is unknown so their clients move
   * on (they may still commit, if ZooKeeper comes back and nobody fenced us). Counted like
   * the core's silence, from the last touch that landed: a ZooKeeper that answers slower
   * than the lease duration keeps the lease lapsed but the leader audible, and its writes
   * commit (review 36: counted from the lapse alone, it failed every one of them).
   */
  private failWritesOfLongLapse(): void {
    const leading = this.termLifetime.current();
    if (!leading || this.applier.proposals.size() === 0) return;
    if (leading.leaseUnansweredForMs() < lapseSilenceMs(this.cfg.timing)) return;
    this.applier.proposals.rejectAll(() => new UnknownOutcomeError('the leader lost its lease (ZooKeeper unreachable) with this write in flight; retry with the same session and sequence to learn its outcome'));
  }

  /**
   * The event loop stalled for `ms`: the lease may not be trusted. However long the stall,
   * the leader does not step down for it: a stall is no evidence that the follower took
   * over (on a loaded machine both processes stall together), and if it did, the next touch
   * or multi finds the epoch moved and fences this term. Stepping down anyway turned every
   * machine-wide stall of 300 ms into a change of leader that no fault called for.
   */
  private onStall(ms: number, cpu: StallCpu | null): void {
    if (this.stopped) return;
    const leading = this.soft.role === 'leader';
    // waitedMs and cpuMs say whether the process was busy (cpuMs near waitedMs) or kept off the cores (far less).
    const where = cpu ? { waitedMs: Math.round(cpu.waitedMs), cpuMs: Math.round(cpu.cpuMs) } : {};
    this.log.warn({ stalledMs: Math.round(ms), leading, ...where }, 'event loop stalled');
    if (leading) this.termLifetime.current()?.lapseLease();
  }

  /** A committed entry differs from the leader's or ZooKeeper's: stop serving, let the owner rebuild. */
  private onDiverged(d: Divergence): void {
    const reason = `this node's committed log diverged at index ${d.index}: ${d.reason}`;
    this.log.error({ index: d.index, reason: d.reason }, 'diverged: this node stops serving and must rebuild from ZooKeeper');
    this.fail(reason, 'diverged');
  }

  /** Stops serving for good and tells the owner (once). */
  private fail(reason: string, what: FatalKind): void {
    if (this.api.fatalReason() !== null || this.stopped) return;
    this.api.stoppedServing(reason);
    void this.stop().then(() => this.deps.onFatal?.(reason, what));
  }

  private onLeadershipLost(l: LeadershipLost): void {
    this.log.warn({ term: l.term, commit: l.commit, inFlightTo: l.sentToMirror, reason: l.reason }, 'leadership lost');
    this.applier.proposals.leadershipLost(l.commit, l.sentToMirror, this.hint(), l.reason);
  }

  private async confirmLeadership(): Promise<void> {
    const leading = this.termLifetime.current();
    if (!leading || this.soft.role !== 'leader') throw new NotLeaderError(this.hint());
    await leading.confirm();
  }

  // -------------------------------------------------------------- ZooKeeper

  private onZkState(s: ZkConnectionState): void {
    if (this.stopped) return;
    this.core.setZkConnected(s === 'connected');
    if (s === 'expired') this.log.warn('ZooKeeper session expired: ephemeral znodes are gone');
    this.schedule();
  }

  private watchHandlers(): ClusterWatchHandlers {
    return {
      onIdentity: (seen) => this.identityCheck.seen(seen),
      onEpoch: (e) => {
        this.catchUpTicks();
        this.sightings.sawEpoch(e);
        this.core.observeEpoch(e.term, e.leaderId);
        this.schedule();
      },
      onLease: (version, record) => {
        this.catchUpTicks();
        this.core.observeLease(version, this.leaseWindowTicks(record), leaseSighting(record));
        this.schedule();
      },
      onLeaderZnode: (record, stat) => {
        const before = this.sightings.sawLeaderZnode(record);
        this.ephemerals.leaderZnodeSeen(stat?.ephemeralOwner ?? null, record?.id ?? null, record?.term ?? 0);
        if (!record && before && before.id === this.soft.leaderId && this.soft.role === 'follower') {
          this.log.info({ leader: before.id }, 'leader znode vanished: suspecting the leader');
          this.core.suspectLeader();
          this.schedule();
        }
      },
      onConfig: (version, voters) => this.voterConfig.onConfig(version, voters),
      onPeerMember: (peer, address, peerAddress) => {
        this.sightings.sawMember(peer, address);
        this.voterConfig.onPeerMember(peer, peerAddress);
        // A restarted peer registers again: reach it now, not after a reconnect backoff.
        this.transport.peerMayBeBack?.(peer);
      },
    };
  }

  private memberRecord(): MemberRecord {
    return memberRecordOf(this.cfg);
  }
}

/** What a lease record tells the core's hand-over check (src/core/hand-over.ts). */
function leaseSighting(record: LeaseRecord): Omit<LeaseSighting, 'version'> {
  return { term: record.term, holder: record.leaderId, relinquished: record.relinquished === true };
}
