// A voter's settings, with the timing rule checked up front (notes/timing.md).
import { ConfigError } from '../common/errors.js';
import { HOST_PORT_FORMAT, parseHostPort } from '../common/host-port.js';
import { isValidClusterName, isValidMemberId } from '../coordination/layout.js';
import { genesisChain } from '../core/chain.js';
import type { CoreConfig } from '../core/config.js';
import { DEFAULT_MAX_VALUE_BYTES, HARD_MAX_VALUE_BYTES } from '../statemachine/limits.js';

export interface TimingConfig {
  /** The core's unit of time. */
  readonly tickMs: number;
  readonly heartbeatMs: number;
  /** Minimum election timeout; the actual one is random in [min, 2*min). */
  readonly electionTimeoutMs: number;
  readonly preVoteTimeoutMs: number;
  /** How often the leader touches the lease znode. */
  readonly leaseIntervalMs: number;
  /** How long one successful touch lets the leader serve lease reads (from its send time). */
  readonly leaseDurationMs: number;
  /** How long a follower must see the lease unchanged before it may take over. */
  readonly leaseWindowMs: number;
  /** Bound on the relative rate difference of the two nodes' monotonic clocks. */
  readonly driftBound: number;
  /** An event-loop stall this long ends the leader's lease at once (it must touch it again before lease reads). */
  readonly pauseLeaseMs: number;
}

// Why these numbers (notes/timing.md): a SIGKILLed leader is noticed at once (its
// connection breaks), so a failover costs about the lease window plus ~35 ms; W = 60 ms is
// the smallest whole-tick window the lease rule allows for D = 50 ms (52.5 < 57). Silence
// alone (a stalled or cut-off leader) is only trusted after the longer election timeout,
// and an unanswered pre-vote only after 100 ms: a leader kept off the cores by a loaded
// machine gets that long to object, which only a silent cut pays for (a dead leader's
// broken connection counts as no objection at once).
export const defaultTiming: TimingConfig = {
  tickMs: 10,
  heartbeatMs: 20,
  electionTimeoutMs: 150,
  preVoteTimeoutMs: 100,
  leaseIntervalMs: 20,
  leaseDurationMs: 50,
  leaseWindowMs: 60,
  driftBound: 0.05,
  pauseLeaseMs: 50,
};

export interface LimitsConfig {
  readonly maxValueBytes: number;
  /** Proposals waiting for ZooKeeper at once; beyond it writes get BUSY. */
  readonly maxPendingProposals: number;
  /** Linearizable reads waiting at once; beyond it reads get BUSY. */
  readonly maxPendingReads: number;
  /** Multis in flight to ZooKeeper. */
  readonly maxInflightMultis: number;
  /** Entry bytes in one segment znode. */
  readonly maxSegmentBytes: number;
  /** A request still unanswered after this long gets TIMEOUT. */
  readonly requestTimeoutMs: number;
  /**
   * At most one fsync of the local WAL per this many ms. The local WAL is not on the commit
   * path (ZooKeeper is), so its fsyncs are paced to keep them from competing with
   * ZooKeeper's on a shared disk; a crash loses at most this much of the local copy, which
   * the node then fetches again from its peer or ZooKeeper.
   */
  readonly walSyncIntervalMs: number;
  /**
   * A follower whose commit index is held (its leader's term not yet in ZooKeeper's epoch as
   * it sees it) takes at most this many entries, and this many bytes of entry data, past it.
   * Defaults: DEFAULT_MAX_HELD_ENTRIES, DEFAULT_MAX_HELD_BYTES (not a command-line setting;
   * tests lower them).
   */
  readonly maxHeldEntries?: number;
  readonly maxHeldBytes?: number;
}

/**
 * A failover normally holds a follower's commit index for the few ms between the new
 * leader's first message and the epoch watch: a few hundred entries at most. The bound
 * matters when the follower is cut off from ZooKeeper: 16,384 entries or 32 MiB (128 full
 * AppendEntries), then it is a slow follower until it sees the epoch (notes/safety.md,
 * "The commit gate").
 */
export const DEFAULT_MAX_HELD_ENTRIES = 16_384;
export const DEFAULT_MAX_HELD_BYTES = 32 << 20;

export const defaultLimits: LimitsConfig = {
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
  maxPendingProposals: 8192,
  maxPendingReads: 8192,
  maxInflightMultis: 4,
  maxSegmentBytes: 768 * 1024,
  requestTimeoutMs: 10_000,
  walSyncIntervalMs: 20,
};

/** Test-only faults that break a safety rule on purpose, so tests can show they are caught. */
export interface TestFaults {
  /** Answer a write when it is handed to ZooKeeper, before the multi returns. */
  readonly ackBeforeCommit?: boolean;
  /** Read the tail before fencing during a take-over. */
  readonly readTailBeforeFence?: boolean;
  /**
   * The old rule of issue 9's first hole: a follower answers AppendEntries before its WAL is
   * durable, and a heartbeat's commit index moves its own without the term check (R1, R2).
   */
  readonly commitWithoutTerm?: boolean;
  /** The old rule of issue 9's second hole: read ZooKeeper's tail on a new session without sync(), and accept any tail (R3). */
  readonly tailWithoutSync?: boolean;
  /** A follower feeds its listeners every entry it holds, not only the committed ones (PROTOCOL.md section 9). */
  readonly feedUncommitted?: boolean;
}

export interface NodeConfig {
  readonly id: string;
  readonly cluster: string;
  /** host:port clients (and, unless peerAdvertise is set, the peer) use to reach this node. */
  readonly advertise: string;
  /** host:port the peer uses to reach this node, when it differs (etcd's advertise-peer-urls). */
  readonly peerAdvertise?: string;
  /** The two voters, when fixed by --voters. */
  readonly voters?: readonly string[];
  readonly timing: TimingConfig;
  readonly limits: LimitsConfig;
  readonly faults?: TestFaults;
}

export function validateNodeConfig(c: NodeConfig): void {
  const problems = nodeConfigProblems(c);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
}

/**
 * Every problem of a configuration, one message each (empty when it is valid). The
 * messages name the fields of NodeConfig (leaseDurationMs, ...); the CLI adds its flags.
 */
export function nodeConfigProblems(c: NodeConfig): string[] {
  const problems: string[] = [];
  if (!isValidMemberId(c.id)) problems.push(`invalid id ${JSON.stringify(c.id)}: use 1-64 letters, digits, '.', '_' or '-'`);
  if (!isValidClusterName(c.cluster)) problems.push(`invalid cluster name ${JSON.stringify(c.cluster)}`);
  const advertise = parseHostPort(c.advertise);
  if ('problem' in advertise) problems.push(`invalid advertise address ${JSON.stringify(c.advertise)}: ${advertise.problem} (expected ${HOST_PORT_FORMAT})`);
  const peerAdvertise = c.peerAdvertise === undefined ? null : parseHostPort(c.peerAdvertise);
  if (peerAdvertise !== null && 'problem' in peerAdvertise) {
    problems.push(`invalid peer advertise address ${JSON.stringify(c.peerAdvertise)}: ${peerAdvertise.problem} (expected ${HOST_PORT_FORMAT})`);
  }
  if (c.voters) {
    if (c.voters.length !== 2 || c.voters[0] === c.voters[1]) problems.push('--voters takes exactly two different ids');
    else if (!c.voters.includes(c.id)) problems.push(`--voters ${c.voters.join(',')} does not include this node's id ${c.id}`);
    for (const v of c.voters) if (!isValidMemberId(v)) problems.push(`invalid voter id ${JSON.stringify(v)}`);
  }
  const t = c.timing;
  const positive: Array<keyof TimingConfig> = [
    'tickMs',
    'heartbeatMs',
    'electionTimeoutMs',
    'preVoteTimeoutMs',
    'leaseIntervalMs',
    'leaseDurationMs',
    'leaseWindowMs',
    'pauseLeaseMs',
  ];
  for (const k of positive) if (!(t[k] > 0)) problems.push(`${k} must be positive`);
  if (!(t.driftBound >= 0 && t.driftBound < 0.5)) problems.push('driftBound must be in [0, 0.5)');
  if (t.heartbeatMs < t.tickMs || t.electionTimeoutMs < 2 * t.heartbeatMs) problems.push('need tickMs <= heartbeatMs and 2*heartbeatMs <= electionTimeoutMs');
  // The lease rule (notes/timing.md): the leader's lease must end, on any clock, before a
  // follower's window can pass.
  if (!(t.leaseDurationMs * (1 + t.driftBound) < t.leaseWindowMs * (1 - t.driftBound))) {
    problems.push(`lease rule broken: leaseDurationMs*(1+drift) = ${(t.leaseDurationMs * (1 + t.driftBound)).toFixed(1)} must be below leaseWindowMs*(1-drift) = ${(t.leaseWindowMs * (1 - t.driftBound)).toFixed(1)}`);
  }
  if (!(t.leaseIntervalMs * 2 <= t.leaseDurationMs)) problems.push('leaseIntervalMs must be at most half of leaseDurationMs (a lost touch must not end the lease)');
  const l = c.limits;
  if (!(l.maxValueBytes > 0 && l.maxValueBytes <= HARD_MAX_VALUE_BYTES)) problems.push(`maxValueBytes must be in 1..${HARD_MAX_VALUE_BYTES}`);
  if (!(l.maxSegmentBytes >= l.maxValueBytes + 4096 && l.maxSegmentBytes <= 900 * 1024)) problems.push('maxSegmentBytes must exceed maxValueBytes and stay under 900 KiB (ZooKeeper jute.maxbuffer)');
  if (!(Number.isFinite(l.walSyncIntervalMs) && l.walSyncIntervalMs >= 0 && l.walSyncIntervalMs <= 10_000)) problems.push('walSyncIntervalMs must be in 0..10000');
  for (const k of ['maxPendingProposals', 'maxPendingReads', 'maxInflightMultis', 'requestTimeoutMs'] as const) {
    if (!(Number.isInteger(l[k]) && l[k] > 0)) problems.push(`${k} must be a positive integer`);
  }
  for (const k of ['maxHeldEntries', 'maxHeldBytes'] as const) {
    const v = l[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) problems.push(`${k} must be a positive integer`);
  }
  return problems;
}

/**
 * How long a leader whose lease lapsed keeps heartbeating, objecting to pre-votes and
 * taking writes before it falls silent (and fails the writes it holds): longer than TCP
 * takes to resend a lost segment on the ZooKeeper connection twice over (its minimum RTO is
 * 200 ms whatever the path's RTT, and a resend that is lost too waits twice that: 600 ms),
 * short against a real cut from ZooKeeper. Two lease windows where those are longer.
 */
export function lapseSilenceMs(t: TimingConfig): number {
  return Math.max(2 * t.leaseWindowMs, TCP_LOSS_RECOVERY_MS);
}

/**
 * Linux resends a lost segment after ~200 ms (TCP_RTO_MIN), and a lost resend after 400 ms
 * more (exponential backoff): 600 ms, plus margin. One resend (300 ms, the value until the
 * ninth session) was not enough: under 1 % loss a leader's lease writes stopped for over half
 * a second and its follower took over (notes/results.md, "Ninth session").
 */
const TCP_LOSS_RECOVERY_MS = 700;

/** The core's tick-based settings from the millisecond ones. */
export function coreConfigFor(c: NodeConfig, peer: string, clusterId: string): CoreConfig {
  const t = c.timing;
  const ticks = (ms: number): number => Math.max(1, Math.ceil(ms / t.tickMs));
  return {
    id: c.id,
    peer,
    electionTimeoutTicks: Math.max(2, ticks(t.electionTimeoutMs)),
    heartbeatTicks: ticks(t.heartbeatMs),
    // At most the election timeout less a tick: a pre-candidate asks again every election
    // timeout (drawn in [E, 2E)), which starts the pre-vote's count over, so a longer one would
    // rarely or never end (review 23). Clamped rather than refused, so that setting only the
    // election timeout (say the 60 ms of the old defaults) keeps working.
    preVoteTimeoutTicks: Math.min(ticks(t.preVoteTimeoutMs), Math.max(2, ticks(t.electionTimeoutMs)) - 1),
    leaseWindowTicks: ticks(t.leaseWindowMs),
    lapseSilenceTicks: ticks(lapseSilenceMs(t)),
    // Silence alone: the lease quiet for an election timeout too (notes/timing.md).
    silenceLeaseWindowTicks: ticks(t.electionTimeoutMs),
    maxInflightAppends: 8,
    // 256 KiB: a follower far behind stores one message in a few ms, so heartbeats and the
    // lease are never stuck behind a megabyte of entries.
    // The cluster's log starts from a genesis value of its identity: a log of another
    // cluster, or of an earlier life of this one (ZooKeeper's tree lost and recreated),
    // never matches this one.
    genesis: genesisChain(clusterId),
    maxAppendBytes: 256 << 10,
    maxEntryBytes: c.limits.maxSegmentBytes,
    maxCommittedPerReady: 1024,
    // One full message in flight at a time (see Progress): a follower far behind gets each
    // message at the connection's whole bandwidth, in order, well within its deadline.
    maxInflightBytes: 256 << 10,
    // 25 heartbeats (about 500 ms): far longer than storing 8 such messages takes.
    appendStallHeartbeats: 25,
    maxHeldEntries: c.limits.maxHeldEntries ?? DEFAULT_MAX_HELD_ENTRIES,
    maxHeldBytes: c.limits.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES,
    candidateTimeoutTicks: ticks(30_000),
    transferTimeoutTicks: ticks(Math.max(1000, 4 * t.leaseWindowMs)),
    ...(c.faults?.commitWithoutTerm ? { unsafeCommitWithoutTerm: true } : {}),
  };
}
