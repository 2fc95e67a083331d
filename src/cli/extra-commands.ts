// Commands that run whole scenarios (demo, bench, chaos): registered here so main.ts
// stays a list of the everyday commands.
import { parseBrokenBuilds } from '../server/broken-builds.js';

/** Checks a --broken list (a clear error for an unknown name) and returns it as given. */
function brokenBuildNames(list: string): string {
  parseBrokenBuilds(list);
  return list;
}
import type { Argv } from 'yargs';
import { connect } from '../client/client.js';
import { InvalidArgumentError } from '../common/errors.js';
import type { Workload } from '../harness/bench.js';
import { SUITE_PARTS, type SuitePart } from '../harness/suite-parts.js';
import type { ZooKeeperEnv } from '../harness/zk-java.js';
import type { CommonArgs } from './common-options.js';
import { printJson, printLine } from './output.js';
import { clientSecurityOf, type SecurityArgs } from './security-options.js';
import { resolve } from 'node:path';

type Runner = <A>(fn: (args: A) => Promise<void>) => (args: A) => Promise<void>;

/** The longest steady part the bench takes: a day. */
const MAX_STEADY_MINUTES = 24 * 60;

/** The ZooKeeper installation settings, read from the environment here and nowhere else. */
export function zooKeeperEnv(): ZooKeeperEnv {
  const env: { ZOOKEEPER_HOME?: string; JAVA_HOME?: string } = {};
  if (process.env['ZOOKEEPER_HOME']) env.ZOOKEEPER_HOME = process.env['ZOOKEEPER_HOME'];
  if (process.env['JAVA_HOME']) env.JAVA_HOME = process.env['JAVA_HOME'];
  return env;
}

export function extraCommands(parser: Argv<CommonArgs>, run: Runner): Argv<CommonArgs> {
  return parser.command(
    'demo',
    'start ZooKeeper and two voters, SIGKILL the leader repeatedly under writes, report downtime and lost writes',
    (y) =>
      y
        .option('failovers', { type: 'number', default: 5, describe: 'how many times to kill the leader' })
        .option('writers', { type: 'number', default: 4, describe: 'concurrent writers' })
        .option('settle-ms', { type: 'number', default: 1500, describe: 'writes between failovers (ms)' })
        .option('keep-logs', { type: 'string', describe: 'keep the node logs in this folder (to read the failover timeline)' }),
    run(async (a: CommonArgs & { failovers: number; writers: number; 'settle-ms': number; 'keep-logs'?: string }) => {
      // The harness loads only when a scenario runs: the node and the everyday commands start without it.
      const { runDemo } = await import('../harness/demo.js');
      const result = await runDemo({
        ...(a['keep-logs'] ? { keepLogsIn: a['keep-logs'] } : {}),
        failovers: a.failovers,
        writers: a.writers,
        settleMs: a['settle-ms'],
        json: a.json,
        env: zooKeeperEnv(),
        print: printLine,
      });
      if (result.lost > 0) throw new Error(`${result.lost} acknowledged writes were lost`);
    }),
  ).command(
    'bench',
    'measure a load against a cluster (--zk/--cluster), or run the standard suite with its own ZooKeeper (--suite)',
    (y) =>
      y
        .option('suite', { type: 'boolean', default: false, describe: 'start ZooKeeper and two voters and run the standard measurements' })
        .option('workload', { type: 'string', default: 'write', choices: ['write', 'read', 'mixed'] })
        .option('concurrency', { type: 'number', default: 64, describe: 'concurrent callers' })
        .option('value-bytes', { type: 'number', default: 256 })
        .option('duration', { type: 'number', default: 10, describe: 'seconds' })
        .option('consistency', { type: 'string', default: 'linearizable', choices: ['linearizable', 'lease', 'stale'] })
        .option('read-ratio', { type: 'number', default: 0.5, describe: 'mixed: share of reads (0..1)' })
        .option('keys', { type: 'number', default: 1000, describe: 'keys the load spreads over' })
        .option('failovers', { type: 'number', default: 20, describe: '--suite: SIGKILLs of the leader to measure' })
        .option('only', { type: 'string', describe: `--suite: comma list of ${SUITE_PARTS.join(', ')}` })
        .option('compare', { type: 'string', choices: ['etcd'], describe: '--suite: also run the writer loads and failovers against a three-member etcd 3.4' })
        .option('netns-minutes', { type: 'number', default: 5, describe: '--suite: length of netns-latency-loss' })
        .option('steady-minutes', { type: 'number', default: 10, describe: '--suite: length of steady (fractions allowed, e.g. 0.5)' })
        .option('history-writes', { type: 'number', default: 1_000_000, describe: '--suite: writes the cluster takes before snapshot-restart and the second half of snapshot-failover' })
        .option('node-args', { type: 'string', describe: '--suite: extra arguments for every node, e.g. "--wal-sync-interval-ms 0"' })
        .option('keep-logs', { type: 'string', describe: "--suite: the network parts keep their nodes' folders and logs (at info) under this folder, one subfolder per part" })
        .option('zk-jvm', {
          type: 'string',
          default: 'production',
          choices: ['production', 'test'],
          describe: '--suite: how the JVM runs ZooKeeper: production (fixed heap, G1, full JIT) or test (quick start: serial GC, C1 only)',
        }),
    run(
      async (
        a: CommonArgs & SecurityArgs & {
          suite: boolean;
          workload: string;
          concurrency: number;
          'value-bytes': number;
          duration: number;
          consistency: string;
          'read-ratio': number;
          keys: number;
          failovers: number;
          only?: string;
          compare?: string;
          'netns-minutes': number;
          'steady-minutes': number;
          'history-writes': number;
          'node-args'?: string;
          'keep-logs'?: string;
          'zk-jvm': string;
        },
      ) => {
        if (!(a.duration > 0 && a.concurrency >= 1 && a.keys >= 1 && a['value-bytes'] >= 0 && a['read-ratio'] >= 0 && a['read-ratio'] <= 1)) {
          throw new InvalidArgumentError('--duration, --concurrency and --keys must be positive, --read-ratio in 0..1');
        }
        if (a.suite) {
          const parts = a.only ? a.only.split(',').map((p) => p.trim()) : undefined;
          if (parts?.some((p) => !(SUITE_PARTS as readonly string[]).includes(p))) throw new InvalidArgumentError(`--only takes ${SUITE_PARTS.join(', ')}`);
          if (!(a['netns-minutes'] > 0)) throw new InvalidArgumentError('--netns-minutes must be positive');
          const steadyMinutes = a['steady-minutes'];
          if (!(Number.isFinite(steadyMinutes) && steadyMinutes > 0 && steadyMinutes <= MAX_STEADY_MINUTES)) {
            throw new InvalidArgumentError(`--steady-minutes must be a number of minutes above 0 and at most ${MAX_STEADY_MINUTES} (fractions such as 0.5 are fine), not ${String(steadyMinutes)}`);
          }
          if (!(Number.isSafeInteger(a['history-writes']) && a['history-writes'] >= 1)) throw new InvalidArgumentError('--history-writes must be a positive integer');
          const { runSuite } = await import('../harness/bench.js');
          const r = await runSuite({
            failovers: a.failovers,
            durationMs: a.duration * 1000,
            netnsMinutes: a['netns-minutes'],
            steadyMinutes,
            compareEtcd: a.compare === 'etcd',
            historyWrites: a['history-writes'],
            zkJvm: a['zk-jvm'] === 'test' ? 'test' : 'production',
            env: zooKeeperEnv(),
            print: printLine,
            json: a.json,
            ...(parts ? { only: parts as SuitePart[] } : {}),
            ...(a['node-args'] ? { nodeArgs: a['node-args'].split(' ').filter(Boolean) } : {}),
            ...(a['keep-logs'] ? { keepLogsDir: resolve(a['keep-logs']) } : {}),
          });
          const lost = (r.steady?.lost ?? 0) + (r.snapshots?.failover?.lost ?? 0) + (r.failover?.lost ?? 0) + (r.transfer?.lost ?? 0) + (r.netnsPartitionLeader?.lost ?? 0) + (r.netnsPartitionVoters?.lost ?? 0) + (r.netnsLatencyLoss?.lost ?? 0);
          if (lost > 0) throw new Error(`${lost} acknowledged writes were lost`);
          return;
        }
        const c = await connect({ zk: a.zk, cluster: a.cluster, deadlineMs: a.timeout, ...(await clientSecurityOf(a)) });
        try {
          const { runLoad } = await import('../harness/bench.js');
          const r = await runLoad(c, {
            workload: a.workload as Workload,
            concurrency: a.concurrency,
            valueBytes: a['value-bytes'],
            durationMs: a.duration * 1000,
            consistency: a.consistency as 'linearizable' | 'lease' | 'stale',
            readRatio: a['read-ratio'],
            keys: a.keys,
          });
          if (a.json) printJson(r);
          else printLine(`${r.workload} (${r.consistency}) x${r.concurrency}: ${r.opsPerSecond} ops/s, p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, ${r.errors} errors`);
        } finally {
          await c.close();
        }
      },
    ),
  ).command(
    'chaos',
    'start ZooKeeper and two voters, inject faults under a recorded load, check the history; writes result.json and report.html',
    (y) =>
      y
        .option('seed', { type: 'number', default: 1, describe: 'seed of the fault schedule and of the clients\' choices' })
        .option('failovers', { type: 'number', default: 12, describe: 'how many faults in all (the kinds take turns); with --minutes, at least this many' })
        .option('minutes', { type: 'number', default: 0, describe: 'a soak: go on injecting faults until this many minutes have passed' })
        .option('recovery-timeout-ms', { type: 'number', default: 30_000, describe: 'fail when writes do not resume, or the cluster is not whole again, within this long after a fault' })
        .option('kinds', {
          type: 'string',
          describe:
            'comma list of fault kinds (default: kill-leader, kill-follower, pause-leader, cut-link, cut-zk, wipe-restart, kill-follower-after-failover, restart-both, wipe-both; ' +
            'with --zk-ensemble also kill-zk, pause-zk, expire-session; with --net netns kill-leader, kill-follower, pause-leader, wipe-restart, partition-voters, partition-leader, partition-clients, latency, loss, restart-both, wipe-both)',
        })
        .option('zk-ensemble', { type: 'number', default: 1, describe: 'ZooKeeper servers to start on loopback: 1 (standalone) or an ensemble of 3, 5 or 7, whose servers kill-zk and pause-zk kill and stop (not with --net netns)' })
        .option('net', { type: 'string', default: 'loopback', choices: ['loopback', 'netns'], describe: 'netns: each voter in its own network namespace, with packet-level faults (root, ip, nft)' })
        .option('clients', { type: 'number', default: 8, describe: 'concurrent clients, each with its own connection' })
        .option('out', { type: 'string', default: 'chaos-out', describe: 'folder for result.json and report.html' })
        .option('keep-logs', { type: 'boolean', default: false, describe: 'keep the nodes\' logs and data in OUT/cluster' })
        .option('think-ms', { type: 'number', default: 2, describe: 'pause between two calls of one client (ms)' })
        .option('listeners', { type: 'number', default: 0, describe: 'run this many listeners beside the voters (0..8): adds the kinds kill-listener and kill-upstream, and checks their final state against the voters\'' })
        .option('node-args', { type: 'string', describe: 'extra arguments for every node, e.g. "--snapshot-every-entries 2000"' })
        .option('zk-budget-bytes', { type: 'number', describe: 'the voters\' --zk-budget-bytes (default: theirs, 64 MiB); the run fails when the cluster keeps more in ZooKeeper (wal/ and snapshots/, sampled every 15 s)' })
        .option('broken', { type: 'string', hidden: true, describe: 'test only: run a deliberately broken build (see src/cli/broken-node.ts)' }),
    run(
      async (
        a: CommonArgs & {
          seed: number;
          failovers: number;
          minutes: number;
          'recovery-timeout-ms': number;
          kinds?: string;
          net: string;
          clients: number;
          out: string;
          'keep-logs': boolean;
          'think-ms': number;
          'zk-ensemble': number;
          listeners: number;
          'node-args'?: string;
          'zk-budget-bytes'?: number;
          broken?: string;
        },
      ) => {
        // Loaded on demand: the charting libraries take a while to load, and every other
        // command (a node restarting in a failover among them) would pay for it.
        const budget = a['zk-budget-bytes'];
        if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 1)) throw new InvalidArgumentError('--zk-budget-bytes must be a positive integer');
        const nodeArgs = a['node-args'] ? a['node-args'].split(' ').filter(Boolean) : [];
        const chaos = await import('../harness/chaos/index.js');
        const net = a.net === 'netns' ? 'netns' : 'loopback';
        const { result, failures } = await chaos.runChaos({
          ...chaos.CHAOS_DEFAULTS,
          seed: a.seed,
          failovers: a.failovers,
          minutes: a.minutes,
          recoveryTimeoutMs: a['recovery-timeout-ms'],
          kinds: a.kinds ? chaos.parseFaultKinds(a.kinds, net) : chaos.defaultKinds(net, a['zk-ensemble'], a.listeners),
          listeners: a.listeners,
          net,
          zkServers: a['zk-ensemble'],
          clients: a.clients,
          outDir: a.out,
          keepLogs: a['keep-logs'],
          thinkMs: a['think-ms'],
          // The voters keep to the budget; the run checks that they did.
          nodeArgs: budget === undefined ? nodeArgs : [...nodeArgs, '--zk-budget-bytes', String(budget)],
          ...(budget === undefined ? {} : { zkDataBoundBytes: budget }),
          ...(a.broken ? { brokenBuild: brokenBuildNames(a.broken) } : {}),
          env: zooKeeperEnv(),
          print: printLine,
          json: a.json,
        });
        if (a.json) printJson(result);
        if (failures.length > 0) throw new Error(`chaos run failed: ${failures.join('; ')}`);
      },
    ),
  );
}
