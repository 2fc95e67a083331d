// duoraft bench: closed-loop loads against a cluster, and the standard suite behind the
// README's performance table (it starts its own ZooKeeper and voters).
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient, type ReadConsistency } from '../client/client.js';
import { killLeaderAndMeasure, percentile } from './failover.js';
import { ProcessCluster } from './process-cluster.js';
import { WriteLoad } from './write-load.js';
import type { ZooKeeperEnv } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';

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
  };
}

export type SuitePart = 'latency' | 'throughput' | 'reads' | 'transfer' | 'failover';

export interface SuiteOptions {
  /** Which measurements to run (default: all). */
  readonly only?: readonly SuitePart[];
  /** Extra arguments for every node (for example timing flags). */
  readonly nodeArgs?: readonly string[];
  readonly failovers: number;
  readonly durationMs: number;
  readonly env: ZooKeeperEnv;
  readonly print: (line: string) => void;
  readonly json: boolean;
}

export interface SuiteResult {
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly singleWriter?: LoadResult;
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
}

/** Acknowledged writes of a load that a linearizable read does not find with their value. */
async function countLost(c: DuoraftClient, load: WriteLoad): Promise<number> {
  let lost = 0;
  for (const a of load.kept()) {
    const r = await c.get(a.key);
    if (!r.found || new TextDecoder().decode(r.value) !== a.value) lost++;
  }
  return lost;
}

/** The standard suite: its own ZooKeeper and two voters, then each measurement in turn. */
export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const say = o.json ? (): void => undefined : o.print;
  const zk = await startZooKeeper({ env: o.env });
  let cluster: ProcessCluster | null = null;
  let c: DuoraftClient | null = null;
  try {
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'bench', logLevel: 'warn', nodeArgs: o.nodeArgs ?? [] });
    const client = await connect({ zk: zk.connectString, cluster: 'bench', deadlineMs: 30_000 });
    c = client;
    const want = (p: SuitePart): boolean => !o.only || o.only.includes(p);
    const load = (workload: Workload, concurrency: number, consistency: ReadConsistency, keys: number): Promise<LoadResult> =>
      runLoad(client, { workload, concurrency, valueBytes: 256, durationMs: o.durationMs, consistency, readRatio: workload === 'read' ? 1 : 0, keys });
    // Warm up (JIT, connections), then measure.
    await runLoad(c, { workload: 'write', concurrency: 8, valueBytes: 256, durationMs: 2000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
    let result: SuiteResult = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
    if (want('latency')) {
      say('single writer, 256-byte values...');
      const singleWriter = await load('write', 1, 'linearizable', 1000);
      say(`  ${singleWriter.opsPerSecond}/s, p50 ${singleWriter.latencyMs.p50} ms, p99 ${singleWriter.latencyMs.p99} ms`);
      result = { ...result, singleWriter };
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
          const asked = performance.now();
          await client.transferLeadership();
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
    if (o.json) o.print(JSON.stringify(result));
    return result;
  } finally {
    await c?.close();
    await cluster?.stop();
    await zk.stop();
  }
}
