// duoraft fuzz: its own ZooKeeper and two voters (plaintext, on loopback), the chaos run's
// checked load (recording clients, sessions on), and rounds of hostile input, the targets
// taking turns in a seeded shuffled order: peer messages, client requests, a stopped node's
// WAL, znode values. After every round the nodes that stopped are restarted and the cluster
// must be whole again; at the end the load's checks (nothing acknowledged lost, nothing
// applied twice, a linearizable history), the fuzzer's own (no forged write visible, its own
// acknowledged writes there, both replicas alike) and the nodes' logs (no uncaught exception,
// no stack trace, no broken invariant) decide. Every round's inputs come from the run's seed
// and the round's number: `--seed S --rounds K` regenerates rounds 1..K exactly (what the
// cluster does with them still depends on timing: real processes).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../../client/client.js';
import { connectZk, type NodeZkSession } from '../../coordination/zk-client.js';
import { CheckedLoad, type LoadVerdict } from '../chaos/checked-load.js';
import { ProcessCluster } from '../process-cluster.js';
import { startZooKeeper } from '../zk-launcher.js';
import { clientRound } from './client-fuzz.js';
import { type FuzzContext, FuzzLedger, type FuzzTarget, type RoundReport } from './context.js';
import { checkAgreement, checkLedger, type EndChecks } from './end-checks.js';
import { FuzzRandom } from './fuzz-random.js';
import { LogScanner, type LogFinding } from './log-scan.js';
import { type FuzzOptions, validateFuzzOptions } from './options.js';
import { peerRound } from './peer-fuzz.js';
import { type NodeRestart, recover } from './recovery.js';
import { walRound } from './wal-fuzz.js';
import { ZkLogView } from './zk-log-view.js';
import { znodeRound } from './znode-fuzz.js';

const CLUSTER = 'fuzz';
const ROUND_RUNNERS: Record<FuzzTarget, (ctx: FuzzContext) => Promise<RoundReport>> = {
  peer: peerRound,
  client: clientRound,
  wal: walRound,
  znode: znodeRound,
};
/** History cap of the checked load: the checker's time grows with it. */
const MAX_RECORDED_OPS = 200_000;

export interface RoundRecord {
  readonly round: number;
  readonly target: FuzzTarget;
  /** The seed of this round's random stream (derived from the run's seed and the round). */
  readonly roundSeed: number;
  readonly summary: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly oddities: readonly string[];
  readonly restarts: readonly NodeRestart[];
  /** Fences of the epoch znode during the round (leader changes, and the fuzzer's own epoch writes). */
  readonly epochChanges: number;
  readonly recoveredMs: number;
  readonly error?: string;
}

export interface FuzzResult {
  readonly seed: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly options: { readonly seconds: number; readonly rounds: number; readonly targets: readonly FuzzTarget[]; readonly clients: number; readonly thinkMs: number };
  readonly rounds: readonly RoundRecord[];
  readonly load: Omit<LoadVerdict, 'linearizability'> & { readonly linearizable: boolean; readonly linearizabilityUnknown: boolean; readonly violation?: string };
  readonly end: EndChecks;
  readonly logFailures: readonly LogFinding[];
  readonly logWarnings: readonly LogFinding[];
  readonly failures: readonly string[];
  /** The command that regenerates this run's inputs up to its last (or first failing) round. */
  readonly replay: string;
}

export interface FuzzRun {
  readonly result: FuzzResult;
  readonly resultPath: string | null;
}

/** The targets in seeded shuffled turns, so each gets its share and none bunches up. */
function targetOrder(seed: number, targets: readonly FuzzTarget[], count: number): FuzzTarget[] {
  const r = new FuzzRandom((seed ^ 0x00f0_22ed) >>> 0);
  const out: FuzzTarget[] = [];
  while (out.length < count) out.push(...r.shuffled(targets));
  return out.slice(0, count);
}

export function replayCommand(o: Pick<FuzzOptions, 'seed' | 'targets'>, rounds: number): string {
  return `npx duoraft fuzz --seed ${o.seed} --rounds ${rounds} --targets ${o.targets.join(',')}`;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzRun> {
  validateFuzzOptions(o);
  const say = o.json ? (): void => undefined : o.print;
  const startedAt = new Date().toISOString();
  const origin = performance.now();
  const budgetEnd = o.seconds > 0 ? origin + o.seconds * 1000 : Number.POSITIVE_INFINITY;
  const maxRounds = o.rounds > 0 ? o.rounds : 1_000_000;
  const order = targetOrder(o.seed, o.targets, Math.min(maxRounds, 100_000));
  say(`duoraft fuzz: seed ${o.seed}, ${o.rounds > 0 ? `${o.rounds} rounds` : `${o.seconds} s`}${o.rounds > 0 && o.seconds > 0 ? ` (at most ${o.seconds} s)` : ''}, targets ${o.targets.join(', ')}, ${o.clients} checked clients`);

  const rounds: RoundRecord[] = [];
  const failures: string[] = [];
  const ledger = new FuzzLedger();
  let firstFailingRound = 0;
  const zk = await startZooKeeper({ env: o.env });
  let cluster: ProcessCluster | null = null;
  let session: NodeZkSession | null = null;
  let load: CheckedLoad | null = null;
  let verifier: DuoraftClient | null = null;
  let scanner: LogScanner | null = null;
  let end: EndChecks = { forgedVisible: [], fuzzWritesLost: [], unreadable: [], replicasDisagree: [] };
  let endChecksRun = true;
  try {
    cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: CLUSTER, logLevel: 'info', ...(o.keepLogs && o.outDir ? { workDir: join(o.outDir, 'cluster') } : {}) });
    const c = cluster;
    scanner = new LogScanner(new Map(c.ids().map((id) => [id, c.node(id).logFile])));
    session = connectZk({ connectString: zk.connectString });
    await session.waitConnected(10_000);
    const view = new ZkLogView(session, CLUSTER);
    const first = await recover(c, o.recoveryTimeoutMs);
    if (!first.ok) throw new Error(`the cluster did not start: ${first.problem}`);
    say(`  ZooKeeper at ${zk.connectString}; leader ${first.leader}; node logs in ${c.workDir}${o.keepLogs ? '' : ' (removed at the end; keep them with --keep-logs --out DIR)'}`);
    load = await CheckedLoad.start({ zk: zk.connectString, cluster: CLUSTER, clients: o.clients, seed: o.seed, thinkMs: o.thinkMs, clientDeadlineMs: 10_000, maxRecordedOps: MAX_RECORDED_OPS });
    await scanner.scan(0);

    for (let k = 1; k <= maxRounds && performance.now() < budgetEnd; k++) {
      const target = order[(k - 1) % order.length]!;
      const roundSeed = FuzzRandom.roundSeed(o.seed, k);
      load.setGeneration(k);
      const epochBefore = await session.exists(view.paths.epoch).then((s) => s?.version ?? 0, () => 0);
      let report: RoundReport = { summary: '', counts: {}, oddities: [] };
      let error: string | undefined;
      try {
        report = await ROUND_RUNNERS[target]({ cluster: c, clusterName: CLUSTER, zk: session, view, rng: new FuzzRandom(roundSeed), round: k, ledger });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const rec = await recover(c, o.recoveryTimeoutMs);
      await scanner.scan(k);
      const epochAfter = await session.exists(view.paths.epoch).then((s) => s?.version ?? 0, () => 0);
      const record: RoundRecord = {
        round: k,
        target,
        roundSeed,
        summary: report.summary,
        counts: report.counts,
        oddities: report.oddities,
        restarts: rec.restarts,
        epochChanges: epochAfter - epochBefore,
        recoveredMs: rec.ms,
        ...(error !== undefined ? { error } : {}),
      };
      rounds.push(record);
      const restarted = rec.restarts.map((r) => `${r.node} (${r.reason || `exit ${r.exitCode}`})`).join(', ');
      say(`round ${k} [${target}, seed ${roundSeed}]: ${error ? `harness error: ${error}` : report.summary}${restarted ? `; restarted ${restarted}` : ''}; ${record.epochChanges} epoch change(s); whole after ${rec.ms} ms`);
      for (const odd of report.oddities.slice(0, 5)) say(`    oddity: ${odd}`);
      const newFailures = scanner.failures.filter((f) => f.round === k);
      for (const f of newFailures.slice(0, 5)) say(`    LOG FAILURE on ${f.node}: ${f.line}`);
      const found = report.failures ?? [];
      for (const f of found) say(`    FAILURE: ${f}`);
      if (error !== undefined) failures.push(`round ${k} (${target}): the harness failed: ${error}`);
      for (const f of found) failures.push(`round ${k} (${target}): ${f}`);
      if (!rec.ok) failures.push(`round ${k} (${target}): ${rec.problem}`);
      if ((newFailures.length > 0 || found.length > 0 || error !== undefined || !rec.ok) && firstFailingRound === 0) firstFailingRound = k;
      if (!rec.ok) break;
    }

    say('stopping the load...');
    await load.stop();
    const last = await recover(c, o.recoveryTimeoutMs);
    if (!last.ok) {
      // Reading every key back from a cluster that does not serve would only wait out
      // every read's deadline: the run has failed already.
      failures.push(`at the end: ${last.problem}; the end-of-run checks were not run`);
      throw new Error('the cluster is not whole at the end');
    }
    say('reading back every key the checks need...');
    await load.readBack();
    verifier = await connect({ zk: zk.connectString, cluster: CLUSTER, deadlineMs: 10_000 });
    const ledgerChecks = await checkLedger(verifier, ledger);
    const keys = [...load.recorder.acknowledgedOnceKeys().keys(), ...load.recorder.registerKeys(), ...ledger.acknowledged.keys(), ...ledger.forgedKeys];
    const replicasDisagree = await checkAgreement(c, keys, o.recoveryTimeoutMs);
    end = { ...ledgerChecks, replicasDisagree };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message !== 'the cluster is not whole at the end') failures.push(`the run stopped early: ${message}`);
    endChecksRun = false;
  } finally {
    await verifier?.close().catch(() => undefined);
    await load?.close();
    await session?.close().catch(() => undefined);
    await cluster?.stop();
    await zk.stop();
  }
  // Whatever the logs gained up to the processes' end.
  await scanner?.scan(rounds.length).catch(() => undefined);

  say(`checking the history (${load?.counts().recorded ?? 0} operations)...`);
  // Without the read-back the load's verdict would count every key as unread: skip it.
  const v = endChecksRun ? (load?.verdict() ?? null) : null;
  if (v) {
    if (v.lost > 0) failures.push(`${v.lost} acknowledged writes of the load lost: ${v.lostDetail.examples.join('; ')}`);
    if (v.duplicated > 0) failures.push(`${v.duplicated} increments of the load applied twice`);
    if (v.linearizability.violation) failures.push(`the load's history is not linearizable: ${v.linearizability.violation.explanation}`);
    if (v.unreadableKeys.length > 0) failures.push(`${v.unreadableKeys.length} keys of the load unreadable at the end`);
  }
  if (end.forgedVisible.length > 0) failures.push(`forged writes visible: ${end.forgedVisible.slice(0, 5).join('; ')}`);
  if (end.fuzzWritesLost.length > 0) failures.push(`acknowledged fuzz writes lost: ${end.fuzzWritesLost.slice(0, 5).join('; ')}`);
  if (end.unreadable.length > 0) failures.push(`${end.unreadable.length} fuzz keys unreadable at the end`);
  if (end.replicasDisagree.length > 0) failures.push(`the replicas disagree: ${end.replicasDisagree.slice(0, 5).join('; ')}`);
  const logFailures = scanner?.failures ?? [];
  if (logFailures.length > 0) failures.push(`${logFailures.length} log line(s) of a crash or broken invariant, first: ${logFailures[0]!.node} in round ${logFailures[0]!.round}: ${logFailures[0]!.line}`);
  if (firstFailingRound === 0 && failures.length > 0) firstFailingRound = rounds.length;

  const lin = v?.linearizability;
  const result: FuzzResult = {
    seed: o.seed,
    startedAt,
    durationMs: Math.round(performance.now() - origin),
    options: { seconds: o.seconds, rounds: o.rounds, targets: o.targets, clients: o.clients, thinkMs: o.thinkMs },
    rounds,
    load: {
      ops: v?.ops ?? { total: 0, acknowledged: 0, unknown: 0, failed: 0, retriedAfterUnknownOutcome: 0, recorded: 0, historyCapped: false },
      lost: v?.lost ?? 0,
      lostDetail: v?.lostDetail ?? { writeOnceKeys: 0, counterIncrements: 0, examples: [] },
      duplicated: v?.duplicated ?? 0,
      duplicatedCounters: v?.duplicatedCounters ?? [],
      unreadableKeys: v?.unreadableKeys ?? [],
      linearizable: lin?.linearizable ?? false,
      linearizabilityUnknown: lin?.unknown ?? false,
      ...(lin?.violation ? { violation: lin.violation.explanation } : {}),
    },
    end,
    logFailures,
    logWarnings: scanner?.warnings ?? [],
    failures,
    replay: replayCommand(o, Math.max(1, firstFailingRound || rounds.length)),
  };
  let resultPath: string | null = null;
  if (o.outDir) {
    await mkdir(o.outDir, { recursive: true });
    resultPath = join(o.outDir, 'fuzz-result.json');
    await writeFile(resultPath, `${JSON.stringify(result, null, 2)}\n`);
  }
  printSummary(say, result, resultPath);
  return { result, resultPath };
}

function printSummary(say: (line: string) => void, r: FuzzResult, resultPath: string | null): void {
  const perTarget = new Map<string, number>();
  for (const x of r.rounds) perTarget.set(x.target, (perTarget.get(x.target) ?? 0) + 1);
  say('');
  say(`seed ${r.seed}: ${r.rounds.length} rounds (${[...perTarget].map(([t, n]) => `${n} ${t}`).join(', ')}) in ${(r.durationMs / 1000).toFixed(0)} s`);
  say(`restarts:      ${r.rounds.reduce((n, x) => n + x.restarts.length, 0)} (nodes that stopped on purpose or crashed, started again)`);
  say(`load:          ${r.load.ops.acknowledged} acknowledged, ${r.load.ops.unknown} unknown; lost ${r.load.lost}, duplicated ${r.load.duplicated}, linearizable ${r.load.violation ? 'NO' : r.load.linearizabilityUnknown ? 'unknown (budget)' : 'yes'}`);
  say(`fuzz ledger:   ${r.end.forgedVisible.length} forged writes visible, ${r.end.fuzzWritesLost.length} own acknowledged writes lost, ${r.end.replicasDisagree.length} keys the replicas disagree on`);
  say(`logs:          ${r.logFailures.length} crash lines, ${r.logWarnings.length} warnings`);
  for (const w of dedupe(r.logWarnings).slice(0, 5)) say(`  warning (${w.node}, round ${w.round}): ${w.line}`);
  if (resultPath) say(`wrote ${resultPath}`);
  if (r.failures.length === 0) {
    say(`PASSED (seed ${r.seed})`);
    return;
  }
  say(`FAILED (seed ${r.seed}):`);
  for (const f of r.failures) say(`  - ${f}`);
  say(`replay the inputs: ${r.replay}`);
}

/** One finding per distinct message (the same warning from every round says nothing more). */
function dedupe(findings: readonly LogFinding[]): LogFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = f.line.replace(/\d+/g, 'N');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
