// The node's Prometheus metrics: the one module that knows prom-client.
//
// Two kinds of input, neither of which lets metrics change what the node does:
// - figures the node holds (role, term, indexes, queues, lease; node-figures.ts), read
//   when /metrics is scraped;
// - events the parts emit as they work (telemetry.ts: the WAL mirror's multis, fsyncs,
//   take-overs, refused peer messages; client-op-observer.ts: every client operation;
//   the ZooKeeper session's state changes), counted and timed here.
// Every series carries the labels node and cluster. Names, units and the questions
// they answer: README "Metrics and dashboard"; docker/grafana/duoraft-dashboard.json uses them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../common/clock.js';
import type { MirrorMultiSample } from '../coordination/wal-mirror.js';
import type { ZkConnectionState, ZkSession } from '../coordination/zk-api.js';
import type { Role, SoftState } from '../core/raft.js';
import type { ClientOpKind, ClientOpObserver } from './client-op-observer.js';
import { FailoverTimeline, type TakeoverKind, type TakeoverPhase } from './failover-timeline.js';
import type { HealthVerdict } from './health.js';
import type { SnapshotObserver } from './snapshotter.js';
import type { FiguresSource, ListenerFigures, MemberFigures, NodeFigures } from './node-figures.js';
import type { TakeoverSample } from './takeover-runner.js';
import type { NodeTelemetry, PeerRefusal } from './telemetry.js';

export interface NodeMetricsOptions {
  readonly nodeId: string;
  readonly cluster: string;
  readonly clock: Clock;
  /** Also export the process's own metrics (CPU, memory, event-loop delay, GC): prom-client's defaults. */
  readonly processMetrics?: boolean;
  /**
   * What the member is (default voter). A listener's series of voter-only events (take-overs,
   * the WAL mirror, BUSY writes, publishing snapshots) are not created at 0: it has none.
   */
  readonly member?: 'voter' | 'listener';
}

/** What metrics read when scraped. */
export interface MetricsSources {
  readonly figures: FiguresSource;
  readonly health: () => HealthVerdict;
}

/** The part of a ZooKeeper session metrics follow. */
export type ZkStateSource = Pick<ZkSession, 'state' | 'onStateChange'>;

const ROLES: ReadonlyArray<Role | 'listener'> = ['follower', 'precandidate', 'candidate', 'leader', 'listener'];
const TAKEOVER_KINDS: readonly TakeoverKind[] = ['failover', 'transfer', 'election'];
const TAKEOVER_PHASES: readonly TakeoverPhase[] = ['detect', 'lease_wait', 'fence', 'replay', 'first_commit'];
/** The kinds a BUSY answer can come to (writes, and the session entries that are writes too). */
const WRITE_KINDS: readonly ClientOpKind[] = ['put', 'delete', 'incr', 'cas', 'register_session', 'keep_alive'];
const ZK_STATES: readonly ZkConnectionState[] = ['connected', 'disconnected', 'expired', 'closed'];

/** Latencies from 0.25 ms (a local fsync, a fast multi) to 10 s (a client's whole deadline). */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
/** Failovers and their phases: tens to hundreds of ms normally, seconds when something is wrong. */
const FAILOVER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10];
const BATCH_ENTRY_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
const BATCH_BYTE_BUCKETS = [256, 1024, 4096, 16_384, 65_536, 262_144, 786_432];
/** Taking, publishing a snapshot: milliseconds for a small state, seconds to a minute for a large one. */
const SNAPSHOT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const PUBLISH_OUTCOMES: ReadonlyArray<Parameters<SnapshotObserver['snapshotPublished']>[0]['outcome']> = ['published', 'over_budget', 'fenced', 'failed'];

const seconds = (ms: number): number => ms / 1000;

export class NodeMetrics implements NodeTelemetry, ClientOpObserver {
  readonly registry = new Registry();
  private readonly timeline: FailoverTimeline;
  private sources: MetricsSources | null = null;
  private zkState: ZkConnectionState | null = null;
  /** Whether the session was ever connected: the first connect is no reconnect. */
  private zkWasConnected = false;
  private unsubscribeZk: (() => void) | null = null;

  // ---------------------------------------------------------------- events
  private readonly zkMultiSeconds: Histogram<'outcome'>;
  private readonly zkMultiEntries: Histogram;
  private readonly zkMultiBytes: Histogram;
  private readonly clientSeconds: Histogram<'kind' | 'code'>;
  private readonly clientBusy: Counter<'kind'>;
  private readonly takeovers: Counter<'kind' | 'outcome'>;
  private readonly failoverSeconds: Histogram<'kind'>;
  private readonly phaseSeconds: Histogram<'kind' | 'phase'>;
  private readonly leaseLapses: Counter;
  private readonly fsyncSeconds: Histogram<'outcome'>;
  private readonly zkExpiries: Counter;
  private readonly zkReconnects: Counter;
  private readonly peerRefusals: Counter<'type' | 'why'>;
  private readonly snapshotsTaken: Counter<'outcome'>;
  private readonly snapshotSeconds: Histogram;
  private readonly publishSeconds: Histogram<'outcome'>;
  private readonly snapshotInstalls: Counter<'source' | 'outcome'>;

  constructor(o: NodeMetricsOptions) {
    const registers = [this.registry];
    // Figures only one kind of member has are not exported by the other (an unlabelled gauge
    // always shows a value: 0 would read as a term, a depth, a lease).
    const isVoter = (o.member ?? 'voter') === 'voter';
    this.registry.setDefaultLabels({ node: o.nodeId, cluster: o.cluster });
    if (o.processMetrics) collectDefaultMetrics({ register: this.registry });
    // A voter's figure (absent on a listener), a figure every member has, a listener's figure.
    const figure = (f: (n: NodeFigures) => number): (() => number | null) => () => {
      const n = this.sources?.figures() ?? null;
      return n === null || n.role === 'listener' ? null : f(n);
    };
    const shared = (f: (n: MemberFigures) => number): (() => number | null) => () => {
      const n = this.sources?.figures() ?? null;
      return n === null ? null : f(n);
    };
    const listener = (f: (n: ListenerFigures) => number): (() => number | null) => () => {
      const n = this.sources?.figures() ?? null;
      return n === null || n.role !== 'listener' ? null : f(n);
    };

    // ---- the node's state, read at each scrape
    const roleNow = (): Role | 'listener' | null => this.sources?.figures()?.role ?? null;
    new Gauge({
      name: 'duoraft_role',
      help: 'The Raft role (or listener): 1 for the current one, 0 for the others (all 0 while starting)',
      labelNames: ['role'],
      registers,
      collect() {
        const role = roleNow();
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    this.figureGauge('duoraft_term', 'The current term (moves at each take-over)', figure((n) => n.term), isVoter);
    this.figureGauge('duoraft_commit_index', 'The highest log index known committed (in ZooKeeper; a listener: as its upstream or ZooKeeper told it)', shared((n) => n.commitIndex));
    this.figureGauge('duoraft_applied_index', 'The highest log index applied to the key-value state machine', shared((n) => n.appliedIndex));
    this.figureGauge('duoraft_last_index', 'The last index of the local log', shared((n) => n.lastIndex));
    this.figureGauge('duoraft_pending_proposals', 'Client writes waiting for their entry to commit and apply (BUSY beyond --max-pending-proposals)', figure((n) => n.pendingProposals), isVoter);
    this.figureGauge('duoraft_mirror_backlog_entries', 'Leader: entries handed to the WAL mirror and not yet known to be in ZooKeeper', figure((n) => n.mirrorBacklog), isVoter);
    this.figureGauge('duoraft_lease_holds', 'Leader: 1 while its ZooKeeper lease holds', figure((n) => (n.leaseHolds ? 1 : 0)), isVoter);
    this.figureGauge(
      'duoraft_leader_contact_age_seconds',
      'Follower: since it last heard from its leader (+Inf: never; 0 on the leader)',
      figure((n) => (n.role === 'leader' ? 0 : seconds(n.leaderContactAgeMs))),
      isVoter,
    );
    this.figureGauge(
      'duoraft_commit_held',
      "Follower: 1 while its commit index is held because its leader's term is not yet in ZooKeeper's epoch as it sees it (it takes entries, up to a bound, and commits none)",
      figure((n) => (n.commitHeld ? 1 : 0)),
      isVoter,
    );
    this.figureGauge('duoraft_serving', 'Health: 1 while the member can do its role (the gRPC health service says SERVING)', () => {
      const h = this.sources?.health();
      return h === undefined ? null : h.serving ? 1 : 0;
    });

    // ---- the WAL mirror's multis (the commit point)
    this.zkMultiSeconds = new Histogram({
      name: 'duoraft_zk_multi_duration_seconds',
      help: "Leader: one WAL append multi to ZooKeeper, from sending it to its answer (the commit point's latency)",
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.zkMultiEntries = new Histogram({ name: 'duoraft_zk_multi_entries', help: 'Leader: log entries in one WAL append multi (group commit)', buckets: BATCH_ENTRY_BUCKETS, registers });
    this.zkMultiBytes = new Histogram({ name: 'duoraft_zk_multi_bytes', help: 'Leader: size of the segment znode of one WAL append multi', buckets: BATCH_BYTE_BUCKETS, registers });

    // ---- clients
    this.clientSeconds = new Histogram({
      name: 'duoraft_client_request_duration_seconds',
      help: 'One client operation, from its arrival to its answer, by kind and outcome code (OK, NOT_LEADER, BUSY, ...)',
      labelNames: ['kind', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.clientBusy = new Counter({ name: 'duoraft_client_busy_total', help: 'Client operations answered BUSY (too many writes pending, or too many pipelined)', labelNames: ['kind'], registers });

    // ---- take-overs
    this.takeovers = new Counter({
      name: 'duoraft_takeovers_total',
      help: 'Take-overs this node ran: kind failover (the leader went quiet), transfer (handed over), election (no leader before); outcome ok or failed',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.failoverSeconds = new Histogram({
      name: 'duoraft_failover_duration_seconds',
      help: "A successful take-over, from the old leader's last word (a transfer: its TimeoutNow) to the new term's first commit",
      labelNames: ['kind'],
      buckets: FAILOVER_BUCKETS,
      registers,
    });
    this.phaseSeconds = new Histogram({
      name: 'duoraft_takeover_phase_duration_seconds',
      help: 'The phases of a successful take-over: detect, lease_wait, fence, replay, first_commit',
      labelNames: ['kind', 'phase'],
      buckets: FAILOVER_BUCKETS,
      registers,
    });
    this.leaseLapses = new Counter({ name: 'duoraft_lease_lapses_total', help: 'Leader: times its lease lapsed (no touch succeeded in time; ZooKeeper slow or unreachable)', registers });

    // ---- the local WAL
    this.fsyncSeconds = new Histogram({ name: 'duoraft_wal_fsync_duration_seconds', help: 'One fsync of the local WAL', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers });

    // ---- the ZooKeeper session
    const zkStateNow = (): ZkConnectionState | null => this.zkState;
    new Gauge({
      name: 'duoraft_zk_session_state',
      help: 'The ZooKeeper session: 1 for the current state, 0 for the others',
      labelNames: ['state'],
      registers,
      collect() {
        const state = zkStateNow();
        for (const s of ZK_STATES) this.set({ state: s }, s === state ? 1 : 0);
      },
    });
    this.zkExpiries = new Counter({ name: 'duoraft_zk_session_expiries_total', help: 'ZooKeeper sessions that expired (ephemeral znodes lost; a new session follows)', registers });
    this.zkReconnects = new Counter({ name: 'duoraft_zk_reconnects_total', help: 'Connections to ZooKeeper made again after a disconnection or an expiry', registers });

    // ---- peers
    this.peerRefusals = new Counter({
      name: 'duoraft_peer_messages_refused_total',
      help: "Peer messages refused: why=invalid (failed the core's checks) or sender (not the voter its certificate names)",
      labelNames: ['type', 'why'],
      registers,
    });

    // ---- snapshots (snapshotter.ts) and the ZooKeeper budget (zk-budget.ts)
    this.snapshotsTaken = new Counter({ name: 'duoraft_snapshots_total', help: 'Local snapshots of the state machine taken (outcome ok) or failed', labelNames: ['outcome'], registers });
    this.snapshotSeconds = new Histogram({ name: 'duoraft_snapshot_duration_seconds', help: 'Taking one local snapshot: writing the state in slices, fsync and rename', buckets: SNAPSHOT_BUCKETS, registers });
    this.publishSeconds = new Histogram({
      name: 'duoraft_snapshot_publish_duration_seconds',
      help: 'Leader: publishing a snapshot to ZooKeeper (upload, prune, compaction of wal/); outcome published, over_budget (not uploaded), fenced or failed',
      labelNames: ['outcome'],
      buckets: SNAPSHOT_BUCKETS,
      registers,
    });
    this.snapshotInstalls = new Counter({
      name: 'duoraft_snapshot_installs_total',
      help: 'Snapshots installed because the log this node needed was compacted: source zookeeper or leader; outcome ok or failed',
      labelNames: ['source', 'outcome'],
      registers,
    });
    this.figureGauge('duoraft_snapshot_index', 'The newest local snapshot: the log index it covers (0: none)', shared((n) => n.snapshotIndex));
    this.figureGauge('duoraft_snapshot_bytes', "The newest local snapshot's file size", shared((n) => n.snapshotBytes));
    const budget = (f: (b: NonNullable<NodeFigures['zkBudget']>) => number): (() => number | null) => () => {
      const n = this.sources?.figures() ?? null;
      const b = n === null || n.role === 'listener' ? null : n.zkBudget;
      return b === null ? null : f(b);
    };
    this.figureGauge('duoraft_zk_budget_used_bytes', 'Leader: WAL segments and snapshots the cluster keeps in ZooKeeper (data bytes, tracked; counted again every minute)', budget((b) => b.usedBytes), isVoter);
    this.figureGauge('duoraft_zk_budget_limit_bytes', 'Leader: the ZooKeeper budget (--zk-budget-bytes)', budget((b) => b.budgetBytes), isVoter);
    this.figureGauge('duoraft_zk_budget_over', 'Leader: 1 while the state is too large for the ZooKeeper budget (writes that add data are refused)', budget((b) => (b.over ? 1 : 0)), isVoter);
    this.figureGauge('duoraft_zk_budget_tight', 'Leader: 1 while wal/ is compacted through the newest snapshot to stay within the budget', budget((b) => (b.mode === 'tight' ? 1 : 0)), isVoter);

    // ---- a listener's own (absent on voters): where it is in the tree, how far behind
    this.figureGauge('duoraft_listener_depth', 'Listener: 1 fed by a voter, n fed by a depth n-1 listener, 0 reading ZooKeeper (or between upstreams)', listener((n) => n.depth), !isVoter);
    this.figureGauge('duoraft_listener_lag_entries', 'Listener: entries between the commit index it heard of and its applied index', listener((n) => n.lagEntries), !isVoter);
    this.figureGauge('duoraft_listener_lag_seconds', 'Listener: how long it has been behind the commit index it heard of (0: not behind)', listener((n) => seconds(n.lagMs)), !isVoter);
    this.figureGauge('duoraft_listeners', 'Listener: the listeners it feeds now', listener((n) => n.feeding), !isVoter);
    // What its health judges (health.ts): a listener cut off from its source stops hearing commit news.
    this.figureGauge('duoraft_listener_commit_news_age_seconds', 'Listener: since it last heard a commit index from its upstream or read ZooKeeper\'s tail', listener((n) => seconds(n.commitNewsAgeMs)), !isVoter);
    this.figureGauge('duoraft_listener_zk_disconnected_seconds', 'Listener: how long its ZooKeeper session has been disconnected (0: connected)', listener((n) => seconds(n.zkDisconnectedMs)), !isVoter);
    if (!isVoter) this.listenerSeries(listener((n) => n.upstreamChanges));

    this.zeroKnownSeries(o.member ?? 'voter');
    this.timeline = new FailoverTimeline(o.clock, {
      takeover: (kind: TakeoverKind, ok: boolean) => this.takeovers.inc({ kind, outcome: ok ? 'ok' : 'failed' }),
      phase: (kind: TakeoverKind, phase: TakeoverPhase, ms: number) => this.phaseSeconds.observe({ kind, phase }, seconds(ms)),
      failover: (kind: TakeoverKind, ms: number) => this.failoverSeconds.observe({ kind }, seconds(ms)),
    });
  }

  /** Where the figures come from, once the node runs (until then they are absent). */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** Follows the session's state changes (until close()). */
  followZk(zk: ZkStateSource): void {
    this.unsubscribeZk?.();
    this.zkState = zk.state;
    this.zkWasConnected = zk.state === 'connected';
    this.unsubscribeZk = zk.onStateChange((state) => this.zkStateChanged(state));
  }

  /** The exposition text of every series. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.unsubscribeZk?.();
    this.unsubscribeZk = null;
    this.sources = null;
    this.registry.clear();
  }

  // ------------------------------------------------------------ telemetry

  mirrorMulti(s: MirrorMultiSample): void {
    this.zkMultiSeconds.observe({ outcome: s.ok ? 'ok' : 'error' }, seconds(s.ms));
    if (!s.ok) return;
    this.zkMultiEntries.observe(s.entries);
    this.zkMultiBytes.observe(s.bytes);
  }

  walSynced(ms: number, ok: boolean): void {
    this.fsyncSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds(ms));
  }

  leaseLapsed(): void {
    this.leaseLapses.inc();
  }

  peerRefused(type: string, why: PeerRefusal): void {
    this.peerRefusals.inc({ type, why });
  }

  roleChanged(prev: SoftState, next: SoftState, leaderContactAgeMs: number): void {
    this.timeline.roleChanged(prev, next, leaderContactAgeMs);
  }

  takeoverDone(sample: TakeoverSample): void {
    this.timeline.takeoverDone(sample);
  }

  committedInTerm(term: number): void {
    this.timeline.committedInTerm(term);
  }

  snapshotTaken(sample: Parameters<SnapshotObserver['snapshotTaken']>[0]): void {
    this.snapshotsTaken.inc({ outcome: sample.ok ? 'ok' : 'failed' });
    if (sample.ok) this.snapshotSeconds.observe(seconds(sample.ms));
  }

  snapshotPublished(sample: Parameters<SnapshotObserver['snapshotPublished']>[0]): void {
    this.publishSeconds.observe({ outcome: sample.outcome }, seconds(sample.ms));
  }

  snapshotInstalled(sample: Parameters<SnapshotObserver['snapshotInstalled']>[0]): void {
    this.snapshotInstalls.inc({ source: sample.source, outcome: sample.ok ? 'ok' : 'failed' });
  }

  clientOp(kind: ClientOpKind, ms: number, code: string): void {
    this.clientSeconds.observe({ kind, code }, seconds(ms));
    if (code === 'BUSY') this.clientBusy.inc({ kind });
  }

  // -------------------------------------------------------------- helpers

  private zkStateChanged(state: ZkConnectionState): void {
    const before = this.zkState;
    this.zkState = state;
    if (state === 'expired') this.zkExpiries.inc();
    if (state === 'connected' && before !== 'connected') {
      if (this.zkWasConnected) this.zkReconnects.inc();
      this.zkWasConnected = true;
    }
  }

  /**
   * Creates the series of rare events at 0, so that the first failover, lapse or BUSY shows
   * as an increase: Prometheus cannot tell how much a series that appears at 1 increased.
   * (Client latencies are not: kinds times codes would be many series, and they are frequent.)
   */
  private zeroKnownSeries(member: 'voter' | 'listener'): void {
    for (const outcome of ['ok', 'error']) this.fsyncSeconds.zero({ outcome });
    for (const outcome of ['ok', 'failed']) {
      this.snapshotsTaken.inc({ outcome }, 0);
      this.snapshotInstalls.inc({ source: 'zookeeper', outcome }, 0);
    }
    if (member === 'listener') return;
    for (const kind of TAKEOVER_KINDS) {
      for (const outcome of ['ok', 'failed']) this.takeovers.inc({ kind, outcome }, 0);
      this.failoverSeconds.zero({ kind });
      for (const phase of TAKEOVER_PHASES) this.phaseSeconds.zero({ kind, phase });
    }
    for (const outcome of ['ok', 'error']) this.zkMultiSeconds.zero({ outcome });
    for (const kind of WRITE_KINDS) this.clientBusy.inc({ kind }, 0);
    for (const outcome of ['ok', 'failed']) this.snapshotInstalls.inc({ source: 'leader', outcome }, 0);
    for (const outcome of PUBLISH_OUTCOMES) this.publishSeconds.zero({ outcome });
  }

  /** A listener's series that are not one number: who feeds it, and how often that changed. */
  private listenerSeries(changesNow: () => number | null): void {
    const registers = [this.registry];
    const upstreamNow = (): string | null => {
      const n = this.sources?.figures() ?? null;
      return n === null || n.role !== 'listener' ? null : n.upstream;
    };
    new Gauge({
      name: 'duoraft_listener_upstream',
      help: "Listener: 1 with the label upstream set to the member feeding it ('zookeeper' while it reads ZooKeeper's log, '' between upstreams)",
      labelNames: ['upstream'],
      registers,
      collect() {
        const u = upstreamNow();
        this.reset();
        if (u !== null) this.set({ upstream: u }, 1);
      },
    });
    // A count the listener keeps (its runner counts its moves), exported as a counter by its
    // increase since the last scrape: it only grows here, as it does there.
    let changesSeen = 0;
    new Counter({
      name: 'duoraft_listener_upstream_changes_total',
      help: 'Listener: times it began to be fed from another source (an upstream or ZooKeeper; the first one counts)',
      registers,
      collect() {
        const n = changesNow();
        if (n !== null && n > changesSeen) {
          this.inc(n - changesSeen);
          changesSeen = n;
        }
      },
    });
  }

  /** A gauge read at scrape time; not registered at all when `on` is false (a series another kind of member has). */
  private figureGauge(name: string, help: string, read: () => number | null, on = true): void {
    if (!on) return;
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const v = read();
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  }
}
