// Options every command takes. yargs reads DUORAFT_* environment variables for them
// (DUORAFT_ZK, DUORAFT_CLUSTER, ...): the CLI is the only reader of the environment.
import type { Argv } from 'yargs';

export interface CommonArgs {
  zk: string;
  cluster: string;
  json: boolean;
  'log-level': string;
  timeout: number;
}

export function withCommonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('zk', { type: 'string', default: '127.0.0.1:2181', describe: 'ZooKeeper connect string (env DUORAFT_ZK)', global: true })
    .option('cluster', { type: 'string', default: 'default', describe: 'cluster name (env DUORAFT_CLUSTER)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON', global: true })
    .option('log-level', { type: 'string', default: 'warn', describe: 'log level: trace, debug, info, warn, error (env DUORAFT_LOG_LEVEL)', global: true })
    .option('timeout', { type: 'number', default: 10_000, describe: 'overall deadline of a client call in ms, retries included', global: true }) as Argv<T & CommonArgs>;
}
