// duoraft zk inspect: what the cluster keeps in ZooKeeper, counted from ZooKeeper itself
// (inspectZk: one stat per znode, bounded), against the budget (--zk-budget-bytes, the
// node's setting: give it the node's config file to compare with the bound the nodes keep).
// Needs no running node.
import { UnauthenticatedError, UnavailableError, ZkUnavailableError } from '../common/errors.js';
import { realClock } from '../common/real-clock.js';
import { silentLogger } from '../common/logger.js';
import { ClusterPaths } from '../coordination/layout.js';
import { ZkError } from '../coordination/zk-api.js';
import { connectZk } from '../coordination/zk-client.js';
import { inspectZk, type UsageGroup, type ZkUsage } from '../coordination/zk-inspect.js';
import { formatBytes } from '../server/zk-budget.js';
import type { CommandSpec } from './config/command-config.js';
import { commonSettings, type SettingValues, zkBudgetSetting } from './config/settings.js';
import { printJson, printLine, printTable } from './output.js';
import { securityProblems, zkAuthOf } from './security-options.js';

export const zkInspectSettings = {
  ...commonSettings,
  'zk-budget-bytes': zkBudgetSetting,
} as const;

export type ZkInspectArgs = SettingValues<typeof zkInspectSettings>;

export const zkInspectSpec: CommandSpec = { schema: zkInspectSettings, rules: (v) => securityProblems(v, 'client') };

/** The groups in the order the report lists them. */
const GROUPS: readonly UsageGroup[] = ['root', 'epoch', 'leader', 'lease', 'tail', 'config', 'members', 'wal', 'snapshots', 'other'];

export interface BudgetVerdict {
  readonly budgetBytes: number;
  readonly usedBytes: number;
  readonly percent: number;
  /** Used is past the budget. */
  readonly over: boolean;
}

export function budgetVerdict(usage: ZkUsage, budgetBytes: number): BudgetVerdict {
  return { budgetBytes, usedBytes: usage.budgetBytes, percent: Math.round((1000 * usage.budgetBytes) / budgetBytes) / 10, over: usage.budgetBytes > budgetBytes };
}

export async function zkInspectCommand(args: ZkInspectArgs): Promise<void> {
  const paths = new ClusterPaths(args.cluster);
  const auth = zkAuthOf(args);
  const zk = connectZk({ connectString: args.zk, sessionTimeoutMs: 10_000, logger: silentLogger, ...(auth ? { auth } : {}) });
  try {
    const wait = Math.min(args.timeout, 5000);
    try {
      await zk.waitConnected(wait);
    } catch (err) {
      throw new ZkUnavailableError(`cannot reach ZooKeeper at ${args.zk} within ${wait} ms`, { cause: err });
    }
    if ((await zk.exists(paths.root)) === null) {
      throw new UnavailableError(`no duoraft cluster named ${JSON.stringify(args.cluster)} in ZooKeeper at ${args.zk}: start a node first (or check --cluster)`);
    }
    let usage: ZkUsage;
    try {
      usage = await inspectZk(zk, paths, { clock: realClock, deadlineMs: args.timeout });
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_AUTH') {
        throw new UnauthenticatedError(`ZooKeeper refused to read ${err.path} (NO_AUTH): give the credentials the nodes use (--zk-user/--zk-password)`, { cause: err });
      }
      throw err;
    }
    const budget = budgetVerdict(usage, args['zk-budget-bytes']);
    if (args.json) {
      printJson({ ...usage, budget });
      return;
    }
    printReport(usage, budget);
  } finally {
    await zk.close();
  }
}

function printReport(u: ZkUsage, b: BudgetVerdict): void {
  printLine(`cluster ${u.cluster}: ${u.totalZnodes} znodes, ${formatBytes(u.totalDataBytes)} of data${u.complete ? '' : ' (partly estimated: the count ran out of time)'}`);
  printTable(
    GROUPS.map((g) => ({ group: g, znodes: u.groups[g].znodes, bytes: u.groups[g].dataBytes, size: `${formatBytes(u.groups[g].dataBytes)}${u.groups[g].estimated ? ' (estimated)' : ''}` })),
    ['group', 'znodes', 'bytes', 'size'],
  );
  const w = u.wal;
  printLine(
    `wal: ${w.segments} segments, ${formatBytes(w.dataBytes)}; the log in ZooKeeper starts at index ${w.firstSegmentIndex}` +
      `${w.compactedThroughSnapshot > 0 ? ` (compacted through snapshot ${w.compactedThroughSnapshot})` : ' (never compacted)'}, tail at ${w.tailLastIndex}`,
  );
  printLine(
    u.sessions.length === 0
      ? 'sessions: none holds an ephemeral znode of the cluster (no member is up)'
      : `sessions: ${u.sessions.map((x) => `0x${x.session} (${x.znodes.join(', ')})`).join('; ')}`,
  );
  if (u.snapshots.length === 0) printLine('snapshots: none');
  else {
    printTable(
      u.snapshots.map((s) => ({ snapshot: s.index, state: s.state, term: s.term ?? '', chunks: s.chunks, bytes: s.dataBytes, size: formatBytes(s.dataBytes) })),
      ['snapshot', 'state', 'term', 'chunks', 'bytes', 'size'],
    );
  }
  const verdict = `${formatBytes(b.usedBytes)} of ${formatBytes(b.budgetBytes)} (${b.percent}%)`;
  printLine(b.over ? `budget (wal + snapshots): OVER: ${verdict}` : `budget (wal + snapshots): ${verdict}`);
}
