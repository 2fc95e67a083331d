// duoraft fuzz: hostile input against a cluster of its own (src/harness/fuzz), under a
// checked load. Registered by cli.ts; the harness is loaded only when the command runs.
import type { Argv } from 'yargs';
import { InvalidArgumentError } from '../common/errors.js';
import type { FuzzTarget } from '../harness/fuzz/index.js';
import type { CommonArgs } from './common-options.js';
import { zooKeeperEnv } from './extra-commands.js';
import { printJson, printLine } from './output.js';

type Runner = <A>(fn: (args: A) => Promise<void>) => (args: A) => Promise<void>;

interface FuzzArgs extends CommonArgs {
  seed: number;
  seconds: number;
  rounds: number;
  targets?: string;
  clients: number;
  'think-ms': number;
  'recovery-timeout-ms': number;
  out?: string;
  'keep-logs': boolean;
}

export function fuzzCommand(parser: Argv<CommonArgs>, run: Runner): Argv<CommonArgs> {
  return parser.command(
    'fuzz',
    'start ZooKeeper and two voters, send hostile peer messages, client requests, WAL files and znode values under a checked load; check nothing acknowledged is lost and no node crashes',
    (y) =>
      y
        .option('seed', { type: 'number', default: 1, describe: 'seed of every round\'s inputs (a failure prints the command that replays them)' })
        .option('seconds', { type: 'number', default: 60, describe: 'how long to run rounds (0: --rounds decides)' })
        .option('rounds', { type: 'number', default: 0, describe: 'how many rounds (0: as many as --seconds allows)' })
        .option('targets', { type: 'string', describe: 'comma list of peer, client, wal, znode (default: all)' })
        .option('clients', { type: 'number', default: 4, describe: 'recording clients of the checked load' })
        .option('think-ms', { type: 'number', default: 10, describe: 'pause between two calls of one load client (ms)' })
        .option('recovery-timeout-ms', { type: 'number', default: 30_000, describe: 'the cluster must be whole again within this long after each round' })
        .option('out', { type: 'string', describe: 'folder for fuzz-result.json' })
        .option('keep-logs', { type: 'boolean', default: false, describe: 'keep the nodes\' logs and data in OUT/cluster' }),
    run(async (a: FuzzArgs) => {
      const fuzz = await import('../harness/fuzz/index.js');
      let targets: readonly FuzzTarget[];
      try {
        targets = a.targets ? fuzz.parseFuzzTargets(a.targets) : fuzz.FUZZ_TARGETS;
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      const { result } = await fuzz.runFuzz({
        ...fuzz.FUZZ_DEFAULTS,
        seed: a.seed,
        seconds: a.seconds,
        rounds: a.rounds,
        targets,
        clients: a.clients,
        thinkMs: a['think-ms'],
        recoveryTimeoutMs: a['recovery-timeout-ms'],
        ...(a.out ? { outDir: a.out } : {}),
        keepLogs: a['keep-logs'],
        env: zooKeeperEnv(),
        print: printLine,
        json: a.json,
      });
      if (a.json) printJson(result);
      if (result.failures.length > 0) throw new Error(`fuzz run failed (seed ${result.seed}; replay: ${result.replay}): ${result.failures.join('; ')}`);
    }),
  );
}
