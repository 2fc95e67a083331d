// The duoraft command line: every command, its flags and their checks. src/cli is the only
// part of duoraft that reads process.argv and the environment (main.ts, broken-node.ts).
import yargs, { type Argv } from 'yargs';
import type { ReadConsistency } from '../client/client.js';
import { withCommonOptions, type CommonArgs } from './common-options.js';
import { configMiddleware, ConfigProblemsError, declareSettings, type CommandSpec } from './config/command-config.js';
import { commonSettings, nodeSettings } from './config/settings.js';
import { configCheckCommand } from './config-command.js';
import { casCommand, delCommand, getCommand, incrCommand, putCommand, statusCommand, transferLeaderCommand } from './kv-commands.js';
import { casSettings, getSettings, incrSettings, kvCommandSpecs, promoteSettings, putSettings, removeListenerSettings, transferSettings } from './kv-settings.js';
import { demoteCommand, dropListenerCommand, promoteCommand, removeListenerCommand } from './listener-commands.js';
import { type NodeArgs, nodeCommand, nodeSpec } from './node-command.js';
import { EXIT_FAILED, EXIT_USAGE, failureLine } from './output.js';
import { extraCommands } from './extra-commands.js';
import { fuzzCommand } from './fuzz-command.js';
import { secureZkCommand } from './secure-zk-command.js';
import { type RestoreZkArgs, restoreZkCommand, restoreZkSettings, restoreZkSpec } from './restore-zk-command.js';
import { watchSpec, withWatchCommand } from './watch-command.js';
import { type HealthArgs, healthCommand, healthSettings, healthSpec } from './health-command.js';
import { type SnapshotArgs, snapshotCommand, snapshotSettings, snapshotSpec } from './snapshot-command.js';
import { type ZkInspectArgs, zkInspectCommand, zkInspectSettings, zkInspectSpec } from './zk-inspect-command.js';
import { joinPassThroughValues } from './pass-through-args.js';

/**
 * Runs a command handler: a failure becomes one line on stderr and exit code 1. A handler
 * may return its own exit code (health: 1 when the member is not serving).
 */
function run<A>(fn: (args: A) => Promise<void | number>): (args: A) => Promise<void> {
  return async (args: A) => {
    try {
      process.exitCode = (await fn(args)) ?? 0;
    } catch (err) {
      process.stderr.write(`${failureLine(err)}\n`);
      process.exitCode = EXIT_FAILED;
    }
  };
}

/** One line per problem, every problem at once; exit 2: nothing was started. */
function exitWithProblems(err: ConfigProblemsError): never {
  for (const problem of err.problems) process.stderr.write(`duoraft: CONFIG: ${problem}\n`);
  process.exit(EXIT_USAGE);
}

/** The spec of every command whose flags the schema checks, by command path. */
const specs = new Map<string, CommandSpec>([...kvCommandSpecs, ['node', nodeSpec], ['config check', nodeSpec], ['watch', watchSpec], ['health', healthSpec], ['admin snapshot', snapshotSpec], ['zk inspect', zkInspectSpec], ['admin restore-zk', restoreZkSpec]]);

const common = Object.keys(commonSettings);

/**
 * Whether this command line may print help: `--help` (also `--help=true`) or the `help`
 * command. A usage error prints no help (the .fail() handler below), and `-h` is no alias.
 */
function mayShowHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === 'help' || a === '--help' || a.startsWith('--help='));
}

export async function main(argv: string[]): Promise<void> {
  let parser: Argv<CommonArgs> = withCommonOptions(yargs(joinPassThroughValues(argv)))
    .scriptName('duoraft')
    // English whatever LANG says: our own messages are English, and yargs finds its
    // translations by a path relative to its own file, which the bundle (scripts/bundle.mjs)
    // moves; a locale taken from the environment would make the two builds answer differently.
    .detectLocale(false)
    // yargs only splits the command line: values stay text until the schema reads
    // them, so "-5", "abc" and "1e3" reach it as given.
    .parserConfiguration({ 'camel-case-expansion': false, 'parse-positional-numbers': false })
    .middleware(configMiddleware((path) => specs.get(path.join(' ')), commonSettings, process.env), true)
    .strict()
    .demandCommand(1, 'name a command')
    .recommendCommands()
    .help()
    .version(false)
    // yargs renders a command's help every time it runs the command (to cache it); wrapped
    // to the terminal, that took ~90 ms of every process start, a node's restart included.
    // Unwrapped it is cheap, so the width is set only when help may be shown.
    .wrap(mayShowHelp(argv) ? Math.min(110, process.stdout.columns || 100) : null)
    .fail((msg, err) => {
      if (err instanceof ConfigProblemsError) exitWithProblems(err);
      // One line, whatever yargs produced (its choices errors span several lines).
      const text = (msg || (err ? err.message : 'bad command line')).replace(/\s*\n\s*/g, ' ').trim();
      process.stderr.write(`duoraft: usage: ${text} (see duoraft --help)\n`);
      process.exit(EXIT_USAGE);
    })
    .command(
      'node',
      'run a voter until SIGTERM (a leader hands over to its follower first)',
      (y) => declareSettings(y, nodeSettings, { skip: common }),
      run((a) => nodeCommand(a as unknown as NodeArgs)),
    )
    .command('config', 'configuration', (y) =>
      y
        .command(
          'check',
          "check a node's configuration (the same flags, environment and file as duoraft node) and print it with each value's source; exit 2 if wrong",
          (z) => declareSettings(z, nodeSettings, { skip: common }),
          run((a) => configCheckCommand(a)),
        )
        .demandCommand(1, 'name a config command'),
    )
    .command(
      'put <key> [value]',
      'write a value (or read it with --stdin or --value-file)',
      (y) => declareSettings(y.positional('key', { type: 'string', demandOption: true }).positional('value', { type: 'string' }), putSettings, { skip: common }),
      run((a) => putCommand(a as unknown as CommonArgs & { key: string; value?: string; stdin: boolean; 'value-file'?: string })),
    )
    .command(
      'get <key>',
      'read a value: text on a terminal, its exact bytes to a pipe or file; --json adds valueBase64',
      (y) => declareSettings(y.positional('key', { type: 'string', demandOption: true }), getSettings, { skip: common }),
      run((a) => getCommand(a as unknown as CommonArgs & { key: string; consistency: ReadConsistency; 'min-index': number })),
    )
    .command(
      'del <key>',
      'delete a key',
      (y) => y.positional('key', { type: 'string', demandOption: true }),
      run((a) => delCommand(a as CommonArgs & { key: string })),
    )
    .command(
      'incr <key> [delta]',
      'add DELTA (default 1, negative subtracts) to an integer value atomically; prints the new value',
      (y) =>
        y
          .positional('key', { type: 'string', demandOption: true })
          .positional('delta', { type: 'string', describe: incrSettings.delta.accepts }),
      run((a) => incrCommand(a as unknown as CommonArgs & { key: string; delta: number })),
    )
    .command(
      'cas <key> <a> [b]',
      'compare-and-set: cas KEY EXPECTED NEW sets NEW if the value is EXPECTED; cas KEY --absent NEW creates it if absent',
      (y) =>
        declareSettings(
          y
            .positional('key', { type: 'string', demandOption: true })
            .positional('a', { type: 'string', demandOption: true, describe: 'EXPECTED (or NEW with --absent)' })
            .positional('b', { type: 'string', describe: 'NEW' }),
          casSettings,
          { skip: common },
        ),
      run((a) => casCommand(a as unknown as CommonArgs & { key: string; a: string; b?: string; absent: boolean })),
    )
    .command(
      'health',
      'ask one member whether it can do its role (gRPC health Check): prints SERVING or NOT_SERVING, exit 0 only when SERVING',
      // Its --timeout is its own (a shorter default): declared again so --help says so.
      (y) => declareSettings(y, healthSettings, { skip: common.filter((flag) => flag !== 'timeout') }),
      run((a) => healthCommand(a as unknown as HealthArgs)),
    )
    .command(
      'status',
      "show every member: role, term, commit and applied index, newest snapshot, leader, address; and what ZooKeeper holds against its budget",
      (y) => y,
      run((a) => statusCommand(a)),
    )
    .command('zk', 'what the cluster keeps in ZooKeeper', (y) =>
      y
        .command(
          'inspect',
          "the cluster's znodes with counts and sizes (epoch, leader, lease, tail, segments, snapshots, sessions) and the total against --zk-budget-bytes; needs no running node",
          (z) => declareSettings(z, zkInspectSettings, { skip: common }),
          run((a) => zkInspectCommand(a as unknown as ZkInspectArgs)),
        )
        .demandCommand(1, 'name a zk command'),
    )
    .command('admin', 'administration', (y) =>
      y
        .command(
          'transfer-leader',
          'hand leadership to the other voter (in-flight writes move with it)',
          (z) => declareSettings(z, transferSettings, { skip: common }),
          run((a) => transferLeaderCommand(a as unknown as CommonArgs & { to?: string })),
        )
        .command(
          'snapshot',
          'a member (the leader, or --address) takes a snapshot now; prints its index and size (the leader also uploads it to ZooKeeper)',
          // Its --timeout is its own (a longer default): declared again so --help says so.
          (z) => declareSettings(z, snapshotSettings, { skip: common.filter((flag) => flag !== 'timeout') }),
          run((a) => snapshotCommand(a as unknown as SnapshotArgs)),
        )
        .command(
          'secure-zk',
          'give /duoraft and the cluster tree the owner-only ACL of --zk-user/--zk-password (for a tree created without credentials)',
          (z) => z,
          run((a) => secureZkCommand(a)),
        )
        .command(
          'promote <listener>',
          'make a listener a voter in place of a dead voter (--replace VOTER): one compare-and-set on the config znode, refused while that voter is alive',
          (z) => declareSettings(z.positional('listener', { type: 'string', demandOption: true }), promoteSettings, { skip: common }),
          run((a) => promoteCommand(a as unknown as CommonArgs & { listener: string; replace?: string })),
        )
        .command(
          'demote <id>',
          'make a voter a listener (the cluster keeps its other voter); refused for the last voter',
          (z) => z.positional('id', { type: 'string', demandOption: true }),
          run((a) => demoteCommand(a as CommonArgs & { id: string })),
        )
        .command(
          'drop-listener <id>',
          'make the member that feeds listener ID drop it (the listener then chooses its upstream again)',
          (z) => z.positional('id', { type: 'string', demandOption: true }),
          run((a) => dropListenerCommand(a as CommonArgs & { id: string })),
        )
        .command(
          'remove-listener <id>',
          'remove a listener that is gone for good from the config znode (refused while it runs; stop it first: a listener still starting, or started again, registers itself again)',
          (z) => declareSettings(z.positional('id', { type: 'string', demandOption: true }), removeListenerSettings, { skip: common }),
          run((a) => removeListenerCommand(a as unknown as CommonArgs & { id: string; strict: boolean })),
        )
        .command(
          'restore-zk',
          "re-seed ZooKeeper from a stopped node's data folder after ZooKeeper lost the cluster (ZK_DATA_LOST): verifies the folder, shows what may be lost, asks, writes",
          (z) => declareSettings(z, restoreZkSettings, { skip: common }),
          run((a) => restoreZkCommand(a as unknown as RestoreZkArgs)),
        )
        .demandCommand(1, 'name an admin command'),
    );
  parser = withWatchCommand(extraCommands(parser, run), run);
  parser = fuzzCommand(parser, run);
  await parser.parseAsync();
}

export function runMain(argv: string[]): void {
  main(argv)
    .catch((err: unknown) => {
      // The config middleware's problems arrive here when yargs runs it asynchronously.
      if (err instanceof ConfigProblemsError) exitWithProblems(err);
      process.stderr.write(`${failureLine(err)}\n`);
      process.exitCode = EXIT_FAILED;
    })
    .then(flushOutput)
    .finally(() => {
      // Every command has closed what it opened by now. Exit explicitly anyway: after a run
      // that SIGKILLed children and cut sockets, Node 20 can spin at 100% CPU in its own
      // exit-time handle clean-up (node::Environment::CleanupHandles) instead of exiting.
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
}

/**
 * Waits until what was written to stdout has left the process (bounded): a large value
 * to a pipe whose reader is slower than us would otherwise be cut short by the exit
 * (seen with 350 kB of JSON: the reader got 219 kB).
 */
function flushOutput(): Promise<void> {
  return new Promise((resolve) => {
    const bound = setTimeout(resolve, 30_000);
    process.stdout.write('', () => {
      clearTimeout(bound);
      resolve();
    });
  });
}
