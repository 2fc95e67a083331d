// duoraft admin snapshot: a member takes a snapshot of its state machine now (the leader, or
// the member at --address) and says which index it covers and how large it is. On the
// leader it is also uploaded to ZooKeeper and the log there compacted behind it, within the
// budget; a refused upload (the state too large for --zk-budget-bytes) is said on stderr.
import { HOST_PORT_FORMAT, parseHostPort } from '../common/host-port.js';
import { connect } from '../client/client.js';
import { formatBytes } from '../server/zk-budget.js';
import type { CommandSpec } from './config/command-config.js';
import { integerSetting, textSetting } from './config/setting.js';
import { commonSettings, type SettingValues } from './config/settings.js';
import { printJson, printLine } from './output.js';
import { clientSecurityOf, securityProblems } from './security-options.js';

export const snapshotSettings = {
  ...commonSettings,
  address: textSetting({
    describe: 'the member to take it (its --listen or --advertise address; default: the leader)',
    accepts: HOST_PORT_FORMAT,
    flagOnly: true,
    check: (text) => {
      const parsed = parseHostPort(text);
      return 'problem' in parsed ? parsed.problem : true;
    },
  }),
  // Writing and uploading a large state takes seconds: a longer default than the other commands'.
  timeout: integerSetting({ describe: 'how long to wait for the snapshot (and, on the leader, its upload)', min: 1, max: 3_600_000, unit: 'ms', default: 120_000 }),
} as const;

export type SnapshotArgs = SettingValues<typeof snapshotSettings>;

export const snapshotSpec: CommandSpec = { schema: snapshotSettings, rules: (v) => securityProblems(v, 'client') };

const PUBLISH_SAID: Readonly<Record<string, string>> = {
  published: 'uploaded to ZooKeeper; the log there is compacted behind it',
  'not-leader': 'kept locally (only the leader uploads to ZooKeeper)',
  'over-budget': 'NOT uploaded to ZooKeeper: the state is too large for its budget',
};

export async function snapshotCommand(args: SnapshotArgs): Promise<void> {
  const c = await connect({ zk: args.zk, cluster: args.cluster, deadlineMs: args.timeout, sessions: false, ...(await clientSecurityOf(args)) });
  try {
    const r = await c.takeSnapshot({ ...(args.address !== undefined ? { address: args.address } : {}), deadlineMs: args.timeout });
    if (args.json) {
      printJson(r);
    } else {
      printLine(`snapshot at index ${r.index} (term ${r.term}), ${formatBytes(r.sizeBytes)} (${r.sizeBytes} bytes), taken by ${r.memberId} in ${r.tookMs} ms; ${PUBLISH_SAID[r.publish] ?? r.publish}`);
      const b = r.zkBudget;
      if (b) printLine(`ZooKeeper budget: ${formatBytes(b.usedBytes)} of ${formatBytes(b.budgetBytes)} used${b.mode === 'normal' ? '' : ` (${b.mode})`}`);
    }
    if (r.zkBudget?.over) {
      process.stderr.write(`duoraft: warning: ZK_BUDGET_EXCEEDED: ${r.zkBudget.reason}; put, incr and cas are refused until deletes shrink the state or --zk-budget-bytes is raised\n`);
    }
  } finally {
    await c.close();
  }
}
