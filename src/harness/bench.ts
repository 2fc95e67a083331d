// duoraft bench: closed-loop loads against a cluster, and the standard suite behind the
// README's performance table (it starts its own ZooKeeper and voters; the network parts
// put the voters in namespaces, bench-netns.ts; --compare etcd runs the same writer loads
// and failovers against a three-member etcd in the same run, etcd/etcd-bench.ts).
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient, type ReadConsistency } from '../client/client.js';
import {
  benchLatencyLoss,
  benchPartitionLeader,
  benchPartitionVoters,
  type LatencyLossResult,
  type PartitionLeaderResult,
  type PartitionVotersResult,
} from './bench-netns.js';
import { runSnapshotParts, type SnapshotBenchResult, type SnapshotPart } from './bench-snapshots.js';
import { EtcdCluster, etcdVersion } from './etcd/etcd-cluster.js';
import { type EtcdFailoverResult, type EtcdLoadResult, runEtcdFailovers, runEtcdWriteLoad } from './etcd/etcd-bench.js';
import { netnsSupport } from './netns/support.js';
import { killLeaderAndMeasure, percentile } from './failover.js';
import { ProcessCluster } from './process-cluster.js';
import { countLost, WriteLoad } from './write-load.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { judgeTargets, targetLines, type TargetVerdict } from './bench-targets.js';
import { measureZkMultiFloor, type ZkMultiFloorResult } from './zk-multi-floor.js';
import { startZooKeeper } from './zk-launcher.js';
import { benchListeners, type ListenerBenchResult } from './bench-listeners.js';
import { benchPromotion, failedPromotionBench, type PromotionBenchResult } from './bench-promotion.js';
import { benchSteady, type SteadyResult, steadySummary } from './bench-steady.js';

/** The write rate of the listener targets (issue 13). */
const LISTENER_BENCH_RATE = 2000;
/** Issue 13's promotion target: at least 3 rounds (bench-promotion.ts). */
const PROMOTION_BENCH_ROUNDS = 3;

export type Workload = 'write' | 'read' | 'mixed';

export interface LoadSpec {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly valueBytes: number;
  readonly durationMs: number;
  readonly consistency: ReadConsistency;
  /** mixed: the share of reads, 0..1. */
  readonly readRatio: number;
  /** Keys the load spreads over. */
  readonly keys: number;
}

export interface LoadResult {
  readonly workload: Workload;
  readonly consistency: ReadConsistency;
  readonly concurrency: number;
  readonly valueBytes: number;
  readonly seconds: number;
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly errors: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** CPU the load generator (this process) used, in % of one core. */
  readonly clientCpuPercent: number;
}

/** Runs one closed-loop load: `concurrency` callers, each issuing its next op when the last one answers. */
export async function runLoad(c: DuoraftClient, spec: LoadSpec): Promise<LoadResult> {
  const value = new Uint8Array(spec.valueBytes).fill(120);
  if (spec.workload !== 'write') {
    // Reads need something to read.
    for (let k = 0; k < spec.keys; k++) await c.put(`bench-${k}`, value);
  }
  const latencies: number[] = [];
  let errors = 0;
  let ops = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + spec.durationMs;
  const caller = async (w: number): Promise<void> => {
    for (let n = 0; performance.now() < end; n++) {
      const key = `bench-${(w * 7919 + n) % spec.keys}`;
      const read = spec.workload === 'read' || (spec.workload === 'mixed' && (w * 31 + n * 17) % 100 < spec.readRatio * 100);
      const t = performance.now();
      try {
        if (read) await c.get(key, { consistency: spec.consistency });
        else await c.put(key, value);
        latencies.push(performance.now() - t);
        ops++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => caller(w)));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    workload: spec.workload,
    consistency: spec.consistency,
    concurrency: spec.concurrency,
    valueBytes: spec.valueBytes,
    seconds: r(seconds),
    ops,
    opsPerSecond: Math.round(ops / seconds),
    errors,
    latencyMs: { p50: r(percentile(latencies, 50)), p90: r(percentile(latencies, 90)), p99: r(percentile(latencies, 99)), max: r(percentile(latencies, 100)) },
    clientCpuPercent: Math.round(((used.user + used.system) / 1000 / (seconds * 1000)) * 100),
  };
}

import { LISTENER_PARTS, LOOPBACK_PARTS, NETNS_PARTS, SNAPSHOT_PARTS, SUITE_PARTS, type SuitePart } from './suite-parts.js';
export { LISTENER_PARTS, LOOPBACK_PARTS, NETNS_PARTS, SUITE_PARTS, type SuitePart };
/** How long the voters stay cut off from each other in netns-partition-voters. */
export const PARTITION_VOTERS_SECONDS = 30;

export interface SuiteOptions {
  /** Which measurements to run (default: all). */
  readonly only?: readonly SuitePart[];
  /** Extra arguments for every node (for example timing flags). */
  readonly nodeArgs?: readonly string[];
  /** How the JVM runs ZooKeeper (default 'production': the suite measures the cluster, not a test JVM's pauses). */
  readonly zkJvm?: ZooKeeperJvmProfile;
  readonly failovers: number;
  readonly durationMs: number;
  /** netns-latency-loss: how long, in minutes. */
  readonly netnsMinutes: number;
  /** The network parts keep their nodes' folders and logs under this folder (NetnsBenchContext). */
  readonly keepLogsDir?: string;
  /** steady: how long, in minutes (default 10). */
  readonly steadyMinutes?: number;
  /** Also measure a three-member etcd with the same loads (latency, throughput, failover parts). */
  readonly compareEtcd: boolean;
  /** The snapshot parts: writes of the history before snapshot-restart and the second failovers (default 1,000,000). */
  readonly historyWrites?: number;
  readonly env: ZooKeeperEnv;
  readonly print: (line: string) => void;
  readonly json: boolean;
}

export interface SuiteResult {
  /** loadAverage: the 1-minute load average at the start and the end (this machine is shared: above ~0.5 others were busy). */
  readonly machine: { readonly cpus: number; readonly node: string; readonly loadAverage?: readonly [number, number] };
  readonly singleWriter?: LoadResult;
  /** The single writer's floor, same ZooKeeper and run: one multi of the leader's one-write shape (zk-multi-floor.ts). */
  readonly zkMultiFloor?: ZkMultiFloorResult;
  /** One reader's stale reads from the cluster: a gRPC round trip to a member and a local lookup. */
  readonly staleReader?: LoadResult;
  /** Issue 13: apply lag and leader CPU (bench-listeners.ts), and promotion in place of a destroyed voter (bench-promotion.ts). */
  readonly listeners?: ListenerBenchResult & { readonly promotion: PromotionBenchResult };
  readonly writers64?: LoadResult;
  readonly readers64?: readonly LoadResult[];
  readonly transfer?: {
    readonly count: number;
    /** From asking the leader to hand over to the first write the new leader acknowledged. */
    readonly pauseMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly all: readonly number[] };
    readonly acknowledged: number;
    readonly failedWrites: number;
    readonly lost: number;
  };
  readonly failover?: {
    readonly count: number;
    readonly downtimeMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly all: readonly number[] };
    readonly acknowledged: number;
    readonly lost: number;
  };
  readonly netnsPartitionLeader?: PartitionLeaderResult;
  readonly netnsPartitionVoters?: PartitionVotersResult;
  readonly netnsLatencyLoss?: LatencyLossResult;
  /** Why the network parts did not run, when they were wanted and could not. */
  readonly netnsSkipped?: string;
  /** Issue 10's targets: snapshots under load, rebuild from ZooKeeper, restart and failover after a long history. */
  readonly snapshots?: SnapshotBenchResult;
  /** Issue 12's "no false failovers": 64 writers for a while, another process burning a core, nothing injected. */
  readonly steady?: SteadyResult;
  /** The issues' targets judged from this run (bench-targets.ts). */
  readonly targets?: readonly TargetVerdict[];
  readonly etcd?: {
    readonly version: string;
    readonly members: number;
    readonly singleWriter?: EtcdLoadResult;
    readonly writers64?: EtcdLoadResult;
    readonly failover?: EtcdFailoverResult;
  };
}

type PartResults = Omit<SuiteResult, 'machine'>;

/** The standard suite: each wanted part in turn, then (with --compare etcd) the same loads against etcd. */
export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const say = o.json ? (): void => undefined : o.print;
  const want = (p: SuitePart): boolean => !o.only || o.only.includes(p);
  const loadAtStart = loadavg()[0] ?? 0;
  let result: PartResults = {};
  if (LOOPBACK_PARTS.some(want)) result = { ...result, ...(await runLoopbackParts(o, want, say)) };
  if (NETNS_PARTS.some(want)) result = { ...result, ...(await runNetnsParts(o, want, say)) };
  if (SNAPSHOT_PARTS.some(want)) {
    const snapshots = await runSnapshotParts({
      want: (p: SnapshotPart) => want(p),
      env: o.env,
      zkJvm: o.zkJvm ?? 'production',
      nodeArgs: o.nodeArgs ?? [],
      failovers: o.failovers,
      ...(o.historyWrites !== undefined ? { historyWrites: o.historyWrites } : {}),
      say,
    });
    result = { ...result, snapshots };
  }
  if (o.compareEtcd && (want('latency') || want('throughput') || want('failover'))) result = { ...result, etcd: await runEtcdParts(o, want, say) };
  if (want('listeners')) {
    const lag = await benchListeners({ env: o.env, zkJvm: o.zkJvm ?? 'production', nodeArgs: o.nodeArgs ?? [], rate: LISTENER_BENCH_RATE, seconds: Math.max(5, Math.round(o.durationMs / 1000)), say });
    // A stage that fails is recorded (NOT MET in bench-targets.ts), not thrown: the parts before it keep their results.
    const promotion = await benchPromotion({ env: o.env, zkJvm: o.zkJvm ?? 'production', nodeArgs: o.nodeArgs ?? [], rounds: PROMOTION_BENCH_ROUNDS, say }).catch((err: unknown) => {
      const error = err instanceof Error ? err.message : String(err);
      say(`promotion: FAILED: ${error}`);
      return failedPromotionBench(error);
    });
    result = { ...result, listeners: { ...lag, promotion } };
  }
  if (want('steady')) {
    const minutes = o.steadyMinutes ?? 10;
    say(`steady: 64 writers of 256 B for ${minutes} min while another process burns a core, no fault injected...`);
    const steady = await benchSteady({ env: o.env, zkJvm: o.zkJvm ?? 'production', nodeArgs: o.nodeArgs ?? [], minutes, say });
    say(steadySummary(steady));
    result = { ...result, steady };
  }
  const r = (x: number): number => Math.round(x * 100) / 100;
  const full: SuiteResult = { machine: { cpus: cpus().length, node: process.version, loadAverage: [r(loadAtStart), r(loadavg()[0] ?? 0)] }, ...result };
  printComparison(full, say);
  const targets = judgeTargets(full);
  if (targets.length > 0) {
    say('targets (issues 10, 12, 13), this run:');
    for (const line of targetLines(targets)) say(line);
  }
  const judged: SuiteResult = { ...full, targets };
  if (o.json) o.print(JSON.stringify(judged));
  return judged;
}

/** Ratios of ours to etcd's, measured in this run. */
function printComparison(r: SuiteResult, say: (line: string) => void): void {
  const e = r.etcd;
  if (!e) return;
  say(`compared with etcd ${e.version} (${e.members} members), same run:`);
  if (r.writers64 && e.writers64) say(`  64 writers: ${r.writers64.opsPerSecond}/s vs ${e.writers64.opsPerSecond}/s = ${(r.writers64.opsPerSecond / e.writers64.opsPerSecond).toFixed(2)}x`);
  if (r.singleWriter && e.singleWriter) say(`  1 writer p50: ${r.singleWriter.latencyMs.p50} ms vs ${e.singleWriter.latencyMs.p50} ms = ${(r.singleWriter.latencyMs.p50 / e.singleWriter.latencyMs.p50).toFixed(2)}x`);
  if (r.failover && e.failover) say(`  failover downtime p50: ${r.failover.downtimeMs.p50} ms vs ${e.failover.downtimeMs.p50} ms = ${(r.failover.downtimeMs.p50 / e.failover.downtimeMs.p50).toFixed(2)}x`);
}

/** The network parts, each on its own namespaced cluster; skipped with the reason where namespaces cannot be made. */
async function runNetnsParts(o: SuiteOptions, want: (p: SuitePart) => boolean, say: (line: string) => void): Promise<PartResults> {
  const support = await netnsSupport();
  if (!support.ok) {
    say(`network parts skipped: ${support.reason}`);
    return { netnsSkipped: support.reason };
  }
  const ctx = { env: o.env, zkJvm: o.zkJvm ?? 'production', nodeArgs: o.nodeArgs ?? [], say, ...(o.keepLogsDir === undefined ? {} : { keepLogsDir: o.keepLogsDir }) };
  let out: PartResults = {};
  if (want('netns-partition-leader')) {
    say(`netns: the leader silently cut off from its follower and ZooKeeper, ${o.failovers} times under 4 writers...`);
    const p = await benchPartitionLeader(ctx, o.failovers);
    say(`  follower serving writes after p50 ${p.downtimeMs.p50} ms, p99 ${p.downtimeMs.p99} ms, max ${p.downtimeMs.max} ms; ${p.acknowledged} writes acknowledged, ${p.lost} lost`);
    out = { ...out, netnsPartitionLeader: p };
  }
  if (want('netns-partition-voters')) {
    say(`netns: the voters silently cut off from each other for ${PARTITION_VOTERS_SECONDS} s under 4 writers...`);
    const p = await benchPartitionVoters(ctx, PARTITION_VOTERS_SECONDS);
    say(`  ${p.leaderChanges} leader changes; ${p.acknowledged} writes acknowledged meanwhile, longest gap ${p.longestGapMs} ms; ${p.lost} lost`);
    out = { ...out, netnsPartitionVoters: p };
  }
  if (want('netns-latency-loss')) {
    say(`netns: 5 ± 2 ms on every link and 1 % loss for ${o.netnsMinutes} min under 4 writers...`);
    const p = await benchLatencyLoss(ctx, Math.round(o.netnsMinutes * 60));
    say(`  ${p.falseFailovers} false failovers; ${p.writesPerSecond} writes/s, p50 ${p.writeLatencyMs.p50} ms, p99 ${p.writeLatencyMs.p99} ms; ${p.lost} lost`);
    out = { ...out, netnsLatencyLoss: p };
  }
  return out;
}

/** etcd 3.4, three members on loopback: the single writer, the 64 writers and the failovers, as for ours. */
async function runEtcdParts(o: SuiteOptions, want: (p: SuitePart) => boolean, say: (line: string) => void): Promise<NonNullable<SuiteResult['etcd']>> {
  say('etcd: starting three members...');
  const cluster = await EtcdCluster.start();
  try {
    let out: NonNullable<SuiteResult['etcd']> = { version: etcdVersion(), members: cluster.names().length };
    // Warm up, as for ours.
    await runEtcdWriteLoad(cluster, 8, ETCD_CONNECTIONS, 2000);
    if (want('latency')) {
      say('etcd: single writer, 256-byte values...');
      const singleWriter = await runEtcdWriteLoad(cluster, 1, 1, o.durationMs);
      say(`  ${singleWriter.opsPerSecond}/s, p50 ${singleWriter.latencyMs.p50} ms, p99 ${singleWriter.latencyMs.p99} ms`);
      out = { ...out, singleWriter };
    }
    if (want('throughput')) {
      say(`etcd: 64 concurrent writers, 256-byte values (${ETCD_CONNECTIONS} connections)...`);
      const writers64 = await runEtcdWriteLoad(cluster, 64, ETCD_CONNECTIONS, o.durationMs);
      say(`  ${writers64.opsPerSecond}/s, p50 ${writers64.latencyMs.p50} ms, p99 ${writers64.latencyMs.p99} ms (load generator ${writers64.clientCpuPercent} % of a core)`);
      out = { ...out, writers64 };
    }
    if (want('failover')) {
      say(`etcd: failover, ${o.failovers} SIGKILLs of the leader under 4 writers...`);
      const failover = await runEtcdFailovers(cluster, o.failovers, say);
      say(`  downtime p50 ${failover.downtimeMs.p50} ms, p99 ${failover.downtimeMs.p99} ms`);
      out = { ...out, failover };
    }
    return out;
  } finally {
    await cluster.stop();
  }
}

/** etcd's best of 1, 4 and 16 connections for 64 writers on this machine (notes/results.md). */
const ETCD_CONNECTIONS = 4;

/** The parts on loopback: its own ZooKeeper and two voters, then each measurement in turn. */
async function runLoopbackParts(o: SuiteOptions, want: (p: SuitePart) => boolean, say: (line: string) => void): Promise<PartResults> {
  const zk = await startZooKeeper({ env: o.env, jvmProfile: o.zkJvm ?? 'production' });
  let cluster: ProcessCluster | null = null;
  let c: DuoraftClient | null = null;
  try {
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'bench', logLevel: 'warn', nodeArgs: o.nodeArgs ?? [] });
    const client = await connect({ zk: zk.connectString, cluster: 'bench', deadlineMs: 30_000 });
    c = client;
    const load = (workload: Workload, concurrency: number, consistency: ReadConsistency, keys: number): Promise<LoadResult> =>
      runLoad(client, { workload, concurrency, valueBytes: 256, durationMs: o.durationMs, consistency, readRatio: workload === 'read' ? 1 : 0, keys });
    // Warm up (JIT, connections), then measure.
    await runLoad(c, { workload: 'write', concurrency: 8, valueBytes: 256, durationMs: 2000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
    let result: PartResults = {};
    if (want('latency')) {
      say('single writer, 256-byte values...');
      const singleWriter = await load('write', 1, 'linearizable', 1000);
      say(`  ${singleWriter.opsPerSecond}/s, p50 ${singleWriter.latencyMs.p50} ms, p99 ${singleWriter.latencyMs.p99} ms`);
      say("the single writer's floor: one ZooKeeper multi of the leader's one-write shape, same ZooKeeper...");
      const zkMultiFloor = await measureZkMultiFloor({ connectString: zk.connectString, durationMs: o.durationMs, valueBytes: 256 });
      say(`  ${zkMultiFloor.multis} multis, p50 ${zkMultiFloor.latencyMs.p50} ms, p99 ${zkMultiFloor.latencyMs.p99} ms`);
      say('and a gRPC round trip: one reader, stale reads...');
      const staleReader = await load('read', 1, 'stale', 100);
      say(`  ${staleReader.opsPerSecond}/s, p50 ${staleReader.latencyMs.p50} ms, p99 ${staleReader.latencyMs.p99} ms, ${staleReader.errors} errors`);
      say(`  one writer's p50 is ${(singleWriter.latencyMs.p50 / zkMultiFloor.latencyMs.p50).toFixed(2)}x the multi's (target <= 1.5x)`);
      result = { ...result, singleWriter, zkMultiFloor, staleReader };
    }
    if (want('throughput')) {
      say('64 concurrent writers, 256-byte values...');
      const writers64 = await load('write', 64, 'linearizable', 10_000);
      say(`  ${writers64.opsPerSecond}/s, p50 ${writers64.latencyMs.p50} ms, p99 ${writers64.latencyMs.p99} ms`);
      result = { ...result, writers64 };
    }
    if (want('reads')) {
      const readers64: LoadResult[] = [];
      for (const consistency of ['linearizable', 'lease'] as const) {
        say(`64 concurrent readers, ${consistency}...`);
        const r = await load('read', 64, consistency, 1000);
        readers64.push(r);
        say(`  ${r.opsPerSecond}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`);
      }
      result = { ...result, readers64 };
    }
    if (want('transfer')) {
      say(`leadership transfer: ${o.failovers} hand-overs under 4 writers...`);
      const wl = new WriteLoad(client, { writers: 4, valueBytes: 64, prefix: 'tr' });
      wl.start();
      const pauses: number[] = [];
      try {
        for (let k = 1; k <= o.failovers; k++) {
          await new Promise((r) => setTimeout(r, 300));
          const before = await cluster.waitForLeader(10_000);
          const beforeAddress = cluster.node(before).address;
          // Names its target: the client's own guess (the voter the leader znode does not
          // name) may be stale, and a transfer to the leader itself is a no-op.
          const to = cluster.ids().find((id) => id !== before);
          if (to === undefined) throw new Error(`no voter besides ${before} to hand over to`);
          const asked = performance.now();
          const handed = await client.transferLeadership(to);
          if (handed.alreadyLeader) throw new Error(`transfer ${k}: ${to} already led; the bench's view of the leader (${before}) was stale`);
          const first = await wl.firstAckAfter(asked, (a) => a.by !== beforeAddress);
          pauses.push(Math.round((first.at - asked) * 10) / 10);
        }
      } finally {
        await wl.stop();
      }
      const lost = await countLost(client, wl);
      const transfer = {
        count: pauses.length,
        pauseMs: { p50: percentile(pauses, 50), p99: percentile(pauses, 99), max: percentile(pauses, 100), all: pauses },
        acknowledged: wl.acknowledged(),
        failedWrites: wl.errorTotal(),
        lost,
      };
      say(`  write pause p50 ${transfer.pauseMs.p50} ms, p99 ${transfer.pauseMs.p99} ms; ${transfer.failedWrites} failed writes, ${lost} lost`);
      result = { ...result, transfer };
    }
    if (want('failover')) {
      say(`failover: ${o.failovers} SIGKILLs of the leader under 4 writers...`);
      const wl = new WriteLoad(c, { writers: 4, valueBytes: 64, prefix: 'fo' });
      wl.start();
      const downtimes: number[] = [];
      try {
        for (let k = 1; k <= o.failovers; k++) {
          await new Promise((r) => setTimeout(r, 700));
          const f = await killLeaderAndMeasure(cluster, wl);
          downtimes.push(Math.round(f.downtimeMs));
          say(`  ${k}/${o.failovers}: ${f.killed} -> ${f.newLeader}: ${f.downtimeMs.toFixed(0)} ms`);
        }
      } finally {
        await wl.stop();
      }
      const lost = await countLost(client, wl);
      const failover = {
        count: downtimes.length,
        downtimeMs: { p50: percentile(downtimes, 50), p99: percentile(downtimes, 99), max: percentile(downtimes, 100), all: downtimes },
        acknowledged: wl.acknowledged(),
        lost,
      };
      say(`  downtime p50 ${failover.downtimeMs.p50} ms, p99 ${failover.downtimeMs.p99} ms; ${failover.acknowledged} writes acknowledged, ${lost} lost`);
      result = { ...result, failover };
    }
    return result;
  } finally {
    await c?.close();
    await cluster?.stop();
    await zk.stop();
  }
}
