// duoraft node: runs a voter until SIGTERM/SIGINT. A leader hands leadership to its
// follower before it exits (exit code 0). Its settings are nodeSettings
// (config/settings.ts), resolved and checked before anything starts.
import { isAbsolute, resolve } from 'node:path';
import type { TestFaults } from '../server/node-config.js';
import { defaultSnapshotPolicy } from '../server/snapshotter.js';
import { ConfigError, UnavailableError, ZkDataLostError } from '../common/errors.js';
import type { FatalKind } from '../server/node-driver.js';
import { runMember, runNodeOptionProblems, type RunNodeOptions } from '../server/run-node.js';
import type { MemberRole } from '../server/listener/role-watch.js';
import type { CommandSpec } from './config/command-config.js';
import { nodeSettings, type NodeValues } from './config/settings.js';
import { nodeSecurityOf, securityProblems } from './security-options.js';

export type NodeArgs = NodeValues;

/** What runNode takes, from the resolved settings (the TLS files and token are read by nodeSecurityOf). */
export function nodeOptionsFrom(v: NodeValues): RunNodeOptions {
  return {
    id: v.id,
    cluster: v.cluster,
    zk: v.zk,
    listen: v.listen,
    ...(v.advertise !== undefined ? { advertise: v.advertise } : {}),
    ...(v['peer-advertise'] !== undefined ? { peerAdvertise: v['peer-advertise'] } : {}),
    ...(v.metrics !== undefined ? { metrics: v.metrics } : {}),
    dataDir: isAbsolute(v.data) ? v.data : resolve(v.data),
    role: v.role === 'listener' ? 'listener' : 'voter',
    listenerFanout: v['listener-fanout'],
    ...(v.voters ? { voters: v.voters } : {}),
    timing: {
      leaseWindowMs: v['lease-window-ms'],
      leaseDurationMs: v['lease-duration-ms'],
      leaseIntervalMs: v['lease-interval-ms'],
      electionTimeoutMs: v['election-timeout-ms'],
      preVoteTimeoutMs: v['pre-vote-timeout-ms'],
      heartbeatMs: v['heartbeat-ms'],
      pauseLeaseMs: v['pause-lease-ms'],
    },
    limits: {
      maxValueBytes: v['max-value-bytes'],
      walSyncIntervalMs: v['wal-sync-interval-ms'],
      maxPendingProposals: v['max-pending-proposals'],
    },
    snapshotPolicy: {
      ...defaultSnapshotPolicy,
      everyEntries: v['snapshot-every-entries'],
      everyBytes: v['snapshot-every-bytes'],
      retainEntries: v['snapshot-retain-entries'],
      zkBudgetBytes: v['zk-budget-bytes'],
    },
    logLevel: v['log-level'],
    zkConnectTimeoutMs: v['zk-connect-timeout'],
    zkSessionTimeoutMs: v['zk-session-timeout'],
  };
}

/** The flags that set the NodeConfig fields a problem names: "... (set by --lease-duration-ms, --lease-window-ms)". */
function withFlags(problem: string): string {
  const flags = Object.entries(nodeSettings)
    .filter(([, s]) => s.fields.some((field) => new RegExp(`\\b${field}\\b`).test(problem)))
    .map(([flag]) => `--${flag}`);
  return flags.length > 0 ? `${problem} (set by ${flags.join(', ')})` : problem;
}

/** The rules between the node's settings: those of NodeConfig (notes/timing.md), and the CLI's own. */
export function nodeRules(values: Readonly<Record<string, unknown>>): string[] {
  const v = values as NodeValues;
  return [...securityProblems(v, 'node'), ...runNodeOptionProblems(nodeOptionsFrom(v)).map(withFlags)];
}

export const nodeSpec: CommandSpec = { schema: nodeSettings, rules: nodeRules };

/**
 * Faults that break a safety rule on purpose, so tests can show they are caught. Set only by
 * the test-only entry src/cli/broken-node.ts, never by a flag of the duoraft command.
 */
let testFaults: TestFaults | null = null;

export function injectTestFaults(faults: TestFaults): void {
  testFaults = faults;
}

export async function nodeCommand(args: NodeArgs): Promise<void> {
  const base: RunNodeOptions = { ...nodeOptionsFrom(args), ...(await nodeSecurityOf(args)), ...(testFaults ? { faults: testFaults } : {}) };
  let role = base.role ?? 'voter';
  // A member whose role the cluster configuration changes (promoted, demoted) is stopped
  // and started again in its new role, in this process, on the same port and data folder.
  for (;;) {
    // A voter started again after a role change takes its voters from ZooKeeper's config.
    const options: RunNodeOptions = role === base.role ? base : withoutVoters({ ...base, role });
    const outcome = await runUntilDone(options);
    if (outcome.kind === 'stopped') return;
    if (outcome.kind === 'fatal') {
      const f = outcome.fatal;
      if (f.what === 'zk-data-lost') throw new ZkDataLostError(f.reason);
      throw new UnavailableError(`${f.reason}; its local WAL was set aside: restart it to rebuild from ZooKeeper`);
    }
    if (outcome.to === null) {
      // A running listener that is unlisted registers again (role-watch.ts), so this is a voter
      // replaced while it was thought dead; a listener's own message in case one ever gets here.
      if (role === 'listener') {
        throw new ConfigError(`listener ${base.id} was removed from cluster ${base.cluster}'s configuration while it ran and stopped; start it again with --role listener to register it again`);
      }
      throw new ConfigError(`${base.id} is no longer a member of cluster ${base.cluster} (another member was promoted in its place): it stopped; do not start it again with this id`);
    }
    role = outcome.to;
  }
}

function withoutVoters(o: RunNodeOptions): RunNodeOptions {
  const { voters: _voters, ...rest } = o;
  return rest;
}

type Outcome = { kind: 'stopped' } | { kind: 'fatal'; fatal: { reason: string; what: FatalKind } } | { kind: 'role'; to: MemberRole | null };

/** Runs one member until a signal, a fatal stop or a role change. */
async function runUntilDone(options: RunNodeOptions): Promise<Outcome> {
  const node = await runMember(options);
  node.logger.info({ role: node.role, address: node.address, ...(node.metricsAddress !== null ? { metrics: `http://${node.metricsAddress}/metrics` } : {}) }, 'serving');
  return new Promise<Outcome>((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      node.logger.info({ signal }, 'stopping: handing leadership over first if leading');
      node.stop({ transfer: true }).then(
        () => done({ kind: 'stopped' }),
        (err: unknown) => {
          node.logger.error({ err: (err as Error).message }, 'error while stopping');
          done({ kind: 'stopped' });
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const unlisten = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    // A node whose state cannot be trusted stops; its WAL is set aside, and a supervisor's
    // restart rebuilds it from ZooKeeper. Exit non-zero so the supervisor does restart it.
    void node.fatal.then((f) => {
      if (stopping) return;
      stopping = true;
      unlisten();
      node.logger.error({ reason: f.reason }, f.what === 'diverged' ? 'stopped: restart this node to rebuild it from ZooKeeper' : 'stopped: ZooKeeper lost the cluster');
      node.stop().then(
        () => done({ kind: 'fatal', fatal: f }),
        () => done({ kind: 'fatal', fatal: f }),
      );
    });
    void node.roleChange.then((to) => {
      if (stopping) return;
      stopping = true;
      unlisten();
      node.logger.warn({ to: to ?? 'removed' }, 'the cluster configuration changed this member\'s role: stopping to start again in it');
      node.stop().then(
        () => done({ kind: 'role', to }),
        () => done({ kind: 'role', to }),
      );
    });
  });
}
