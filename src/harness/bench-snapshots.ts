// The snapshot parts of `duoraft bench --suite` (issue 10's targets), each with its own
// ZooKeeper and two voters on loopback:
//
// - snapshot-stall: 64 writers on a state of 100,000 keys of 256 bytes, with the node's
//   default snapshot policy (a snapshot of that ~27 MB state every 8 MiB of log, a few
//   seconds apart): write latency p99 of the writes that overlapped a snapshot (taken, and
//   on the leader uploaded to ZooKeeper) against those that did not, in the same run.
// - snapshot-rebuild: on that state, both voters SIGKILLed and both data folders deleted,
//   both started: from the first process start to the first acknowledged write (a probe
//   puts every 10 ms). Repeated; where the time goes from the nodes' own log lines.
// - snapshot-failover: SIGKILL of the leader under 4 writers on a fresh cluster, then the
//   cluster takes 1,000,000 writes (over 100,000 keys, 256 bytes, 128 writers), then the
//   same failovers again: downtimes compared in the same run.
// - snapshot-restart: on that cluster (1,000,000 writes), a voter SIGKILLed and started
//   again at once, under 4 writers: from its process start until it follows the leader and
//   has applied what the leader had committed when it started.
//
// The stall and rebuild parts share one cluster (the state is loaded once); the failover
// and restart parts share another (the history is written once).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { realClock } from '../common/real-clock.js';
import { silentLogger } from '../common/logger.js';
import { connect, type DuoraftClient } from '../client/client.js';
import { DuoraftError } from '../common/errors.js';
import { ClusterPaths } from '../coordination/layout.js';
import { connectZk } from '../coordination/zk-client.js';
import { ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import { decodeTail } from '../coordination/records.js';
import { killLeaderAndMeasure, percentile } from './failover.js';
import { NodeTimeline } from './node-timeline.js';
import { ProcessCluster } from './process-cluster.js';
import { WriteLoad } from './write-load.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';

import type { SnapshotPart } from './suite-parts.js';
export { SNAPSHOT_PARTS, type SnapshotPart } from './suite-parts.js';

/** The targets of issue 10, for the printed verdicts. */
export const SNAPSHOT_TARGETS = { rebuildMs: 3_000, restartMs: 2_000, stallAddedP99Ms: 20, failoverRatio: 1.1 } as const;

export interface SnapshotBenchOptions {
  readonly want: (p: SnapshotPart) => boolean;
  readonly env: ZooKeeperEnv;
  readonly zkJvm?: ZooKeeperJvmProfile;
  readonly nodeArgs: readonly string[];
  readonly failovers: number;
  /** Keys of the state (default 100,000) and their value size (default 256). */
  readonly keys?: number;
  readonly valueBytes?: number;
  /** Writes the history cluster takes before the restart and the second failovers (default 1,000,000). */
  readonly historyWrites?: number;
  /** Concurrent writers loading the state and the history (default 128). */
  readonly loadWriters?: number;
  /** snapshot-stall: how long the 64 writers run (default 30 s). */
  readonly stallMs?: number;
  /** snapshot-rebuild and snapshot-restart: repetitions (default 3). */
  readonly repeats?: number;
  /** Keep the nodes' data and logs in DIR/<cluster> (default: a temp folder, removed). */
  readonly keepLogsIn?: string;
  readonly say: (line: string) => void;
}

export interface Stats {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface Phase {
  readonly ms: number;
  readonly what: string;
}

export interface LoadReport {
  readonly writes: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly errors: number;
  /** Errors by code, with the first message of each: a count alone hid a load refused whole. */
  readonly errorKinds: Readonly<Record<string, { readonly count: number; readonly first: string }>>;
}

function kindsOf(r: LoadReport): string {
  const parts = Object.entries(r.errorKinds).map(([code, k]) => `${k.count} ${code} (first: ${k.first})`);
  return parts.length === 0 ? '' : `: ${parts.join('; ')}`;
}

/** Counts errors by code and keeps the first message of each (bounded: one entry per code). */
class ErrorTally {
  readonly kinds: Record<string, { count: number; first: string }> = {};
  total = 0;
  add(err: unknown): void {
    this.total++;
    const code = err instanceof DuoraftError ? err.code : err instanceof Error ? err.name : 'unknown';
    const k = this.kinds[code];
    if (k) k.count++;
    else this.kinds[code] = { count: 1, first: err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300) };
  }
  summary(): string {
    const parts = Object.entries(this.kinds).map(([code, k]) => `${k.count} ${code} (first: ${k.first})`);
    return parts.length === 0 ? '' : `; errors: ${parts.join('; ')}`;
  }
}

export interface SnapshotStallResult {
  readonly writers: number;
  readonly seconds: number;
  /** Snapshots taken during the run (both voters), and how long taking (and uploading) them took. */
  readonly snapshots: number;
  readonly snapshotMs: Stats;
  readonly stateBytes: number;
  readonly during: Stats;
  readonly outside: Stats;
  /** during.p99 - outside.p99. */
  readonly addedP99Ms: number;
  readonly errors: number;
  readonly errorKinds: Readonly<Record<string, { readonly count: number; readonly first: string }>>;
}

export interface RebuildRound {
  readonly ms: number;
  /** ZooKeeper's newest snapshot and tail when both voters were wiped. */
  readonly snapshotIndex: number;
  readonly tailIndex: number;
  readonly phases: Readonly<Record<string, readonly Phase[]>>;
}

export interface SnapshotRebuildResult {
  readonly keys: number;
  readonly valueBytes: number;
  readonly rounds: readonly RebuildRound[];
  readonly ms: Stats;
}

export interface RestartRound {
  readonly node: string;
  readonly role: 'follower' | 'leader';
  readonly ms: number;
  /** The leader's commit index the restarted voter had to reach. */
  readonly target: number;
  readonly phases: readonly Phase[];
}

export interface SnapshotRestartResult {
  readonly historyWrites: number;
  readonly rounds: readonly RestartRound[];
  readonly ms: Stats;
}

export interface SnapshotFailoverResult {
  readonly fresh: Stats & { readonly all: readonly number[] };
  readonly afterHistory: Stats & { readonly all: readonly number[] };
  readonly historyWrites: number;
  /** afterHistory / fresh, of p50 and of p99. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  readonly lost: number;
}

export interface SnapshotBenchResult {
  readonly stateLoad?: LoadReport;
  readonly historyLoad?: LoadReport;
  readonly stall?: SnapshotStallResult;
  readonly rebuild?: SnapshotRebuildResult;
  readonly failover?: SnapshotFailoverResult;
  readonly restart?: SnapshotRestartResult;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  return { count: values.length, p50: r1(percentile(values, 50)), p99: r1(percentile(values, 99)), max: r1(percentile(values, 100)) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSnapshotParts(o: SnapshotBenchOptions): Promise<SnapshotBenchResult> {
  let out: SnapshotBenchResult = {};
  if (o.want('snapshot-stall') || o.want('snapshot-rebuild')) out = { ...out, ...(await stateCluster(o)) };
  if (o.want('snapshot-failover') || o.want('snapshot-restart')) out = { ...out, ...(await historyCluster(o)) };
  return out;
}

/** One ZooKeeper, two voters logging at info (their lines time the phases), a client. */
async function withCluster<T>(o: SnapshotBenchOptions, name: string, body: (c: { cluster: ProcessCluster; client: DuoraftClient; timeline: NodeTimeline; zk: string }) => Promise<T>): Promise<T> {
  const zk = await startZooKeeper({ env: o.env, jvmProfile: o.zkJvm ?? 'production' });
  const timeline = new NodeTimeline();
  let cluster: ProcessCluster | null = null;
  let client: DuoraftClient | null = null;
  try {
    const workDir = o.keepLogsIn === undefined ? {} : { workDir: join(o.keepLogsIn, name) };
    if (workDir.workDir !== undefined) await mkdir(workDir.workDir, { recursive: true });
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, logLevel: 'info', nodeArgs: o.nodeArgs, onLine: (id, line) => timeline.onLine(id, line), ...workDir });
    client = await connect({ zk: zk.connectString, cluster: name, deadlineMs: 30_000 });
    return await body({ cluster, client, timeline, zk: zk.connectString });
  } finally {
    await client?.close();
    await cluster?.stop();
    await zk.stop();
  }
}

/** snapshot-stall, then snapshot-rebuild, on a state of `keys` keys. */
async function stateCluster(o: SnapshotBenchOptions): Promise<SnapshotBenchResult> {
  const keys = o.keys ?? 100_000;
  const valueBytes = o.valueBytes ?? 256;
  return withCluster(o, 'snapbench-state', async ({ cluster, client, timeline, zk }) => {
    o.say(`snapshots: loading ${keys.toLocaleString('en')} keys of ${valueBytes} bytes (${o.loadWriters ?? 128} writers)...`);
    const stateLoad = await writeKeys(client, keys, keys, valueBytes, o.loadWriters ?? 128);
    o.say(`  ${stateLoad.writes} writes in ${stateLoad.seconds} s (${stateLoad.perSecond}/s, ${stateLoad.errors} errors)${kindsOf(stateLoad)}`);
    let out: SnapshotBenchResult = { stateLoad };
    if (o.want('snapshot-stall')) {
      const stall = await measureStall(client, timeline, keys, valueBytes, o.stallMs ?? 30_000, o.say);
      out = { ...out, stall };
    }
    if (o.want('snapshot-rebuild')) {
      const rebuild = await measureRebuilds(cluster, client, timeline, zk, 'snapbench-state', keys, valueBytes, o.repeats ?? 3, o.say);
      out = { ...out, rebuild };
    }
    return out;
  });
}

/** snapshot-failover (fresh, then after the history) and snapshot-restart, on a cluster that takes `historyWrites` writes. */
async function historyCluster(o: SnapshotBenchOptions): Promise<SnapshotBenchResult> {
  const keys = o.keys ?? 100_000;
  const valueBytes = o.valueBytes ?? 256;
  const historyWrites = o.historyWrites ?? 1_000_000;
  return withCluster(o, 'snapbench-history', async ({ cluster, client, timeline }) => {
    let fresh: number[] = [];
    let lost = 0;
    if (o.want('snapshot-failover')) {
      o.say(`snapshots: failover on a fresh cluster, ${o.failovers} SIGKILLs of the leader under 4 writers...`);
      const f = await failovers(cluster, client, o.failovers, 'fresh', o.say);
      fresh = f.downtimes;
      lost += f.lost;
    }
    o.say(`snapshots: writing a history of ${historyWrites.toLocaleString('en')} writes over ${keys.toLocaleString('en')} keys (${o.loadWriters ?? 128} writers)...`);
    const historyLoad = await writeKeys(client, historyWrites, keys, valueBytes, o.loadWriters ?? 128, (done, ms) => {
      o.say(`  ... ${done.toLocaleString('en')} writes, ${Math.round(done / (ms / 1000))}/s`);
    });
    o.say(`  ${historyLoad.writes} writes in ${historyLoad.seconds} s (${historyLoad.perSecond}/s, ${historyLoad.errors} errors)${kindsOf(historyLoad)}`);
    let out: SnapshotBenchResult = { historyLoad };
    if (o.want('snapshot-failover')) {
      o.say(`snapshots: failover after ${historyWrites.toLocaleString('en')} writes, ${o.failovers} SIGKILLs of the leader under 4 writers...`);
      const after = await failovers(cluster, client, o.failovers, 'after', o.say);
      lost += after.lost;
      const a = stats(after.downtimes);
      const f = stats(fresh);
      const failover: SnapshotFailoverResult = {
        fresh: { ...f, all: fresh },
        afterHistory: { ...a, all: after.downtimes },
        historyWrites,
        ratioP50: Math.round((a.p50 / f.p50) * 100) / 100,
        ratioP99: Math.round((a.p99 / f.p99) * 100) / 100,
        lost,
      };
      o.say(
        `  downtime fresh p50 ${f.p50} ms, p99 ${f.p99} ms; after the history p50 ${a.p50} ms, p99 ${a.p99} ms: ` +
          `ratio ${failover.ratioP50} (p50), ${failover.ratioP99} (p99) (target within ${Math.round((SNAPSHOT_TARGETS.failoverRatio - 1) * 100)} %); ${lost} lost`,
      );
      out = { ...out, failover };
    }
    if (o.want('snapshot-restart')) {
      const restart = await measureRestarts(cluster, client, timeline, historyWrites, o.repeats ?? 3, o.say);
      out = { ...out, restart };
    }
    return out;
  });
}

/**
 * `total` puts over keys k-0 .. k-(keys-1) (in order, wrapping), `writers` at a time on the
 * client's pipelined stream. A failed put is counted and not retried (the client already
 * retried within its deadline).
 */
export async function writeKeys(
  c: DuoraftClient,
  total: number,
  keys: number,
  valueBytes: number,
  writers: number,
  progress?: (done: number, ms: number) => void,
): Promise<LoadReport> {
  const padding = 'v'.repeat(Math.max(0, valueBytes - 12));
  let next = 0;
  let done = 0;
  const errors = new ErrorTally();
  const started = performance.now();
  let lastReport = started;
  const writer = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const value = `${String(i).padStart(11, '0')}:${padding}`;
      try {
        await c.put(`k-${i % keys}`, value);
      } catch (err) {
        errors.add(err);
      }
      done++;
      const now = performance.now();
      if (progress && now - lastReport >= 10_000) {
        lastReport = now;
        progress(done, now - started);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, () => writer()));
  const seconds = (performance.now() - started) / 1000;
  return { writes: total, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(total / seconds), errors: errors.total, errorKinds: errors.kinds };
}

/** Write latencies of 64 writers while snapshots come and go; split by whether a write overlapped one. */
async function measureStall(c: DuoraftClient, timeline: NodeTimeline, keys: number, valueBytes: number, durationMs: number, say: (l: string) => void): Promise<SnapshotStallResult> {
  const writers = 64;
  say(`snapshots: ${writers} writers on the ${keys.toLocaleString('en')}-key state for ${durationMs / 1000} s, snapshots as the node's policy takes them...`);
  const padding = 'w'.repeat(Math.max(0, valueBytes - 12));
  const starts: number[] = [];
  const ends: number[] = [];
  const errors = new ErrorTally();
  const from = performance.now();
  const end = from + durationMs;
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; performance.now() < end; n++) {
      const t = performance.now();
      try {
        await c.put(`k-${(w * 7919 + n * 64) % keys}`, `${String(n).padStart(11, '0')}:${padding}`);
        starts.push(t);
        ends.push(performance.now());
      } catch (err) {
        errors.add(err);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  // Let the last upload finish and its line arrive.
  await sleep(3_000);
  const windows = snapshotWindows(timeline, from - 60_000);
  const during: number[] = [];
  const outside: number[] = [];
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    const e = ends[k]!;
    (windows.some((w) => s < w.end && e > w.start) ? during : outside).push(e - s);
  }
  const inRun = windows.filter((w) => w.end > from && w.start < end);
  const result: SnapshotStallResult = {
    writers,
    seconds: durationMs / 1000,
    snapshots: inRun.length,
    snapshotMs: stats(inRun.map((w) => w.end - w.start)),
    stateBytes: Math.max(0, ...inRun.map((w) => w.bytes)),
    during: stats(during),
    outside: stats(outside),
    addedP99Ms: r1(percentile(during, 99) - percentile(outside, 99)),
    errors: errors.total,
    errorKinds: errors.kinds,
  };
  say(
    `  ${result.snapshots} snapshots of ${(result.stateBytes / 1e6).toFixed(1)} MB (taking and uploading: p50 ${result.snapshotMs.p50} ms, max ${result.snapshotMs.max} ms); ` +
      `writes during one: ${result.during.count}, p99 ${result.during.p99} ms; outside: ${result.outside.count}, p99 ${result.outside.p99} ms; ` +
      `added p99 ${result.addedP99Ms} ms (target at most ${SNAPSHOT_TARGETS.stallAddedP99Ms} ms); ${errors.total} errors${errors.summary()}`,
  );
  return result;
}

/** Each snapshot's window on each voter: from the take's start to its end, or on the leader to its upload's end. */
function snapshotWindows(timeline: NodeTimeline, from: number): Array<{ start: number; end: number; bytes: number }> {
  const marks = timeline.since(from);
  const out: Array<{ start: number; end: number; bytes: number }> = [];
  for (const m of marks) {
    if (m.msg !== 'snapshot taken') continue;
    const ms = typeof m.fields['ms'] === 'number' ? m.fields['ms'] : 0;
    const index = m.fields['index'];
    const upload = marks.find((u) => u.node === m.node && u.msg === 'zk snapshot: uploaded' && u.fields['index'] === index && u.at >= m.at);
    out.push({ start: m.at - ms, end: upload?.at ?? m.at, bytes: typeof m.fields['bytes'] === 'number' ? m.fields['bytes'] : 0 });
  }
  return out;
}

/** Both voters killed and wiped, both started; from the first start to the first acknowledged write. */
async function measureRebuilds(
  cluster: ProcessCluster,
  client: DuoraftClient,
  timeline: NodeTimeline,
  zk: string,
  name: string,
  keys: number,
  valueBytes: number,
  repeats: number,
  say: (l: string) => void,
): Promise<SnapshotRebuildResult> {
  say(`snapshots: rebuilding the ${keys.toLocaleString('en')}-key state from ZooKeeper, both voters wiped, ${repeats} times...`);
  const rounds: RebuildRound[] = [];
  for (let k = 1; k <= repeats; k++) {
    const inZk = await settledSnapshot(zk, name);
    const ids = cluster.ids();
    await Promise.all(ids.map((id) => cluster.kill(id)));
    await Promise.all(ids.map((id) => cluster.wipe(id)));
    const t0 = performance.now();
    for (const id of ids) cluster.startNode(id);
    const ackAt = await firstAck(client, `probe-${k}`, 60_000);
    const ms = r1(ackAt - t0);
    const phases: Record<string, Phase[]> = {};
    for (const id of ids) phases[id] = timeline.phases(t0, id, ackAt + 50);
    rounds.push({ ms, snapshotIndex: inZk.snapshotIndex, tailIndex: inZk.tailIndex, phases });
    say(`  ${k}/${repeats}: ${ms} ms to the first acknowledged write (ZooKeeper: snapshot ${inZk.snapshotIndex}, tail ${inZk.tailIndex})`);
    for (const id of ids) say(`    ${id}: ${phases[id]!.map((p) => `${p.ms} ${p.what}`).join('; ')}`);
    await cluster.waitForLeader(60_000);
  }
  const result = { keys, valueBytes, rounds, ms: stats(rounds.map((r) => r.ms)) };
  say(`  rebuild to the first write: p50 ${result.ms.p50} ms, max ${result.ms.max} ms (target at most ${SNAPSHOT_TARGETS.rebuildMs} ms)`);
  return result;
}

/** Waits until ZooKeeper's newest complete snapshot stops changing (the last upload done); its index and the tail. */
async function settledSnapshot(zk: string, name: string): Promise<{ snapshotIndex: number; tailIndex: number }> {
  const session = connectZk({ connectString: zk });
  try {
    await session.waitConnected(10_000);
    const paths = new ClusterPaths(name);
    const store = new ZkSnapshotStore({ zk: session, paths, clock: realClock, logger: silentLogger, nodeId: 'bench' });
    let last = -1;
    let stableSince = performance.now();
    const deadline = performance.now() + 60_000;
    for (;;) {
      const newest = (await store.list())[0]?.point.index ?? 0;
      if (newest !== last) {
        last = newest;
        stableSince = performance.now();
      }
      if (performance.now() - stableSince >= 2_000 || performance.now() > deadline) break;
      await sleep(200);
    }
    const tail = decodeTail(paths.tail, (await session.getData(paths.tail)).data);
    return { snapshotIndex: last, tailIndex: tail.lastIndex };
  } finally {
    await session.close();
  }
}

/** Puts `key` every 10 ms (at most 8 calls in flight) until one is acknowledged; when it was. */
async function firstAck(c: DuoraftClient, key: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let acked: number | null = null;
  let inFlight = 0;
  const calls: Promise<void>[] = [];
  while (acked === null && performance.now() < deadline) {
    if (inFlight < 8) {
      inFlight++;
      calls.push(
        c.put(key, 'x', { deadlineMs: 2_000 }).then(
          () => {
            acked ??= performance.now();
            inFlight--;
          },
          () => {
            inFlight--;
          },
        ),
      );
    }
    await sleep(10);
  }
  await Promise.allSettled(calls);
  if (acked === null) throw new Error(`no write was acknowledged within ${timeoutMs} ms`);
  return acked;
}

/** `n` leader kills under 4 writers; downtimes in ms and acknowledged writes not read back. */
async function failovers(cluster: ProcessCluster, client: DuoraftClient, n: number, prefix: string, say: (l: string) => void): Promise<{ downtimes: number[]; lost: number }> {
  const wl = new WriteLoad(client, { writers: 4, valueBytes: 64, prefix: `fo-${prefix}` });
  wl.start();
  const downtimes: number[] = [];
  try {
    for (let k = 1; k <= n; k++) {
      await sleep(700);
      const f = await killLeaderAndMeasure(cluster, wl);
      downtimes.push(Math.round(f.downtimeMs));
      say(`  ${k}/${n}: ${f.killed} -> ${f.newLeader}: ${f.downtimeMs.toFixed(0)} ms (rejoined after ${f.rejoinMs.toFixed(0)} ms)`);
    }
  } finally {
    await wl.stop();
  }
  let lost = 0;
  for (const a of wl.kept()) {
    const got = await client.get(a.key);
    if (!got.found || new TextDecoder().decode(got.value) !== a.value) lost++;
  }
  return { downtimes, lost };
}

/** A voter SIGKILLed and started again at once, under 4 writers: from its start until caught up. */
async function measureRestarts(
  cluster: ProcessCluster,
  client: DuoraftClient,
  timeline: NodeTimeline,
  historyWrites: number,
  repeats: number,
  say: (l: string) => void,
): Promise<SnapshotRestartResult> {
  say(`snapshots: restarting a voter after ${historyWrites.toLocaleString('en')} writes, under 4 writers (${repeats} followers, then ${repeats} leaders)...`);
  const wl = new WriteLoad(client, { writers: 4, valueBytes: 64, prefix: 'rs', maxKeptAcks: 10_000 });
  wl.start();
  const rounds: RestartRound[] = [];
  try {
    for (const role of ['follower', 'leader'] as const) {
      for (let k = 1; k <= repeats; k++) {
        await sleep(1_000);
        const leader = await cluster.waitForLeader(30_000);
        const id = role === 'leader' ? leader : cluster.ids().find((x) => x !== leader)!;
        await cluster.kill(id);
        const t0 = performance.now();
        cluster.startNode(id);
        const { ms, target } = await waitCaughtUp(cluster, id, t0, 60_000);
        const phases = timeline.phases(t0, id, t0 + ms + 50);
        rounds.push({ node: id, role, ms, target, phases });
        say(`  ${role} ${id}: caught up with commit ${target} after ${ms} ms: ${phases.map((p) => `${p.ms} ${p.what}`).join('; ')}`);
      }
    }
  } finally {
    await wl.stop();
  }
  const result = { historyWrites, rounds, ms: stats(rounds.map((r) => r.ms)) };
  say(`  restart to caught up: p50 ${result.ms.p50} ms, max ${result.ms.max} ms (target at most ${SNAPSHOT_TARGETS.restartMs} ms)`);
  return result;
}

/**
 * From `t0` (the process start) until the cluster is whole with `id` in it: one voter leads
 * and the other follows it, and both have applied what the leader had committed when it
 * was first seen after t0. Usually `id` follows the other voter (which took over when `id`
 * led); on a loaded machine `id` may take over instead (the live leader's lease looked
 * lapsed through a stall), which counts the same: the restart is done when both agree.
 */
async function waitCaughtUp(cluster: ProcessCluster, id: string, t0: number, timeoutMs: number): Promise<{ ms: number; target: number }> {
  const deadline = t0 + timeoutMs;
  let target: number | null = null;
  let last = '';
  const other = cluster.ids().find((x) => x !== id)!;
  while (performance.now() < deadline) {
    const [o, s] = await Promise.all([cluster.memberStatus(other, 500), cluster.memberStatus(id, 500)]);
    const leader = o?.role === 'leader' ? o : s?.role === 'leader' ? s : null;
    if (target === null && leader) target = leader.commitIndex;
    const follower = leader === o ? s : o;
    if (target !== null && leader && follower && follower.role === 'follower' && follower.leaderId === leader.id && follower.appliedIndex >= target && leader.appliedIndex >= target) {
      return { ms: r1(performance.now() - t0), target };
    }
    last = JSON.stringify({ other: o, self: s });
    await sleep(10);
  }
  throw new Error(`${id} did not catch up within ${timeoutMs} ms (last: ${last})`);
}
