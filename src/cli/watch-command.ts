// duoraft watch: a checked load against a running cluster that prints every write gap (a
// stretch without an acknowledged write) as it ends, and at the end (SIGTERM, SIGINT or
// --duration) whether anything acknowledged was lost (src/harness/cluster-watch.ts). It is
// the load client of the compose deployment; docker/chaos/*.sh read its gap lines to say
// what downtime each fault caused. --dry-run checks the flags, environment and config file
// and prints the options without connecting (the deployment test runs it on the compose
// file's command).
import type { Argv } from 'yargs';
import type { ClusterWatch, WatchOptions, WatchSummary } from '../harness/cluster-watch.js';
import type { WriteGap } from '../harness/write-gaps.js';
import type { CommonArgs } from './common-options.js';
import type { CommandSpec } from './config/command-config.js';
import { declareSettings } from './config/command-config.js';
import { booleanSetting, integerSetting } from './config/setting.js';
import { commonSettings } from './config/settings.js';
import { printJson, printLine } from './output.js';
import { clientSecurityOf } from './security-options.js';

const flagOnly = true;
const ms = 'ms';

export const watchSettings = {
  ...commonSettings,
  clients: integerSetting({ describe: 'concurrent clients, each its own connection', min: 1, max: 256, default: 4, flagOnly }),
  'think-ms': integerSetting({ describe: 'pause between two calls of one client', min: 0, max: 60_000, unit: ms, default: 10, flagOnly }),
  'gap-ms': integerSetting({ describe: 'report every stretch at least this long without an acknowledged write', min: 1, max: 600_000, unit: ms, default: 100, flagOnly }),
  duration: integerSetting({ describe: 'stop after this many seconds (0: at SIGTERM or SIGINT)', min: 0, max: 7 * 24 * 3600, unit: 's', default: 0, flagOnly }),
  seed: integerSetting({ describe: "seed of the clients' choices", min: 0, max: 0xffff_ffff, default: 1, flagOnly }),
  'max-recorded-ops': integerSetting({ describe: 'record and check at most this many operations (the load goes on after)', min: 1, max: 10_000_000, default: 300_000, flagOnly }),
  'generation-ms': integerSetting({ describe: 'start new registers and counters this often, so each key history stays quick to check', min: 100, max: 3_600_000, unit: ms, default: 5_000, flagOnly }),
  'start-timeout': integerSetting({ describe: 'give up if no write is acknowledged within this long of starting', min: 1_000, max: 3_600_000, unit: ms, default: 120_000, flagOnly }),
  'progress-ms': integerSetting({ describe: 'print a progress line this often (0: never)', min: 0, max: 3_600_000, unit: ms, default: 10_000, flagOnly }),
  'dry-run': booleanSetting({ describe: 'check the options and print them, without connecting', default: false, flagOnly }),
} as const;

// The load's clients take the same TLS, token and ZooKeeper credentials as every client
// command (README, Security): the compose deployment's TLS override runs it on a TLS cluster.
export const watchSpec: CommandSpec = { schema: watchSettings };

type WatchArgs = CommonArgs & {
  clients: number;
  'think-ms': number;
  'gap-ms': number;
  duration: number;
  seed: number;
  'max-recorded-ops': number;
  'generation-ms': number;
  'start-timeout': number;
  'progress-ms': number;
  'dry-run': boolean;
};

type Runner = <A>(fn: (args: A) => Promise<void>) => (args: A) => Promise<void>;

export function withWatchCommand(parser: Argv<CommonArgs>, run: Runner): Argv<CommonArgs> {
  return parser.command(
    'watch',
    'run a checked load against a running cluster, print every write gap (downtime as the clients saw it), and at the end whether anything acknowledged was lost',
    (y) => declareSettings(y, watchSettings, { skip: Object.keys(commonSettings) }),
    run((a) => watch(a as unknown as WatchArgs)),
  );
}

function optionsOf(a: WatchArgs, security?: WatchOptions['security']): WatchOptions {
  return {
    ...(security ? { security } : {}),
    zk: a.zk,
    cluster: a.cluster,
    clients: a.clients,
    thinkMs: a['think-ms'],
    gapMs: a['gap-ms'],
    seed: a.seed,
    maxRecordedOps: a['max-recorded-ops'],
    clientDeadlineMs: a.timeout,
    generationMs: a['generation-ms'],
    startTimeoutMs: a['start-timeout'],
  };
}

async function watch(a: WatchArgs): Promise<void> {
  // Reading the TLS files and the token checks them, also in a dry run.
  const o = optionsOf(a, await clientSecurityOf(a));
  if (a['dry-run']) {
    const { security, ...shown } = o;
    const secured = { tls: security?.tls !== undefined, clientCertificate: security?.tls?.cert !== undefined, token: security?.token !== undefined, zkAuth: security?.zkAuth !== undefined };
    if (a.json) printJson({ valid: true, options: { ...shown, security: secured, durationS: a.duration, progressMs: a['progress-ms'] } });
    else printLine(`duoraft watch: options valid: ${o.clients} clients on cluster ${o.cluster} at ${o.zk}, write gaps from ${o.gapMs} ms, ${a.duration > 0 ? `${a.duration} s` : 'until SIGTERM'} (dry run: nothing started)`);
    return;
  }
  const say = (line: string, json: Record<string, unknown>): void => (a.json ? printJson(json) : printLine(line));
  const { security: _credentials, ...shown } = o;
  say(`duoraft watch: ${o.clients} clients on cluster ${o.cluster} at ${o.zk}; reporting every stretch of ${o.gapMs} ms or more without an acknowledged write`, {
    event: 'start',
    options: shown,
  });
  const stop = stopSignal(a.duration);
  try {
    await watchUntilStopped(a, o, stop.reached, say);
  } finally {
    stop.dispose();
  }
}

async function watchUntilStopped(a: WatchArgs, o: WatchOptions, stopped: Promise<string>, say: (line: string, json: Record<string, unknown>) => void): Promise<void> {
  const starting = new AbortController();
  void stopped.then(() => starting.abort());
  // Loaded here: the other commands, the node above all, start without the harness.
  const { ClusterWatch, WatchAbortedError } = await import('../harness/cluster-watch.js');
  let w: ClusterWatch;
  try {
    w = await ClusterWatch.start(o, (gap) => say(gapLine(gap), { event: 'write-gap', ...gap }), starting.signal);
  } catch (err) {
    if (!(err instanceof WatchAbortedError)) throw err;
    say(`watch: ${err.message}`, { event: 'stopped', reason: err.message });
    return;
  }
  say('watch: the cluster acknowledged a write; load running', { event: 'running' });
  const progress =
    a['progress-ms'] > 0
      ? setInterval(() => {
          const p = w.progress();
          say(
            `progress: ${p.acknowledged} acknowledged, ${p.unknown} unknown outcome, ${p.recorded} recorded; ${p.gaps} write gaps, longest ${p.longestGapMs} ms; last write ${p.sinceLastWriteMs} ms ago`,
            { event: 'progress', ...p },
          );
        }, a['progress-ms'])
      : undefined;
  const reason = await stopped;
  clearInterval(progress);
  say(`watch: stopping (${reason}); reading back every checked key...`, { event: 'stopping', reason });
  const summary = await w.stop();
  if (a.json) printJson({ event: 'summary', ...summaryJson(summary) });
  else for (const line of summaryLines(summary)) printLine(line);
  if (!summary.passed) throw new Error('the checks failed (see above)');
}

/** One line per gap, its fields as key=value for scripts (docker/chaos/lib.sh reads them). */
export function gapLine(g: WriteGap): string {
  return (
    `write-gap ms=${g.ms} from_ms=${g.fromMs} to_ms=${g.toMs} from=${new Date(g.fromMs).toISOString()} to=${new Date(g.toMs).toISOString()} ` +
    `last_by=${g.lastBy ?? '-'} next_by=${g.nextBy ?? '-'}`
  );
}

function summaryLines(s: WatchSummary): string[] {
  const v = s.verdict;
  const lin = v.linearizability;
  const lines = [
    `operations:    ${v.ops.total} (${v.ops.acknowledged} acknowledged, ${v.ops.unknown} unknown outcome, ${v.ops.failed} failed); ${v.ops.recorded} recorded${v.ops.historyCapped ? ' (cap reached)' : ''}; ${s.keysRead} keys read back`,
    `write gaps:    ${s.gaps}, longest ${s.longestGapMs} ms`,
    `lost:          ${v.lost}${v.lostDetail.examples.length > 0 ? ` (${v.lostDetail.examples.join('; ')})` : ''}`,
    `duplicated:    ${v.duplicated}`,
    `linearizable:  ${lin.violation !== undefined ? 'NO: violation found' : lin.unknown ? 'unknown: the checker ran out of budget (not a violation)' : 'yes'} (${lin.partitions} keys, ${lin.ms} ms)`,
  ];
  if (lin.violation !== undefined) lines.push(lin.violation.explanation);
  if (v.unreadableKeys.length > 0) lines.push(`unreadable:    ${v.unreadableKeys.length} keys could not be read back (not counted as lost)`);
  lines.push(s.passed ? 'checks passed' : 'CHECKS FAILED');
  return lines;
}

function summaryJson(s: WatchSummary): Record<string, unknown> {
  const v = s.verdict;
  return {
    passed: s.passed,
    ops: v.ops,
    keysRead: s.keysRead,
    gaps: s.gaps,
    longestGapMs: s.longestGapMs,
    lost: v.lost,
    lostDetail: v.lostDetail,
    duplicated: v.duplicated,
    linearizable: v.linearizability.linearizable,
    linearizabilityUnknown: v.linearizability.unknown,
    ...(v.linearizability.violation !== undefined ? { violation: v.linearizability.violation.explanation } : {}),
    unreadableKeys: v.unreadableKeys,
  };
}

/** Resolves at SIGTERM or SIGINT, or after `durationS` seconds (0: only at a signal). */
function stopSignal(durationS: number): { readonly reached: Promise<string>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<string>((resolve) => {
    onSignal = (signal) => resolve(signal);
    if (durationS > 0) timer = setTimeout(() => resolve(`${durationS} s passed`), durationS * 1000);
  });
  // Once: a second signal, while the checks run, ends the process the default way.
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return {
    reached,
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
