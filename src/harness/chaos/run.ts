// duoraft chaos: its own ZooKeeper and two voters (behind TCP proxies for the peer link and
// for each node's ZooKeeper connection), N recording clients, a seeded schedule of faults,
// then the checks, result.json and report.html.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../../client/client.js';
import { ProcessCluster } from '../process-cluster.js';
import { AckTracker } from './ack-tracker.js';
import { ChaosClient } from './chaos-client.js';
import { startChaosZooKeeper } from './chaos-zookeeper.js';
import type { FaultEnv } from './fault-env.js';
import { GapMeter } from './gap-meter.js';
import { NodeLogWatch } from './node-log-watch.js';
import { checkHistory, countLost, findDuplicated } from './checks.js';
import { runFault } from './fault-step.js';
import { readFinalState, type FinalReads } from './final-reads.js';
import { OpChooser, type OpSpace, UNCHECKED_PREFIX } from './op-mix.js';
import { type ChaosOptions, validateChaosOptions } from './options.js';
import { HistoryRecorder } from './recorder.js';
import { writeReport } from './report.js';
import { type ChaosResult, type FailoverRecord, failures, summarizeDowntime, writeResult } from './result.js';
import { RetryObserver } from './retry-observer.js';
import { type FaultPlan, planFaults } from './schedule.js';
import { waitSettled } from './settle.js';
import { sleep, withTimeout } from './time.js';
import { summarizeWriteGaps, writeGapLines } from './write-gaps.js';
import { ZkTargetPicker } from './zk-server-faults.js';
import { ZkWriteProbe, type ZkWriteProbeStats } from './zk-write-probe.js';

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
  // A soak plans far ahead and stops when its time is up (and at least `failovers` ran).
  const planned = o.minutes > 0 ? Math.max(o.failovers, SOAK_PLAN) : o.failovers;
  const plans = planFaults(o.seed, planned, o.kinds, o.steadyMs, o.durations);
  const soakEnd = o.minutes > 0 ? performance.now() + o.minutes * 60_000 : 0;
  say(
    o.minutes > 0
      ? `duoraft chaos: seed ${o.seed}, a soak of ${o.minutes} minutes (at least ${o.failovers} faults; kinds ${o.kinds.join(', ')}), ${o.clients} clients`
      : `duoraft chaos: seed ${o.seed}, ${plans.length} faults (${kindCounts(plans)}), ${o.clients} clients`,
  );
  if (o.nodeArgs.length > 0) say(`  node arguments: ${o.nodeArgs.join(' ')}`);
  if (o.brokenBuild) say(`  DELIBERATELY BROKEN BUILD: ${o.brokenBuild}`);

  const recorder = new HistoryRecorder(o.maxRecordedOps);
  const acks = new AckTracker();
  const failovers: FailoverRecord[] = [];
  let error: string | undefined;
  let finals: FinalReads = { values: new Map(), unreadable: [] };

  // A kept cluster folder from an earlier run would restart old nodes against a new
  // ZooKeeper: start from nothing.
  if (o.keepLogs) await rm(join(o.outDir, 'cluster'), { recursive: true, force: true });
  say(o.zkServers > 1 ? `starting a ZooKeeper ensemble of ${o.zkServers}...` : 'starting ZooKeeper...');
  const zk = await startChaosZooKeeper(o.zkServers, o.env);
  const watch = new NodeLogWatch();
  const zkClientGaps = new GapMeter();
  let probe: ZkWriteProbe | null = null;
  let probeStats: ZkWriteProbeStats | null = null;
  let cluster: ProcessCluster | null = null;
  const clients: ChaosClient[] = [];
  let verifier: DuoraftClient | null = null;
  let ticker: NodeJS.Timeout | undefined;
  try {
    say(`  ZooKeeper serving at ${zk.connectString}; starting two voters...`);
    cluster = await ProcessCluster.start({
      zk: zk.connectString,
      cluster: CLUSTER_NAME,
      peerProxies: true,
      zkProxies: true,
      nodeArgs: o.nodeArgs,
      ...(o.brokenBuild ? { brokenBuild: o.brokenBuild } : {}),
      logLevel: 'info',
      ...(o.keepLogs ? { workDir: join(o.outDir, 'cluster') } : {}),
      onLine: (id, line) => watch.onLine(id, line),
    });
    let settled = await waitSettled(cluster, o.recoveryTimeoutMs, 'start-up');
    say(`  leader ${settled.leader}; node logs in ${cluster.workDir}${o.keepLogs ? '' : ' (removed at the end; keep them with --keep-logs)'}`);

    let generation = 0;
    for (let id = 0; id < o.clients; id++) {
      const retries = new RetryObserver();
      const client = await connect({ zk: zk.connectString, cluster: CLUSTER_NAME, deadlineMs: o.clientDeadlineMs, logger: retries.logger });
      clients.push(new ChaosClient({ id, client, retries, chooser: new OpChooser(o.seed, id), recorder, acks, generation: () => generation, thinkMs: o.thinkMs }));
    }
    for (const c of clients) c.start();
    ticker = setInterval(() => {
      const n = recorder.counts();
      say(`  ... ${n.acknowledged} operations acknowledged, ${n.unknown} unknown, ${n.recorded} recorded`);
    }, PROGRESS_EVERY_MS);
    ticker.unref();
    if (zk.ensemble !== null) {
      probe = await ZkWriteProbe.start({ connectString: zk.connectString, sessionTimeoutMs: PROBE_SESSION_TIMEOUT_MS, intervalMs: o.zkProbeIntervalMs, meter: zkClientGaps, connectTimeoutMs: o.recoveryTimeoutMs });
      say(`  a bare ZooKeeper client writes beside the voters (one multi every ~${o.zkProbeIntervalMs} ms)`);
    }
    const env: FaultEnv = { watch, ensemble: zk.ensemble, zkServers: () => zk.servers(), zkTargets: new ZkTargetPicker(), recoveryTimeoutMs: o.recoveryTimeoutMs };

    try {
      await sleep(o.steadyMs[1]);
      const ctx = {
        cluster,
        acks,
        total: o.minutes > 0 ? 0 : plans.length,
        recoveryTimeoutMs: o.recoveryTimeoutMs,
        beforeInjection: (plan: FaultPlan): void => {
          generation = plan.index;
        },
        env,
        ...(probe !== null ? { gaps: { duoraft: acks.writeGaps, zkClient: zkClientGaps } } : {}),
      };
      for (const plan of plans) {
        if (soakEnd > 0 && performance.now() >= soakEnd && plan.index > o.failovers) break;
        const step = await runFault(ctx, plan, settled);
        settled = step.settled;
        const f = step.record;
        failovers.push(f);
        say(
          `fault ${f.index}${o.minutes > 0 ? '' : `/${plans.length}`}: ${f.kind} on ${f.target} (${f.targetRole}) ${detailWords(f.detail)}-> ` +
            `downtime ${f.downtimeMs.toFixed(0)} ms; leader ${f.leaderBefore} -> ${f.leaderAfter}; whole again after ${f.recoveredMs} ms` +
            (f.writeGap ? `; longest write gap ${f.writeGap.duoraftMs} ms (bare ZooKeeper client ${f.writeGap.zkClientMs} ms)` : ''),
        );
        await sleep(plan.steadyMs);
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      say(`stopping early: ${error}`);
    }
    clearInterval(ticker);

    say('stopping the clients...');
    const stopBound = o.clientDeadlineMs + 10_000;
    await withTimeout(Promise.all(clients.map((c) => c.stop())), stopBound, `the clients did not finish their last calls within ${stopBound} ms`);
    await waitSettled(cluster, o.recoveryTimeoutMs, 'before the final reads').catch((err: unknown) => {
      error ??= err instanceof Error ? err.message : String(err);
    });
    verifier = await connect({ zk: zk.connectString, cluster: CLUSTER_NAME, deadlineMs: o.clientDeadlineMs });
    const keys = finalKeys(recorder);
    say(`reading back ${keys.length} keys...`);
    finals = await readFinalState(verifier, recorder, keys, o.clients);
  } catch (err) {
    error ??= err instanceof Error ? err.message : String(err);
    say(`stopping early: ${error}`);
  } finally {
    clearInterval(ticker);
    if (probe !== null) probeStats = await probe.stop().catch(() => probe?.stats() ?? null);
    await Promise.allSettled(clients.map((c) => c.close()));
    await verifier?.close().catch(() => undefined);
    await cluster?.stop();
    await zk.stop();
  }

  // The checks run with every process stopped: they are CPU-bound.
  say(`checking the history (${recorder.counts().recorded} operations)...`);
  const lin = checkHistory(recorder.history());
  const lostDetail = countLost(recorder.acknowledgedOnceKeys(), recorder.counterTallies(), finals.values);
  const duplicatedCounters = findDuplicated(recorder.counterTallies(), finals.values);
  const result: ChaosResult = {
    seed: o.seed,
    startedAt: startedIso,
    durationMs: Math.round(performance.now() - acks.origin),
    options: { failovers: o.failovers, minutes: o.minutes, durations: o.durations, kinds: o.kinds, clients: o.clients, thinkMs: o.thinkMs, nodeArgs: o.nodeArgs, maxRecordedOps: o.maxRecordedOps },
    failovers,
    downtime: summarizeDowntime(failovers),
    ops: recorder.counts(),
    lost: lostDetail.writeOnceKeys + lostDetail.counterIncrements,
    lostDetail,
    duplicated: duplicatedCounters.reduce((sum, d) => sum + (d.final - d.acknowledged - d.unknown), 0),
    duplicatedCounters,
    linearizable: lin.linearizable,
    linearizabilityUnknown: lin.unknown,
    ...(lin.violation !== undefined ? { violation: lin.violation } : {}),
    checker: { partitions: lin.partitions, steps: lin.steps, ms: lin.ms, unknownKeys: lin.unknownKeys },
    unreadableKeys: finals.unreadable.map((u) => u.key),
    throughput: acks.throughput(),
    ...(error !== undefined ? { error } : {}),
    zkServers: o.zkServers,
    ...(probeStats !== null ? { writeGaps: summarizeWriteGaps(failovers, probeStats) } : {}),
  };
  const resultPath = await writeResult(o.outDir, result);
  const reportPath = await writeReport(o.outDir, result);
  printSummary(say, result, resultPath, reportPath);
  return { result, resultPath, reportPath, failures: failures(result) };
}

/** Every key a check needs: acknowledged write-once keys, all counters and registers. */
function finalKeys(recorder: HistoryRecorder): Array<{ key: string; space: OpSpace; inHistory: boolean }> {
  return [
    // Keys written after the history cap carry the unchecked prefix (op-mix.ts).
    ...[...recorder.acknowledgedOnceKeys().keys()].map((key) => ({ key, space: 'once' as const, inHistory: !key.startsWith(UNCHECKED_PREFIX) })),
    ...[...recorder.counterTallies().keys()].map((key) => ({ key, space: 'counter' as const, inHistory: true })),
    ...recorder.registerKeys().map((key) => ({ key, space: 'register' as const, inHistory: true })),
  ];
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
  if (r.writeGaps !== undefined) for (const line of writeGapLines(r.writeGaps)) say(line);
  say(`lost:          ${r.lost}`);
  say(`duplicated:    ${r.duplicated}`);
  const lin = r.violation !== undefined ? 'NO: violation found' : r.linearizabilityUnknown ? 'unknown: the checker ran out of budget (not a violation; exit code unaffected)' : 'yes';
  say(`linearizable:  ${lin} (${r.checker.partitions} keys, ${r.checker.ms} ms)`);
  if (r.violation !== undefined) say(r.violation.explanation);
  if (r.error !== undefined) say(`error:         ${r.error}`);
  say(`wrote ${resultPath} and ${reportPath}`);
}
