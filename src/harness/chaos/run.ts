// duoraft chaos: its own ZooKeeper and two voters (on loopback behind TCP proxies for the
// peer link and for each node's ZooKeeper connection, or with --net netns each in its own
// network namespace), N recording clients, a seeded schedule of faults, then the checks,
// result.json and report.html.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LeaderChangeCounter } from '../leader-changes.js';
import { NetnsCluster } from '../netns/cluster.js';
import { requireNetns } from '../netns/support.js';
import { ProcessCluster } from '../process-cluster.js';
import { CheckedLoad, type LoadVerdict } from './checked-load.js';
import { startChaosZooKeeper } from './chaos-zookeeper.js';
import type { FaultEnv } from './fault-env.js';
import { GapMeter } from './gap-meter.js';
import { NodeLogWatch } from './node-log-watch.js';
import { runFault } from './fault-step.js';
import { type ChaosOptions, validateChaosOptions } from './options.js';
import { writeReport } from './report.js';
import { type ChaosResult, countFalseFailovers, type FailoverRecord, failures, summarizeDowntime, writeResult } from './result.js';
import { type FaultPlan, planFaults } from './schedule.js';
import { waitSettled } from './settle.js';
import { sleep } from './time.js';
import { summarizeWriteGaps, writeGapLines } from './write-gaps.js';
import { ZkTargetPicker } from './zk-server-faults.js';
import { checkListeners, type ListenerVerdict, startChaosListeners } from './listener-faults.js';
import { ZkWriteProbe, type ZkWriteProbeStats } from './zk-write-probe.js';
import { SnapshotActivity } from './snapshot-activity.js';
import { ZkDataSampler, type ZkDataSummary } from './zk-data-sampler.js';

const CLUSTER_NAME = 'chaos';
const PROGRESS_EVERY_MS = 10_000;
/** Faults planned for a soak; it stops on time long before these run out. */
const SOAK_PLAN = 100_000;
/** The bare ZooKeeper client's session timeout: duoraft node's default (--zk-session-timeout). */
const PROBE_SESSION_TIMEOUT_MS = 4_000;

export interface ChaosRun {
  readonly result: ChaosResult;
  readonly resultPath: string;
  readonly reportPath: string;
  /** What failed, in words; empty when the run passed. */
  readonly failures: readonly string[];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosRun> {
  validateChaosOptions(o);
  const say = o.json ? (): void => undefined : o.print;
  const startedIso = new Date().toISOString();
  const origin = performance.now();
  // A soak plans far ahead and stops when its time is up (and at least `failovers` ran).
  const planned = o.minutes > 0 ? Math.max(o.failovers, SOAK_PLAN) : o.failovers;
  const plans = planFaults(o.seed, planned, o.kinds, o.steadyMs, o.durations);
  const soakEnd = o.minutes > 0 ? performance.now() + o.minutes * 60_000 : 0;
  say(
    o.minutes > 0
      ? `duoraft chaos: seed ${o.seed}, a soak of ${o.minutes} minutes (at least ${o.failovers} faults; kinds ${o.kinds.join(', ')}), ${o.clients} clients`
      : `duoraft chaos: seed ${o.seed}, ${plans.length} faults (${kindCounts(plans)}), ${o.clients} clients`,
  );
  if (o.net === 'netns') {
    // Before anything starts: where namespaces cannot be made, say why at once.
    await requireNetns();
    say('  voters in network namespaces (--net netns)');
  }
  if (o.nodeArgs.length > 0) say(`  node arguments: ${o.nodeArgs.join(' ')}`);
  if (o.brokenBuild) say(`  DELIBERATELY BROKEN BUILD: ${o.brokenBuild}`);

  const failovers: FailoverRecord[] = [];
  let error: string | undefined;
  let changesBeforeFirstFault = 0;

  // A kept cluster folder from an earlier run would restart old nodes against a new
  // ZooKeeper: start from nothing.
  if (o.keepLogs) await rm(join(o.outDir, 'cluster'), { recursive: true, force: true });
  say(o.zkServers > 1 ? `starting a ZooKeeper ensemble of ${o.zkServers}...` : 'starting ZooKeeper...');
  const zk = await startChaosZooKeeper(o.zkServers, o.env);
  // The voters' log lines, for the faults aimed at a moment inside a take-over.
  const watch = new NodeLogWatch();
  const snapshots = new SnapshotActivity();
  let zkData: ZkDataSampler | null = null;
  let zkDataSummary: ZkDataSummary | null = null;
  const zkClientGaps = new GapMeter();
  let probe: ZkWriteProbe | null = null;
  let probeStats: ZkWriteProbeStats | null = null;
  let placed: NetnsCluster | null = null;
  let cluster: ProcessCluster | null = null;
  let listeners: ProcessCluster | null = null;
  let listenerVerdicts: ListenerVerdict[] | null = null;
  let load: CheckedLoad | null = null;
  let counter: LeaderChangeCounter | null = null;
  let ticker: NodeJS.Timeout | undefined;
  try {
    say(`  ZooKeeper serving at ${zk.connectString}; starting two voters...`);
    const common = {
      zk: zk.connectString,
      cluster: CLUSTER_NAME,
      nodeArgs: o.nodeArgs,
      ...(o.brokenBuild ? { brokenBuild: o.brokenBuild } : {}),
      logLevel: 'info',
      ...(o.keepLogs ? { workDir: join(o.outDir, 'cluster') } : {}),
      onLine: (id: string, line: string): void => {
        watch.onLine(id, line);
        snapshots.onLine(line);
      },
    };
    if (o.net === 'netns') {
      placed = await NetnsCluster.start(common);
      cluster = placed.cluster;
      say(`  namespaces ${placed.network.names.namespaces.join(', ')} on ${placed.network.subnet}`);
    } else {
      cluster = await ProcessCluster.start({ ...common, peerProxies: true, zkProxies: true });
    }
    let settled = await waitSettled(cluster, o.recoveryTimeoutMs, 'start-up');
    say(`  leader ${settled.leader}; node logs in ${cluster.workDir}${o.keepLogs ? '' : ' (removed at the end; keep them with --keep-logs)'}`);
    counter = await LeaderChangeCounter.open(zk.connectString, CLUSTER_NAME);
    if (o.listeners > 0) {
      listeners = await startChaosListeners({
        zk: zk.connectString,
        cluster: CLUSTER_NAME,
        count: o.listeners,
        nodeArgs: o.nodeArgs,
        ...(o.keepLogs ? { workDir: join(o.outDir, 'cluster', 'listeners') } : {}),
      });
      say(`  ${o.listeners} listener(s) beside the voters: ${listeners.ids().join(', ')}`);
    }
    zkData = await ZkDataSampler.start({ connectString: zk.connectString, cluster: CLUSTER_NAME, servers: () => zk.servers(), origin, boundBytes: o.zkDataBoundBytes });

    const running = await CheckedLoad.start({
      zk: zk.connectString,
      cluster: CLUSTER_NAME,
      clients: o.clients,
      seed: o.seed,
      thinkMs: o.thinkMs,
      clientDeadlineMs: o.clientDeadlineMs,
      maxRecordedOps: o.maxRecordedOps,
    });
    load = running;
    ticker = setInterval(() => {
      const n = running.counts();
      say(`  ... ${n.acknowledged} operations acknowledged, ${n.unknown} unknown, ${n.recorded} recorded`);
    }, PROGRESS_EVERY_MS);
    ticker.unref();
    if (zk.ensemble !== null) {
      probe = await ZkWriteProbe.start({ connectString: zk.connectString, sessionTimeoutMs: PROBE_SESSION_TIMEOUT_MS, intervalMs: o.zkProbeIntervalMs, meter: zkClientGaps, connectTimeoutMs: o.recoveryTimeoutMs });
      say(`  a bare ZooKeeper client writes beside the voters (one multi every ~${o.zkProbeIntervalMs} ms)`);
    }
    const env: FaultEnv = { watch, ensemble: zk.ensemble, zkServers: () => zk.servers(), zkTargets: new ZkTargetPicker(), recoveryTimeoutMs: o.recoveryTimeoutMs, listeners };

    try {
      const fencesAtStart = await counter.fences();
      await sleep(o.steadyMs[1]);
      let fences = await counter.fences();
      changesBeforeFirstFault = fences - fencesAtStart;
      const ctx = {
        cluster,
        net: placed?.faults ?? null,
        acks: running.acks,
        total: o.minutes > 0 ? 0 : plans.length,
        recoveryTimeoutMs: o.recoveryTimeoutMs,
        beforeInjection: (plan: FaultPlan): void => running.setGeneration(plan.index),
        env,
        ...(probe !== null ? { gaps: { duoraft: running.acks.writeGaps, zkClient: zkClientGaps } } : {}),
      };
      for (const plan of plans) {
        if (soakEnd > 0 && performance.now() >= soakEnd && plan.index > o.failovers) break;
        const step = await runFault(ctx, plan, settled);
        settled = step.settled;
        await sleep(plan.steadyMs);
        // Every change of leader from this injection up to the next is this fault's.
        const now = await counter.fences();
        const f = { ...step.record, leaderChanges: now - fences };
        fences = now;
        failovers.push(f);
        say(
          `fault ${f.index}${o.minutes > 0 ? '' : `/${plans.length}`}: ${f.kind} on ${f.target} (${f.targetRole}) ${detailWords(f.detail)}-> ` +
            `downtime ${f.downtimeMs.toFixed(0)} ms; leader ${f.leaderBefore} -> ${f.leaderAfter}; ${f.leaderChanges} leader change(s); whole again after ${f.recoveredMs} ms` +
            (f.writeGap ? `; longest write gap ${f.writeGap.duoraftMs} ms (bare ZooKeeper client ${f.writeGap.zkClientMs} ms)` : ''),
        );
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      say(`stopping early: ${error}`);
    }
    clearInterval(ticker);

    say('stopping the clients...');
    await running.stop();
    // Whatever fault was in force when a run stopped early ends before the final reads.
    await placed?.faults.healAll();
    await waitSettled(cluster, o.recoveryTimeoutMs, 'before the final reads').catch((err: unknown) => {
      error ??= err instanceof Error ? err.message : String(err);
    });
    say('reading back every key the checks need...');
    await running.readBack();
    if (listeners) {
      say('comparing every listener\'s final state with the voters\'...');
      listenerVerdicts = await checkListeners(cluster, listeners, running.finalValues(), o.recoveryTimeoutMs);
      for (const l of listenerVerdicts) say(`  ${l.id}: applied ${l.appliedIndex}, ${l.behind ?? `${l.mismatches} keys differ`}`);
    }
  } catch (err) {
    error ??= err instanceof Error ? err.message : String(err);
    say(`stopping early: ${error}`);
  } finally {
    clearInterval(ticker);
    if (probe !== null) probeStats = await probe.stop().catch(() => probe?.stats() ?? null);
    if (zkData !== null) zkDataSummary = await zkData.stop().catch(() => zkData?.summary() ?? null);
    await load?.close();
    await counter?.close().catch(() => undefined);
    await listeners?.stop();
    if (placed) await placed.stop();
    else await cluster?.stop();
    await zk.stop();
  }

  // The checks run with every process stopped: they are CPU-bound.
  const verdict: LoadVerdict | null = load?.verdict() ?? null;
  say(`checking the history (${verdict?.ops.recorded ?? 0} operations)...`);
  const result: ChaosResult = {
    ...chaosResult(o, startedIso, Math.round(performance.now() - origin), failovers, changesBeforeFirstFault, verdict, load, error),
    zkServers: o.zkServers,
    snapshots: snapshots.summary(),
    ...(zkDataSummary !== null ? { zkData: zkDataSummary } : {}),
    ...(probeStats !== null ? { writeGaps: summarizeWriteGaps(failovers, probeStats) } : {}),
    ...(listenerVerdicts !== null ? { listeners: listenerVerdicts } : {}),
  };
  const resultPath = await writeResult(o.outDir, result);
  const reportPath = await writeReport(o.outDir, result);
  printSummary(say, result, resultPath, reportPath);
  return { result, resultPath, reportPath, failures: failures(result) };
}

function chaosResult(
  o: ChaosOptions,
  startedAt: string,
  durationMs: number,
  failovers: readonly FailoverRecord[],
  changesBeforeFirstFault: number,
  v: LoadVerdict | null,
  load: CheckedLoad | null,
  error: string | undefined,
): ChaosResult {
  const noOps = { total: 0, acknowledged: 0, unknown: 0, failed: 0, retriedAfterUnknownOutcome: 0, recorded: 0, historyCapped: false };
  const lin = v?.linearizability;
  return {
    seed: o.seed,
    startedAt,
    durationMs,
    options: { failovers: o.failovers, minutes: o.minutes, durations: o.durations, kinds: o.kinds, clients: o.clients, thinkMs: o.thinkMs, nodeArgs: o.nodeArgs, maxRecordedOps: o.maxRecordedOps, net: o.net },
    failovers,
    downtime: summarizeDowntime(failovers),
    falseFailovers: countFalseFailovers(failovers, changesBeforeFirstFault),
    ops: v?.ops ?? noOps,
    lost: v?.lost ?? 0,
    lostDetail: v?.lostDetail ?? { writeOnceKeys: 0, counterIncrements: 0, examples: [] },
    duplicated: v?.duplicated ?? 0,
    duplicatedCounters: v?.duplicatedCounters ?? [],
    linearizable: lin?.linearizable ?? false,
    linearizabilityUnknown: lin?.unknown ?? false,
    ...(lin?.violation !== undefined ? { violation: lin.violation } : {}),
    checker: { partitions: lin?.partitions ?? 0, steps: lin?.steps ?? 0, ms: lin?.ms ?? 0, unknownKeys: lin?.unknownKeys ?? [] },
    unreadableKeys: v?.unreadableKeys ?? [],
    throughput: load?.acks.throughput() ?? [],
    ...(error !== undefined ? { error } : {}),
  };
}

function kindCounts(plans: readonly FaultPlan[]): string {
  const counts = new Map<string, number>();
  for (const p of plans) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
}

function detailWords(d: Readonly<Record<string, number | string>>): string {
  const parts = Object.entries(d).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? `[${parts.join(', ')}] ` : '';
}

function printSummary(say: (line: string) => void, r: ChaosResult, resultPath: string, reportPath: string): void {
  say('');
  say(`operations:    ${r.ops.total} (${r.ops.acknowledged} acknowledged, ${r.ops.unknown} unknown outcome, ${r.ops.failed} failed); ${r.ops.recorded} recorded${r.ops.historyCapped ? ' (cap reached)' : ''}`);
  say(`downtime:      p50 ${r.downtime.p50} ms, p99 ${r.downtime.p99} ms, max ${r.downtime.max} ms over ${r.failovers.length} faults`);
  for (const [kind, s] of Object.entries(r.downtime.byKind)) say(`  ${kind.padEnd(28)} ${s.count} faults, p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`);
  if (r.snapshots !== undefined) {
    const a = r.snapshots;
    say(
      `snapshots:     ${a.taken} taken, ${a.published} uploaded to ZooKeeper (${a.compactedSegments} wal/ segments compacted), ` +
        `${a.installed} installed (${a.installedFromZooKeeper} from ZooKeeper), ${a.rebuilt} empty data folders rebuilt from ZooKeeper`,
    );
  }
  if (r.zkData !== undefined) {
    const z = r.zkData;
    say(
      `ZooKeeper data: budgeted (wal/ + snapshots/) at most ${mib(z.maxBudgetBytes)} of the ${mib(z.boundBytes)} bound over ${z.budget.length} samples` +
        `${z.withinBound ? '' : ' (OVER THE BOUND, or never sampled)'}; whole tree at most ${mib(z.maxApproximateDataBytes)} (mntr, ${z.tree.length} samples)`,
    );
  }
  say(`leader changes: ${r.failovers.reduce((n, f) => n + f.leaderChanges, 0)}, of them ${r.falseFailovers} during faults that need none`);
  if (r.writeGaps !== undefined) for (const line of writeGapLines(r.writeGaps)) say(line);
  say(`lost:          ${r.lost}`);
  say(`duplicated:    ${r.duplicated}`);
  const lin = r.violation !== undefined ? 'NO: violation found' : r.linearizabilityUnknown ? 'unknown: the checker ran out of budget (not a violation; exit code unaffected)' : 'yes';
  say(`linearizable:  ${lin} (${r.checker.partitions} keys, ${r.checker.ms} ms)`);
  if (r.violation !== undefined) say(r.violation.explanation);
  if (r.error !== undefined) say(`error:         ${r.error}`);
  say(`wrote ${resultPath} and ${reportPath}`);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}
