// duoraft admin restore-zk: re-seeds ZooKeeper from a stopped node's data folder after
// ZooKeeper lost the cluster's data (the nodes stop with ZK_DATA_LOST). Like `etcdutl
// snapshot restore` it runs offline against the folder (--data-dir), verifies it (WAL
// checksums, snapshot digests, the hash chain), shows what it found, what ZooKeeper holds
// and what may be lost, asks (unless --yes), and writes the tree through the code the
// nodes write it with (src/coordination/cluster-restore.ts). The folder is only read.
import { createInterface } from 'node:readline';
import { RestoreRefusedError, ZkUnavailableError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { realClock } from '../common/real-clock.js';
import { deleteTree, inspectTree, type TreeFound, writeRestoredTree } from '../coordination/cluster-restore.js';
import { ClusterPaths, isValidMemberId } from '../coordination/layout.js';
import { connectZk } from '../coordination/zk-client.js';
import { defaultLimits } from '../server/node-config.js';
import { type FolderReport, readDataFolder } from '../server/data-folder-report.js';
import { decideRestore, type RestoreDecision } from '../server/restore-plan.js';
import { readFileChunks } from '../storage/snapshot-files.js';
import type { CommonArgs } from './common-options.js';
import type { CommandSpec } from './config/command-config.js';
import { booleanSetting, listSetting, textSetting } from './config/setting.js';
import { commonSettings } from './config/settings.js';
import { printJson, printLine } from './output.js';
import { securityProblems, type SecurityArgs, zkAuthOf } from './security-options.js';

const flagOnly = true;

export const restoreZkSettings = {
  ...commonSettings,
  'data-dir': textSetting({ describe: "the data folder of the most advanced node (its --data), stopped; only read", accepts: 'a folder name', required: true, flagOnly }),
  'compare-data-dir': textSetting({ describe: "the other node's data folder: its hash chain is compared with --data-dir's before anything is written", accepts: 'a folder name', flagOnly }),
  yes: booleanSetting({ describe: 'write without asking', default: false, flagOnly }),
  force: booleanSetting({ describe: 'restore although the folders disagree, the other holds more, ZooKeeper holds a tree of another identity with data, or a live tree (to rewrite segments that do not verify); check by hand first', default: false, flagOnly }),
  voters: listSetting({
    describe: 'the voters the config znode names (default: none; the first two nodes to start register, as on a new cluster)',
    accepts: 'ID1,ID2: two different voter ids',
    check: (ids) => ids.length === 2 && ids[0] !== ids[1] && ids.every(isValidMemberId),
    flagOnly,
  }),
} as const;

function restoreRules(v: Readonly<Record<string, unknown>>): string[] {
  const same = v['compare-data-dir'] !== undefined && v['compare-data-dir'] === v['data-dir'];
  return [...securityProblems(v, 'client'), ...(same ? ["--compare-data-dir is the other node's folder, not --data-dir again"] : [])];
}

export const restoreZkSpec: CommandSpec = { schema: restoreZkSettings, rules: restoreRules };

export type RestoreZkArgs = CommonArgs &
  SecurityArgs & { 'data-dir': string; 'compare-data-dir'?: string; yes: boolean; force: boolean; voters?: readonly string[] };

const ZK_CONNECT_MS = 10_000;

export async function restoreZkCommand(args: RestoreZkArgs): Promise<void> {
  const paths = new ClusterPaths(args.cluster);
  const say = (text: string): void => {
    if (!args.json) printLine(text);
  };
  const folder = await readDataFolder(args['data-dir'], args.cluster);
  const other = args['compare-data-dir'] !== undefined ? await readDataFolder(args['compare-data-dir'], args.cluster) : null;
  say(describeFolder('this folder', folder));
  if (other) say(describeFolder('the other folder', other));

  const zk = connectZk({ connectString: args.zk, sessionTimeoutMs: 10_000, logger: silentLogger, ...withAuth(args) });
  try {
    try {
      await zk.waitConnected(ZK_CONNECT_MS);
    } catch (err) {
      throw new ZkUnavailableError(`cannot reach ZooKeeper at ${args.zk} within ${ZK_CONNECT_MS} ms`, { cause: err });
    }
    const tree = await inspectTree(zk, paths);
    say(`ZooKeeper (${args.zk}) at ${paths.root}: ${describeTree(tree, folder)}`);
    const decision = decideRestore({ folder, other, tree, force: args.force });
    if (!args.json) printPlan(folder, decision, paths);
    if (!args.yes && !(await confirmed(args.json))) throw new RestoreRefusedError('not-confirmed', 'not confirmed (answer "yes", or pass --yes)');

    if (decision.replaces !== null) {
      const deleted = await deleteTree(zk, paths.root);
      say(`deleted the old tree: ${deleted} znodes`);
    }
    const s = folder.snapshot;
    await writeRestoredTree(
      { zk, paths, clock: realClock, logger: silentLogger, maxSegmentBytes: defaultLimits.maxSegmentBytes, onProgress: say },
      {
        identity: folder.identity,
        epochTerm: decision.epochTerm,
        voters: args.voters ?? [],
        entries: folder.entries,
        snapshot: s ? { point: s.point, sizeBytes: s.sizeBytes, sha256: Buffer.from(s.sha256, 'hex'), chunks: () => readFileChunks(s.file, 1 << 20) } : null,
      },
    );
    if (args.json) printJson({ ...jsonReport(folder, other, tree, decision), restored: true });
    else say(`restored: ${paths.root} holds the log up to index ${folder.lastIndex} under epoch term ${decision.epochTerm}. Start the nodes with their data folders.`);
  } finally {
    await zk.close();
  }
}

function withAuth(args: SecurityArgs): { auth?: { user: string; password: string } } {
  const auth = zkAuthOf(args);
  return auth ? { auth } : {};
}

function hex(c: Uint8Array | undefined | null): string {
  return c ? Buffer.from(c).toString('hex') : '(not held)';
}

function describeFolder(label: string, f: FolderReport): string {
  const lines = [
    `${label}: ${f.dataDir}`,
    `  cluster ${JSON.stringify(f.identity.cluster)}, identity ${f.identity.clusterId}`,
    `  snapshot: ${f.snapshot ? `index ${f.snapshot.point.index}, term ${f.snapshot.point.term}, ${f.snapshot.sizeBytes} bytes (${f.snapshot.file})` : 'none'}`,
    `  log: last index ${f.lastIndex}, last term ${f.lastTerm}; highest term seen ${f.maxTerm}`,
    `  commit index known here: ${f.commitIndex}; chain value there: ${hex(f.chainAt(f.commitIndex))}`,
    `  verified: WAL checksums, snapshot digest, hash chain through index ${f.lastIndex}`,
  ];
  for (const w of f.warnings) lines.push(`  note: ${w}`);
  return lines.join('\n');
}

function describeTree(tree: TreeFound, folder: FolderReport): string {
  if (tree.kind === 'none') return 'nothing (the tree is gone)';
  if (tree.kind === 'unreadable') return `a tree whose identity does not verify: ${tree.problem}`;
  const same = tree.identity.clusterId === folder.identity.clusterId;
  const who = same ? 'this identity' : `another identity (${tree.identity.clusterId})`;
  const registered = tree.members.length > 0 ? `; registered members: ${tree.members.join(', ')}` : '';
  if (tree.restoring) return `a tree of ${who} left by a restore that did not finish${registered}`;
  if (!tree.state) return `a partial tree of ${who} (${tree.problem})${registered}`;
  return `a tree of ${who}: epoch term ${tree.state.epoch.term}, tail at index ${tree.state.tail.lastIndex}, ${tree.snapshots} snapshots${registered}`;
}

function printPlan(folder: FolderReport, d: RestoreDecision, paths: ClusterPaths): void {
  if (d.comparison) {
    const c = d.comparison;
    printLine(
      c.index === null
        ? `compared with ${c.otherDir}: no common index to compare`
        : `compared with ${c.otherDir} at index ${c.index}: ${c.agree ? 'the chains agree' : 'THE CHAINS DIFFER'} (${hex(c.thisChain)} / ${hex(c.otherChain)})${c.otherAhead ? '; the other folder holds more' : ''}`,
    );
  }
  printLine('what may be lost:');
  for (const line of d.mayBeLost) printLine(`  - ${line}`);
  printLine('the restore will:');
  if (d.replaces) printLine(`  - delete what ZooKeeper holds at ${paths.root}: ${d.replaces}`);
  const first = folder.entries[0]?.index;
  printLine(`  - create ${paths.root} with identity ${folder.identity.clusterId} and the epoch at term ${d.epochTerm}`);
  if (first !== undefined) printLine(`  - write the log ${first}..${folder.lastIndex} (${folder.entries.length} entries)`);
  if (folder.snapshot) printLine(`  - upload the snapshot at index ${folder.snapshot.point.index}`);
}

function jsonReport(folder: FolderReport, other: FolderReport | null, tree: TreeFound, d: RestoreDecision): object {
  const f = (r: FolderReport): object => ({
    dataDir: r.dataDir,
    clusterId: r.identity.clusterId,
    snapshotIndex: r.snapshot?.point.index ?? 0,
    lastIndex: r.lastIndex,
    lastTerm: r.lastTerm,
    commitIndex: r.commitIndex,
    chainAtCommit: hex(r.chainAt(r.commitIndex)),
    warnings: r.warnings,
  });
  return {
    folder: f(folder),
    ...(other ? { other: f(other) } : {}),
    zookeeper: tree.kind === 'tree' ? { kind: tree.restoring ? 'restoring' : tree.state ? 'tree' : 'partial', clusterId: tree.identity.clusterId, tail: tree.state?.tail.lastIndex ?? null } : { kind: tree.kind },
    epochTerm: d.epochTerm,
    replaces: d.replaces,
    comparison: d.comparison ? { index: d.comparison.index, agree: d.comparison.agree, otherAhead: d.comparison.otherAhead } : null,
    mayBeLost: d.mayBeLost,
  };
}

/** One line from stdin: "yes" (bounded: 10 minutes, then no). */
function confirmed(json: boolean): Promise<boolean> {
  if (!json) process.stdout.write('write this tree to ZooKeeper? type yes to go on: ');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    let done = false;
    const finish = (answer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rl.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), 600_000);
    rl.once('line', (line) => finish(line.trim().toLowerCase() === 'yes'));
    rl.once('close', () => finish(false));
  });
}
