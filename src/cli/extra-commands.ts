// Commands that run whole scenarios (demo, bench, chaos): registered here so main.ts
// stays a list of the everyday commands.
import type { Argv } from 'yargs';
import { runDemo } from '../harness/demo.js';
import type { ZooKeeperEnv } from '../harness/zk-java.js';
import type { CommonArgs } from './common-options.js';
import { printLine } from './output.js';

type Runner = <A>(fn: (args: A) => Promise<void>) => (args: A) => Promise<void>;

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
        .option('settle-ms', { type: 'number', default: 1500, describe: 'writes between failovers (ms)' }),
    run(async (a: CommonArgs & { failovers: number; writers: number; 'settle-ms': number }) => {
      const result = await runDemo({
        failovers: a.failovers,
        writers: a.writers,
        settleMs: a['settle-ms'],
        json: a.json,
        env: zooKeeperEnv(),
        print: printLine,
      });
      if (result.lost > 0) throw new Error(`${result.lost} acknowledged writes were lost`);
    }),
  );
}
