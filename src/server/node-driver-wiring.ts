// The node driver's parts, built and wired to each other, kept apart from the driver as
// etcd keeps NewServer (which builds the parts) apart from its raftNode (which runs the loop).
//
// wireNodeDriver builds every part in the order the driver's constructor always did (some
// subscribe to the ZooKeeper session as they are built, and a local log that cannot follow
// its snapshot is refused before any part exists). What a part needs of the loop (the role
// it last carried out, whether it stopped, a turn of the loop, a fatal stop) it asks
// through DriverLoop, which the driver implements; nothing here orders a Ready's side effects.
import { WarningThrottle } from '../common/warning-throttle.js';
import { CorruptWalError, type LeaderHint } from '../common/errors.js';
import type { ClusterPaths } from '../coordination/layout.js';
import type { ClusterIdentity, MemberRecord } from '../coordination/records.js';
import { ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import { RaftCore, type SoftState } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import { MemorySnapshotStore } from '../storage/memory-snapshot-store.js';
import { Applier } from './applier.js';
import { ClientApi } from './client-api.js';
import { ClusterSightings } from './cluster-sightings.js';
import type { ClusterWatches } from './cluster-watches.js';
import { CommitHoldReport } from './commit-hold-report.js';
import { CoreTicker } from './core-ticker.js';
import { Ephemerals } from './ephemerals.js';
import { IdentityCheck } from './identity-check.js';
import { LeadPermit } from './lead-permit.js';
import { LeaderTermLifetime } from './leader-term-lifetime.js';
import { coreConfigFor, type NodeConfig } from './node-config.js';
import type { FatalKind, NodeDriverDeps } from './node-driver-deps.js';
import { PeerAdmission } from './peer-admission.js';
import { ReadIndexQueue } from './read-index.js';
import { zkChunkBytesOf } from './rebuild-from-zk.js';
import { RoleWaiters } from './role-waiters.js';
import { defaultSnapshotPolicy, Snapshotter } from './snapshotter.js';
import { type KnownCluster, TakeoverRunner } from './takeover-runner.js';
import { type NodeTelemetry, noTelemetry } from './telemetry.js';
import { TransferRequests } from './transfer-request.js';
import { VoterConfig } from './voter-config.js';
import { VoterSnapshotExchange } from './voter-snapshot-exchange.js';
import { WalSync } from './wal-sync.js';

/** A reply the leader waits on (core/messages.ts, AwaitedByLeader) waits for the local WAL at most this pace (ms between fsyncs); others keep walSyncIntervalMs. */
const REPLY_SYNC_INTERVAL_MS = 2;
/** How a local log that starts past index 1 is named in its error (the driver sees no file names). */
const MEMORY_OR_FILE = 'the local WAL';
/** Bound on replies waiting for the local WAL. */
const MAX_REPLIES_WAITING = 4096;

/** What the parts ask of the driver's loop. */
export interface DriverLoop {
  /** The role the loop last carried out (not the core's newest). */
  soft(): SoftState;
  stopped(): boolean;
  /** Asks the loop to run (processReady on the next turn). */
  schedule(): void;
  /** Runs every tick owed up to now, before an input the core stamps with its tick count. */
  catchUpTicks(): void;
  /** The tick timer's periodic work, after its ticks ran. */
  onTickTimer(): void;
  hint(): LeaderHint;
  /** One check that this node still holds the epoch (a ReadIndex round). */
  confirmLeadership(): Promise<void>;
  waitForRoleChange(deadline: number, busyMessage: string): Promise<void>;
  /** What the watches last saw of the cluster, for a fence. */
  knownCluster(): KnownCluster;
  /** Stops serving for good and tells the owner (once). */
  fail(reason: string, what: FatalKind): void;
  /** The term cannot go on (another node fenced us, or a persistent error). */
  fenced(term: number, reason: string): void;
  /** The watches, once the loop began (null before). */
  watches(): ClusterWatches | null;
}

/** Every part of a driver, wired. */
export interface NodeDriverParts {
  readonly sightings: ClusterSightings;
  readonly voterConfig: VoterConfig;
  readonly applier: Applier;
  readonly core: RaftCore;
  /** The core's soft state when it was built. */
  readonly soft: SoftState;
  readonly ticker: CoreTicker;
  readonly roleWaiters: RoleWaiters;
  readonly reads: ReadIndexQueue;
  readonly commitHold: CommitHoldReport;
  readonly handOverWarnings: WarningThrottle;
  readonly telemetry: NodeTelemetry;
  readonly peerAdmission: PeerAdmission;
  readonly identityCheck: IdentityCheck;
  readonly walSync: WalSync;
  readonly termLifetime: LeaderTermLifetime;
  readonly takeovers: TakeoverRunner;
  readonly snapshotter: Snapshotter;
  readonly voterSnapshots: VoterSnapshotExchange;
  readonly leadPermit: LeadPermit;
  readonly ephemerals: Ephemerals;
  readonly api: ClientApi;
  readonly transfers: TransferRequests;
}

/** The member znode of this voter. */
export function memberRecordOf(cfg: NodeConfig): MemberRecord {
  return { id: cfg.id, address: cfg.advertise, kind: 'voter', peerAddress: cfg.peerAdvertise ?? cfg.advertise };
}

/**
 * Builds the driver's parts. Throws CorruptWalError when the local log resumes past what its
 * snapshot covers (nothing is built then), and starts the local WAL over when everything it
 * holds is inside the snapshot.
 */
export function wireNodeDriver(deps: NodeDriverDeps, voters: readonly NodeId[], identity: ClusterIdentity, paths: ClusterPaths, loop: DriverLoop): NodeDriverParts {
  const id = deps.config.id;
  const sightings = new ClusterSightings(id, deps.config.advertise);
  const voterConfig = new VoterConfig(
    id,
    voters,
    {
      setCorePeer: (peer) => core.setPeer(peer),
      setPeerAddress: (peer, address) => deps.transport.setPeerAddress(peer, address),
      watchPeerMember: (peer) => loop.watches()?.watchPeer(peer),
      schedule: () => loop.schedule(),
    },
    deps.logger,
  );
  const rec = deps.recovery;
  const initial = deps.snapshots?.initial;
  const after = initial ? initial.loaded.point.index : 0;
  const first = rec.entries.find((e) => e.index > after);
  if (first && first.index > after + 1) {
    // Nothing can stand for the entries between the snapshot (or index 1) and the log's
    // first: the state machine would skip them, which is wrong data, not a restart.
    throw new CorruptWalError(MEMORY_OR_FILE, 0, `the local log resumes at index ${first.index}, but the snapshot it starts from covers only up to ${after}`);
  }
  if (initial && first === undefined && rec.entries.length > 0) {
    // Everything the WAL holds is inside the snapshot, and the WAL may end before the
    // snapshot's index (the power went after the snapshot's fsyncs, before the WAL's paced
    // fsync covered what it holds). The log resumes after the snapshot: start the WAL over,
    // as after an installed one, or the next append would leave a gap the WAL refuses.
    deps.wal.truncateFrom(1);
  }
  const applier = new Applier({
    clock: deps.clock,
    initial: initial?.loaded.store ?? null,
    maxPendingProposals: deps.config.limits.maxPendingProposals,
    maxPendingReads: deps.config.limits.maxPendingReads,
    noteApplied: (entries) => snapshotter.noteApplied(entries),
  });
  const restored = {
    ...(rec.hardState ? { hardState: rec.hardState } : {}),
    ...(initial ? { snapshot: initial.loaded.point } : {}),
    // The local WAL keeps whole segment files: entries the snapshot covers may still be there.
    entries: rec.entries.filter((e) => e.index > after),
    // The saved term may have been taken from a (forged) message: trusted one below it,
    // until the epoch read at start says more (the commit gate's trusted term, src/core/commit-gate.ts).
    ...(rec.hardState ? { trustedTerm: rec.hardState.term - 1 } : {}),
  };
  const core = new RaftCore(coreConfigFor(deps.config, voterConfig.peer(), identity.clusterId), deps.random, restored);
  const soft = core.softState();
  const ticker = new CoreTicker({
    clock: deps.clock,
    tickMs: deps.config.timing.tickMs,
    tick: () => core.tick(),
    ticked: () => loop.schedule(),
    onTimer: () => loop.onTickTimer(),
  });
  const roleWaiters = new RoleWaiters(deps.clock, deps.config.limits.maxPendingProposals);
  const reads = new ReadIndexQueue(
    {
      canServeReads: () => core.committedInCurrentTerm() && termLifetime.current() !== null,
      isLeader: () => loop.soft().role === 'leader',
      commitIndex: () => core.commitIndex(),
      confirmLeadership: () => loop.confirmLeadership(),
      hint: () => loop.hint(),
    },
    deps.clock,
    deps.config.limits.maxPendingReads,
  );
  const commitHold = new CommitHoldReport(deps.logger, deps.clock);
  const handOverWarnings = new WarningThrottle(deps.logger, deps.clock, 1000);
  const telemetry = deps.telemetry ?? noTelemetry;
  const peerAdmission = new PeerAdmission({
    logger: deps.logger,
    clock: deps.clock,
    observer: telemetry,
    stopped: () => loop.stopped(),
    catchUpTicks: () => loop.catchUpTicks(),
    step: (m, authenticated) => core.step(m, authenticated),
    schedule: () => loop.schedule(),
  });
  const identityCheck = new IdentityCheck({
    zk: deps.zk,
    paths,
    logger: deps.logger,
    identity,
    onLost: (reason) => loop.fail(reason, 'zk-data-lost'),
  });
  const walSync = new WalSync({
    wal: deps.wal,
    clock: deps.clock,
    logger: deps.logger,
    intervalMs: deps.config.limits.walSyncIntervalMs,
    replyIntervalMs: deps.config.timing.heartbeatMs,
    urgentIntervalMs: Math.min(REPLY_SYNC_INTERVAL_MS, deps.config.limits.walSyncIntervalMs),
    maxWaiting: MAX_REPLIES_WAITING,
    observer: telemetry,
  });
  const common = { zk: deps.zk, paths, clock: deps.clock, logger: deps.logger };
  const termLifetime = new LeaderTermLifetime({
    ...common,
    config: deps.config,
    selfId: id,
    core,
    telemetry,
    host: {
      stopped: () => loop.stopped(),
      schedule: () => loop.schedule(),
      fenced: (term, reason) => loop.fenced(term, reason),
      setLeaderClaim: (claim) => ephemerals.setLeaderClaim(claim),
      walAppended: (bytes) => snapshotter.walAppended(bytes),
    },
  });
  const takeovers = new TakeoverRunner({
    ...common,
    config: deps.config,
    selfId: id,
    observer: telemetry,
    onDone: (result, fenced) => {
      if (fenced) termLifetime.takeoverFenced(fenced);
      core.takeoverResult(result);
      loop.schedule();
    },
    onFenced: (f) => termLifetime.startTermLease(f),
    knownNow: () => loop.knownCluster(),
    stillWanted: (req) => {
      const now = core.softState();
      return !loop.stopped() && now.role === 'candidate' && now.term === req.term;
    },
    // An install under way may be the pull of the deposed leader's snapshot (abandoned as
    // this node became candidate): once it ended, load ZooKeeper's.
    loadSnapshot: async (wanted) => {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (await snapshotter.installFromZk(wanted).catch(() => false)) return core.commitIndex();
      }
      // ZooKeeper compacted through exactly our commit index, and the newest snapshot did not
      // serve: a complete snapshot's point there still proves our entry (review 10).
      const commit = core.commitIndex();
      if (wanted !== commit) return null;
      const point = await snapshotter.zkPointAt(commit).catch(() => null);
      return point !== null && core.confirmsCommitPoint(point) ? commit : null;
    },
    onZkDataLost: (reason) => {
      deps.logger.error({ reason }, 'ZooKeeper lost committed data: this node stops serving and keeps its data for duoraft admin restore-zk');
      loop.fail(reason, 'zk-data-lost');
    },
  });
  const storage = deps.snapshots?.storage ?? new MemorySnapshotStore({ cluster: deps.config.cluster });
  const snapshotter: Snapshotter = new Snapshotter({
    storage,
    zk: deps.snapshots?.useZooKeeper === false ? null : new ZkSnapshotStore({ zk: deps.zk, paths, clock: deps.clock, logger: deps.logger, nodeId: id, ...zkChunkBytesOf(deps.snapshots) }),
    host: {
      kv: () => applier.store(),
      pointAt: (index) => {
        const e = core.entryAt(index);
        const at = core.compactedTo();
        if (e) return { index, term: e.term, chain: e.chain };
        if (at.index === index) return at;
        throw new Error(`no entry at the applied index ${index} (the log starts after ${at.index})`);
      },
      compactLocal: async (memoryIndex, walIndex) => {
        if (loop.stopped()) return;
        const upTo = Math.min(memoryIndex, applier.appliedIndex());
        if (upTo > core.compactedTo().index) core.compact(upTo);
        await deps.wal.compact(walIndex);
      },
      leaderEpochVersion: () => {
        const leading = termLifetime.current();
        return loop.soft().role === 'leader' && leading ? leading.epochVersion : null;
      },
      install: (point, store) => {
        if (loop.stopped() || !core.installSnapshot(point)) return false;
        applier.install(store);
        loop.schedule();
        return true;
      },
    },
    policy: deps.snapshots?.policy ?? defaultSnapshotPolicy,
    clock: deps.clock,
    logger: deps.logger,
    initial: initial?.saved ?? null,
    observer: telemetry,
  });
  const voterSnapshots = new VoterSnapshotExchange({
    host: {
      id,
      peer: () => voterConfig.peer(),
      soft: () => loop.soft(),
      stopped: () => loop.stopped(),
      commitIndex: () => core.commitIndex(),
      vouchedFor: (term, authenticated, sender) => core.vouchedFor(term, authenticated, sender),
      compactedTo: () => core.compactedTo().index,
      snapshotSent: (peer, index) => {
        core.snapshotSent(peer, index);
        loop.schedule();
      },
    },
    transfer: deps.transport.snapshots,
    snapshotter,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.snapshots?.pieces?.rangeBytes !== undefined ? { rangeBytes: deps.snapshots.pieces.rangeBytes } : {}),
  });
  const leadPermit = new LeadPermit(deps.logger, () => snapshotter.newest() !== null);
  const ephemerals: Ephemerals = new Ephemerals({
    ...common,
    selfId: id,
    address: deps.config.advertise,
    member: memberRecordOf(deps.config),
    onFenced: (term, reason) => loop.fenced(term, reason),
  });
  const api = new ClientApi({
    host: {
      soft: () => loop.soft(),
      leading: () => termLifetime.current(),
      stopped: () => loop.stopped(),
      hint: () => loop.hint(),
      zkConnected: () => deps.zk.state === 'connected',
      schedule: () => loop.schedule(),
      waitForRoleChange: (deadline, busyMessage) => loop.waitForRoleChange(deadline, busyMessage),
    },
    config: deps.config,
    clock: deps.clock,
    core,
    applier,
    reads,
    snapshotter,
  });
  const transfers = new TransferRequests({
    clock: deps.clock,
    logger: deps.logger,
    core,
    host: {
      // Leads as the loop last carried it out and as the core sees it now (it may have stepped down since).
      leads: () => loop.soft().role === 'leader' && core.softState().role === 'leader',
      stopped: () => loop.stopped(),
      schedule: () => loop.schedule(),
      waitForRoleChange: (deadline, busyMessage) => loop.waitForRoleChange(deadline, busyMessage),
      peer: () => voterConfig.peer(),
    },
  });
  return {
    sightings,
    voterConfig,
    applier,
    core,
    soft,
    ticker,
    roleWaiters,
    reads,
    commitHold,
    handOverWarnings,
    telemetry,
    peerAdmission,
    identityCheck,
    walSync,
    termLifetime,
    takeovers,
    snapshotter,
    voterSnapshots,
    leadPermit,
    ephemerals,
    api,
    transfers,
  };
}
