// The bench part `steady` (issue 12, part 2: no false failovers). Its own ZooKeeper and two
// voters on loopback, 64 writers of 256 B for M minutes while another process burns one
// core, and no fault injected: every change of leader (the epoch znode's version,
// leader-changes.ts) is a false failover. Each writer overwrites 160 keys of its own in
// turn, so the state stays at ~10,000 keys however long the run. Alongside: writes/s, latency, failed and lost
// writes, and from the voters' own logs the event-loop stalls their pause monitors
// reported, lease lapses and suspicions of the leader (steady-log-stats.ts), which say how
// close the run came to a false failover even when none happened.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../client/client.js';
import { type BurnerSession, withCpuBurner } from './cpu-burner.js';
import { percentile } from './failover.js';
import { LeaderChangeCounter } from './leader-changes.js';
import { ProcessCluster } from './process-cluster.js';
import { type NodeSteadyFigures, SteadyLogStats } from './steady-log-stats.js';
import { WriteLoad } from './write-load.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';
import { sleep } from './chaos/time.js';

export const STEADY_WRITERS = 64;
export const STEADY_VALUE_BYTES = 256;
/** Acknowledgements kept for the latency figures: one in this many (bounded memory over a long run). */
const KEEP_EVERY = 16;
/**
 * Each writer overwrites its own keys in turn: 64 x 160 = 10,240 keys, about the throughput
 * part's 10,000. With a new key for every write the state would grow by ~0.7 MB/s and reach
 * the ZooKeeper budget (64 MiB) within minutes, after which the leader refuses writes that
 * add data (zk-budget.ts): that is a capacity limit, not the steady state this part measures.
 */
const KEYS_PER_WRITER = 160;
/** Reads in flight while checking the keys. */
const CHECK_CONCURRENCY = 16;
const WARM_UP_MS = 3000;
const PROGRESS_EVERY_MS = 60_000;
const CLUSTER = 'bench-steady';

export interface SteadyOptions {
  readonly env: ZooKeeperEnv;
  readonly zkJvm: ZooKeeperJvmProfile;
  readonly nodeArgs: readonly string[];
  readonly minutes: number;
  readonly say: (line: string) => void;
  /** Node.js flags for the voters (`--trace-gc`, `--cpu-prof`): the voters are then stopped with SIGTERM, so profiles get written. */
  readonly runtimeFlags?: readonly string[];
  /** Where the CPU burner runs: a session of its own (default) or the bench's (cpu-burner.ts says why it matters). */
  readonly burnerSession?: BurnerSession;
  /** Keep the voters' data folders and logs here (default: a temporary folder, removed). */
  readonly workDir?: string;
}

export interface SteadyResult {
  readonly minutes: number;
  readonly seconds: number;
  readonly writers: number;
  readonly valueBytes: number;
  /** Changes of leader during the run; nothing called for any, so each is a false failover. */
  readonly leaderChanges: number;
  readonly writesPerSecond: number;
  /** From one acknowledged write in KEEP_EVERY. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly acknowledged: number;
  readonly failedWrites: number;
  /** The last few failures' messages (bounded), to say what the failed writes were. */
  readonly recentErrors: readonly string[];
  /** Keys checked by a linearizable read, and how many did not hold their last acknowledged write (or a later one of the same writer). */
  readonly checked: number;
  readonly lost: number;
  /** The voters' logs, by node id. */
  readonly nodes: Readonly<Record<string, NodeSteadyFigures>>;
  /** The 1-minute load average at the start and at the end of the run (the burner adds about 1). */
  readonly loadAverage: readonly [number, number];
}

export async function benchSteady(o: SteadyOptions): Promise<SteadyResult> {
  if (!(Number.isFinite(o.minutes) && o.minutes > 0)) throw new Error(`steady: minutes must be a positive number, not ${o.minutes}`);
  const stats = new SteadyLogStats();
  const zk = await startZooKeeper({ env: o.env, jvmProfile: o.zkJvm });
  let cluster: ProcessCluster | null = null;
  let client: DuoraftClient | null = null;
  let counter: LeaderChangeCounter | null = null;
  let load: WriteLoad | null = null;
  try {
    cluster = await ProcessCluster.start({
      zk: zk.connectString,
      cluster: CLUSTER,
      // info: suspicions (a follower becoming a pre-candidate) are logged at info.
      logLevel: 'info',
      nodeArgs: o.nodeArgs,
      ...(o.runtimeFlags ? { runtimeFlags: o.runtimeFlags } : {}),
      ...(o.workDir ? { workDir: o.workDir } : {}),
      onLine: (id, line) => stats.onLine(id, line),
    });
    const c = await connect({ zk: zk.connectString, cluster: CLUSTER, deadlineMs: 30_000 });
    client = c;
    counter = await LeaderChangeCounter.open(zk.connectString, CLUSTER);
    const fences = counter;
    const wl = new WriteLoad(c, { writers: STEADY_WRITERS, valueBytes: STEADY_VALUE_BYTES, prefix: 'steady', keepEvery: KEEP_EVERY, keysPerWriter: KEYS_PER_WRITER });
    load = wl;
    const ids = cluster.ids();
    const result = await withCpuBurner(async (burner) => {
      o.say(`  CPU burner: pid ${burner.pid}`);
      wl.start();
      await sleep(WARM_UP_MS);
      const loadAtStart = loadavg()[0] ?? 0;
      const before = await fences.fences();
      const ackedBefore = wl.acknowledged();
      const failedBefore = wl.errorTotal();
      stats.startCounting();
      const from = performance.now();
      for (let left = o.minutes * 60_000; left > 0; left -= PROGRESS_EVERY_MS) {
        await sleep(Math.min(left, PROGRESS_EVERY_MS));
        const stalls = ids.map((id) => `${id} ${stats.figures(id).stalls.count}`).join(', ');
        o.say(`  ... ${Math.round((performance.now() - from) / 1000)} s: ${(await fences.fences()) - before} leader changes, stalls ${stalls}`);
        if (!burner.running()) throw new Error('steady: the CPU burner exited before the run ended');
      }
      const to = performance.now();
      const leaderChanges = (await fences.fences()) - before;
      const acknowledged = wl.acknowledged() - ackedBefore;
      const failedWrites = wl.errorTotal() - failedBefore;
      const loadAtEnd = loadavg()[0] ?? 0;
      await wl.stop();
      return { from, to, leaderChanges, acknowledged, failedWrites, loadAverage: [round2(loadAtStart), round2(loadAtEnd)] as const };
    }, o.burnerSession ?? 'own');
    const window = wl.kept().filter((a) => a.at > result.from && a.at <= result.to);
    const latencies = window.map((a) => a.latencyMs);
    const seconds = (result.to - result.from) / 1000;
    const lastAcked = wl.lastAckedPerKey();
    const lost = await countLost(c, lastAcked);
    return {
      minutes: o.minutes,
      seconds: Math.round(seconds),
      writers: STEADY_WRITERS,
      valueBytes: STEADY_VALUE_BYTES,
      leaderChanges: result.leaderChanges,
      writesPerSecond: Math.round(result.acknowledged / seconds),
      latencyMs: { p50: round2(percentile(latencies, 50)), p99: round2(percentile(latencies, 99)), max: round2(percentile(latencies, 100)) },
      acknowledged: result.acknowledged,
      failedWrites: result.failedWrites,
      recentErrors: wl.recentErrors().slice(-5),
      checked: lastAcked.size,
      lost,
      nodes: stats.all(ids),
      loadAverage: result.loadAverage,
    };
  } finally {
    await load?.stop();
    await counter?.close().catch(() => undefined);
    await client?.close();
    if (cluster && o.runtimeFlags) {
      // SIGTERM, so that --cpu-prof and friends write their output on the way out.
      for (const id of cluster.ids()) await cluster.signal(id, 'SIGTERM');
    }
    await cluster?.stop();
    await zk.stop();
  }
}

/** The one-line summary the suite prints. */
export function steadySummary(r: SteadyResult): string {
  const perNode = Object.entries(r.nodes)
    .map(([id, n]) => `${id}: ${n.stalls.count} stalls (${n.stalls.whileLeading} leading, ${n.stalls.busy} busy, ${n.stalls.starved} starved, p99 ${n.stalls.p99Ms} ms, max ${n.stalls.maxMs} ms), ${n.leaseLapses} lapses, ${n.suspicions} suspicions`)
    .join('; ');
  return (
    `  ${r.leaderChanges} leader changes (false failovers); ${r.writesPerSecond} writes/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms; ` +
    `${r.failedWrites} failed, ${r.lost} lost of ${r.checked} checked; ${perNode}; load average ${r.loadAverage[0]} -> ${r.loadAverage[1]}`
  );
}

/**
 * Keys whose linearizable read does not hold their last acknowledged write or a later one of
 * the same writer (values start `w:n:`), CHECK_CONCURRENCY reads at a time.
 */
async function countLost(c: DuoraftClient, lastAcked: ReadonlyMap<string, number>): Promise<number> {
  const keys = [...lastAcked.entries()];
  let lost = 0;
  let next = 0;
  const reader = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) {
      const [key, n] = keys[i]!;
      const r = await c.get(key);
      const seq = r.found ? sequenceOf(new TextDecoder().decode(r.value)) : null;
      if (seq === null || seq < n) lost++;
    }
  };
  await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, () => reader()));
  return lost;
}

/** n of a WriteLoad value `w:n:padding`, or null when the value is not one. */
export function sequenceOf(value: string): number | null {
  const m = /^\d+:(\d+):/.exec(value);
  return m ? Number(m[1]) : null;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

