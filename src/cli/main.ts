// The duoraft command line. The only module that reads process.argv and the environment.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { withCommonOptions, type CommonArgs } from './common-options.js';
import { casCommand, delCommand, getCommand, incrCommand, putCommand, statusCommand, transferLeaderCommand } from './kv-commands.js';
import { type NodeArgs, nodeCommand } from './node-command.js';
import { EXIT_FAILED, EXIT_USAGE, failureLine } from './output.js';
import { extraCommands } from './extra-commands.js';
import { secureZkCommand } from './secure-zk-command.js';
import { withSecurityOptions } from './security-options.js';

/** Runs a command handler: a failure becomes one line on stderr and exit code 1. */
function run<A>(fn: (args: A) => Promise<void>): (args: A) => Promise<void> {
  return async (args: A) => {
    try {
      await fn(args);
      process.exitCode = 0;
    } catch (err) {
      process.stderr.write(`${failureLine(err)}\n`);
      process.exitCode = EXIT_FAILED;
    }
  };
}

export async function main(argv: string[]): Promise<void> {
  let parser: Argv<CommonArgs> = withSecurityOptions(withCommonOptions(yargs(argv)))
    .scriptName('duoraft')
    .env('DUORAFT')
    .strict()
    .demandCommand(1, 'name a command')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // One line, whatever yargs produced (its choices errors span several lines).
      const text = (msg || (err ? err.message : 'bad command line')).replace(/\s*\n\s*/g, ' ').trim();
      process.stderr.write(`duoraft: usage: ${text} (see duoraft --help)\n`);
      process.exit(EXIT_USAGE);
    })
    .command(
      'node',
      'run a voter until SIGTERM (a leader hands over to its follower first)',
      (y) =>
        y
          .option('id', { type: 'string', demandOption: true, describe: 'this voter id (letters, digits, . _ -)' })
          .option('listen', { type: 'string', demandOption: true, describe: 'HOST:PORT to serve peers and clients on' })
          .option('advertise', { type: 'string', describe: 'HOST:PORT clients (and the peer) use to reach this node (default: --listen)' })
          .option('peer-advertise', { type: 'string', describe: 'HOST:PORT the other voter uses to reach this node (default: --advertise)' })
          .option('data', { type: 'string', demandOption: true, describe: 'data folder (local WAL)' })
          .option('voters', { type: 'string', describe: 'ID1,ID2: fix the two voters (default: the first two nodes to start)' })
          .option('zk-connect-timeout', { type: 'number', default: 15_000, describe: 'give up starting if ZooKeeper does not answer within this many ms' })
          .option('zk-session-timeout', { type: 'number', default: 4000, describe: 'ZooKeeper session timeout in ms' })
          .option('lease-window-ms', { type: 'number', describe: 'follower: lease unchanged this long before a take-over (default 150)' })
          .option('lease-duration-ms', { type: 'number', describe: 'leader: lease length after a touch (default 110)' })
          .option('lease-interval-ms', { type: 'number', describe: 'leader: lease touch interval (default 20)' })
          .option('election-timeout-ms', { type: 'number', describe: 'minimum election timeout (default 60)' })
          .option('heartbeat-ms', { type: 'number', describe: 'leader heartbeat interval (default 20)' })
          .option('max-value-bytes', { type: 'number', describe: 'largest value accepted (default 262144)' })
          .option('wal-sync-interval-ms', { type: 'number', describe: 'at most one fsync of the local WAL per this many ms (default 20)' })
          .option('max-pending-proposals', { type: 'number', describe: 'writes waiting for ZooKeeper at once; beyond it clients get BUSY (default 8192)' })
          .option('pause-lease-ms', { type: 'number', describe: 'an event-loop stall this long ends the lease at once (default 50)' })
          .option('pause-stepdown-ms', { type: 'number', describe: 'a stall this long makes the leader step down (default 300)' })
          .option('fault-ack-before-commit', { type: 'boolean', hidden: true })
          .option('fault-read-tail-before-fence', { type: 'boolean', hidden: true }),
      run((a) => nodeCommand(a as unknown as NodeArgs)),
    )
    .command(
      'put <key> [value]',
      'write a value (or read it with --stdin or --value-file)',
      (y) =>
        y
          .positional('key', { type: 'string', demandOption: true })
          .positional('value', { type: 'string' })
          .option('stdin', { type: 'boolean', default: false, describe: 'read the value from standard input' })
          .option('value-file', { type: 'string', describe: 'read the value from this file' }),
      run((a) => putCommand(a as CommonArgs & { key: string; value?: string; stdin: boolean; 'value-file'?: string })),
    )
    .command(
      'get <key>',
      'read a value',
      (y) =>
        y
          .positional('key', { type: 'string', demandOption: true })
          .option('consistency', { type: 'string', default: 'linearizable', choices: ['linearizable', 'lease', 'stale'] })
          .option('min-index', { type: 'number', default: 0, describe: 'stale reads: wait until the member applied this index' }),
      run((a) => getCommand(a as CommonArgs & { key: string; consistency: string; 'min-index': number })),
    )
    .command(
      'del <key>',
      'delete a key',
      (y) => y.positional('key', { type: 'string', demandOption: true }),
      run((a) => delCommand(a as CommonArgs & { key: string })),
    )
    .command(
      'incr <key> [delta]',
      'add DELTA (default 1) to an integer value atomically; prints the new value',
      (y) => y.positional('key', { type: 'string', demandOption: true }).positional('delta', { type: 'number', default: 1 }),
      run((a) => incrCommand(a as CommonArgs & { key: string; delta: number })),
    )
    .command(
      'cas <key> <a> [b]',
      'compare-and-set: cas KEY EXPECTED NEW sets NEW if the value is EXPECTED; cas KEY --absent NEW creates it if absent',
      (y) =>
        y
          .positional('key', { type: 'string', demandOption: true })
          .positional('a', { type: 'string', demandOption: true, describe: 'EXPECTED (or NEW with --absent)' })
          .positional('b', { type: 'string', describe: 'NEW' })
          .option('absent', { type: 'boolean', default: false, describe: 'set only if the key does not exist' }),
      run((a) => casCommand(a as CommonArgs & { key: string; a: string; b?: string; absent: boolean })),
    )
    .command('status', 'show every member: role, term, commit and applied index, leader, address', (y) => y, run((a) => statusCommand(a)))
    .command('admin', 'administration', (y) =>
      y
        .command(
          'transfer-leader',
          'hand leadership to the other voter (in-flight writes move with it)',
          (z) => z.option('to', { type: 'string', describe: 'the voter to hand over to (default: the other one)' }),
          run((a) => transferLeaderCommand(a as CommonArgs & { to?: string })),
        )
        .command(
          'secure-zk',
          'give /duoraft and the cluster tree the owner-only ACL of --zk-user/--zk-password (for a tree created without credentials)',
          (z) => z,
          run((a) => secureZkCommand(a)),
        )
        .demandCommand(1, 'name an admin command'),
    );
  parser = extraCommands(parser, run);
  await parser.parseAsync();
}

main(hideBin(process.argv))
  .catch((err: unknown) => {
    process.stderr.write(`${failureLine(err)}\n`);
    process.exitCode = EXIT_FAILED;
  })
  .finally(() => {
    // Every command has closed what it opened by now. Exit explicitly anyway: after a run
    // that SIGKILLed children and cut sockets, Node 20 can spin at 100% CPU in its own
    // exit-time handle clean-up (node::Environment::CleanupHandles) instead of exiting.
    // stdout and stderr are synchronous for files and pipes on Linux: nothing is lost.
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
