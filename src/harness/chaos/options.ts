// What a chaos run is asked to do, with the defaults the CLI uses. Validated once here so
// the run loop can trust every number.
import { InvalidArgumentError } from '../../common/errors.js';
import type { ZooKeeperEnv } from '../zk-java.js';
import { checkKindsForNet, ENSEMBLE_ONLY_KINDS, FAULT_KINDS, type FaultKind, type NetMode } from './fault-kinds.js';
import { DEFAULT_DURATIONS, type FaultDurations } from './schedule.js';
import { DEFAULT_ZK_DATA_BOUND_BYTES } from './zk-data-sampler.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Total faults, cycling through `kinds` in a seeded shuffled order (with `minutes`: at least this many). */
  readonly failovers: number;
  /** A soak: go on injecting faults until this many minutes have passed (0: just `failovers`). */
  readonly minutes: number;
  /** How long pauses and cuts last. */
  readonly durations: FaultDurations;
  readonly kinds: readonly FaultKind[];
  /** loopback: voters on 127.0.0.1 behind TCP proxies; netns: each voter in its own network namespace (root). */
  readonly net: NetMode;
  /** Concurrent clients, each its own connection (its own DuoraftClient). */
  readonly clients: number;
  /** Where result.json and report.html go. */
  readonly outDir: string;
  /** Extra arguments for every node, e.g. the hidden test-only fault flags. */
  readonly nodeArgs: readonly string[];
  /** Test only: a deliberately broken build for the voters (src/server/broken-builds.ts names). */
  readonly brokenBuild?: string;
  /** Pause between two operations of one client, in ms (0: closed loop). Bounds the history's growth. */
  readonly thinkMs: number;
  /** Steady load after the cluster settled and before the next fault: a random time in this range, in ms. */
  readonly steadyMs: readonly [number, number];
  /** Stop recording operations after this many (the clients go on, on keys nobody checks). */
  readonly maxRecordedOps: number;
  /** Give up (and fail the run) when writes do not resume, or the cluster does not settle, within this long. */
  readonly recoveryTimeoutMs: number;
  /** Overall deadline of one client call, retries included. */
  readonly clientDeadlineMs: number;
  /** Keep the nodes' logs and data in outDir/cluster instead of a temp folder that is removed. */
  readonly keepLogs: boolean;
  readonly env: ZooKeeperEnv;
  /** ZooKeeper servers: 1 runs one standalone server; 3 (or 5, 7) an ensemble on loopback, which kill-zk and pause-zk need. */
  readonly zkServers: number;
  /** With an ensemble, a bare ZooKeeper client writes beside the voters with this pause between writes (ms). */
  readonly zkProbeIntervalMs: number;
  /** Listeners beside the voters (issue 13): kill-listener and kill-upstream aim at them, and their final state is checked. */
  readonly listeners: number;
  /** What the cluster may keep in ZooKeeper (wal/ and snapshots/); a sample above it fails the run. */
  readonly zkDataBoundBytes: number;
  /** Progress lines (not called with --json). */
  readonly print: (line: string) => void;
  readonly json: boolean;
}

export const CHAOS_DEFAULTS = {
  seed: 1,
  failovers: 12,
  minutes: 0,
  durations: DEFAULT_DURATIONS,
  kinds: FAULT_KINDS,
  net: 'loopback' as NetMode,
  clients: 8,
  outDir: 'chaos-out',
  nodeArgs: [] as readonly string[],
  thinkMs: 2,
  steadyMs: [300, 700] as const,
  maxRecordedOps: 600_000,
  recoveryTimeoutMs: 30_000,
  clientDeadlineMs: 10_000,
  keepLogs: false,
  zkServers: 1,
  zkProbeIntervalMs: 5,
  listeners: 0,
  zkDataBoundBytes: DEFAULT_ZK_DATA_BOUND_BYTES,
  json: false,
} as const;

/** Ensemble sizes a run accepts: odd, so that one server down leaves a quorum. */
export const ZK_ENSEMBLE_SIZES: readonly number[] = [1, 3, 5, 7];

/** At most this many clients share a key, so each key's history stays small enough to check. */
export const CLIENTS_PER_KEY_GROUP = 8;

export function validateChaosOptions(o: ChaosOptions): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(o.seed)) problems.push('--seed must be an integer');
  if (!(Number.isSafeInteger(o.failovers) && o.failovers >= 0)) problems.push('--failovers must be an integer >= 0');
  if (!(o.minutes >= 0 && o.minutes <= 7 * 24 * 60)) problems.push('--minutes must be in 0..10080');
  for (const [name, r] of [['pause', o.durations.pauseMs], ['cut', o.durations.cutMs]] as const) {
    if (!(r[0] >= 200 && r[1] >= r[0] && r[1] <= 600_000)) problems.push(`${name} durations must be [min, max] with 200 <= min <= max <= 600000 ms`);
  }
  if (o.kinds.length === 0) problems.push('--kinds must name at least one fault kind');
  if (!(Number.isSafeInteger(o.listeners) && o.listeners >= 0 && o.listeners <= 8)) problems.push('--listeners must be an integer in 0..8');
  const forListeners = o.kinds.filter((k) => k === 'kill-listener' || k === 'kill-upstream');
  if (forListeners.length > 0 && o.listeners === 0) problems.push(`${forListeners.join(', ')} ${forListeners.length > 1 ? 'need' : 'needs'} listeners: add --listeners N`);
  try {
    checkKindsForNet(o.kinds, o.net);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (!(Number.isSafeInteger(o.clients) && o.clients >= 1 && o.clients <= 256)) problems.push('--clients must be an integer in 1..256');
  if (!(o.thinkMs >= 0)) problems.push('think time must be >= 0');
  if (!(o.steadyMs[0] >= 0 && o.steadyMs[1] >= o.steadyMs[0])) problems.push('steady time range must be [min, max] with 0 <= min <= max');
  if (!(o.maxRecordedOps >= 1)) problems.push('the recorded-operation cap must be >= 1');
  if (!(o.recoveryTimeoutMs > 0 && o.clientDeadlineMs > 0)) problems.push('timeouts must be positive');
  if (o.outDir.trim() === '') problems.push('--out must name a folder');
  if (!ZK_ENSEMBLE_SIZES.includes(o.zkServers)) problems.push(`--zk-ensemble must be one of ${ZK_ENSEMBLE_SIZES.join(', ')} (1: one standalone server)`);
  if (o.net === 'netns' && o.zkServers > 1) {
    // The namespace harness relays one ZooKeeper server per voter link; an ensemble there
    // would need a relay and a ZooKeeper cut per server (not built).
    problems.push('--zk-ensemble runs on loopback only: a --net netns run relays one ZooKeeper server (drop --zk-ensemble, or --net netns)');
  }
  const needEnsemble = o.kinds.filter((k) => ENSEMBLE_ONLY_KINDS.includes(k));
  // With --net netns, checkKindsForNet said already why these kinds do not run there.
  if (needEnsemble.length > 0 && o.zkServers < 3 && o.net !== 'netns') {
    problems.push(`${needEnsemble.join(' and ')} ${needEnsemble.length > 1 ? 'stop a ZooKeeper server and need' : 'stops a ZooKeeper server and needs'} an ensemble: add --zk-ensemble 3`);
  }
  if (!(o.zkProbeIntervalMs >= 1 && o.zkProbeIntervalMs <= 1_000)) problems.push('the ZooKeeper probe interval must be in 1..1000 ms');
  if (!(Number.isSafeInteger(o.zkDataBoundBytes) && o.zkDataBoundBytes >= 1)) problems.push('the ZooKeeper data bound must be a positive number of bytes');
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
}
