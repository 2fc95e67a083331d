// The configuration schema: every setting of `duoraft node` and the settings every
// client command shares, with what each accepts. Flags, DUORAFT_* environment
// variables and the config file are all read against this one table (resolve.ts);
// `duoraft config check` prints it resolved.
//
// To add a setting: add an entry here (the key is the flag name; the environment
// variable and the config-file key follow from it), to commonSettings if every command
// takes it, to nodeSettings if only the node does; then read it in the command that
// uses it (node-command.ts, kv-commands.ts). Help, validation, the environment, the
// config file and config check need nothing more.
import { defaultSnapshotPolicy } from '../../server/snapshotter.js';
import { isValidClusterName, isValidMemberId } from '../../coordination/layout.js';
import { defaultLimits, defaultTiming } from '../../server/node-config.js';
import { HARD_MAX_VALUE_BYTES } from '../../statemachine/limits.js';
import { parseHostPort } from '../../common/host-port.js';
import { addressSetting, booleanSetting, choiceSetting, integerSetting, listSetting, textSetting, type Presence, type Setting } from './setting.js';

export type Schema = Readonly<Record<string, Setting<unknown, Presence>>>;

/** The values of a resolved schema: a setting without a default may be undefined. */
export type SettingValues<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T, 'always'> ? T : S[K] extends Setting<infer T, 'maybe'> ? T | undefined : never;
};

/** The config-file flag itself: read from the command line or DUORAFT_CONFIG, never from a file. */
export const CONFIG_FLAG = 'config';

/** True, or what is wrong with a ZooKeeper connect string. */
function checkZkConnectString(text: string): true | string {
  const slash = text.indexOf('/');
  const servers = (slash < 0 ? text : text.slice(0, slash)).split(',');
  for (const server of servers) {
    if (server.includes('[')) return 'the ZooKeeper client takes no IPv6 address: use a host name';
    const parsed = parseHostPort(server.includes(':') ? server : `${server}:2181`);
    if ('problem' in parsed) return `${JSON.stringify(server)}: ${parsed.problem}`;
  }
  return true;
}

const NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

const ms = 'ms';

export const commonSettings = {
  [CONFIG_FLAG]: textSetting({
    describe: 'read settings from this YAML or JSON file (keys are the flag names); flags and the environment override it',
    accepts: 'a file name',
  }),
  zk: textSetting({
    describe: 'ZooKeeper connect string',
    default: '127.0.0.1:2181',
    accepts: 'HOST:PORT[,HOST:PORT...][/chroot]',
    check: checkZkConnectString,
  }),
  cluster: textSetting({
    describe: 'cluster name',
    default: 'default',
    accepts: `a cluster name (${NAME_RULE})`,
    check: isValidClusterName,
  }),
  json: booleanSetting({ describe: 'print JSON', default: false }),
  'log-level': choiceSetting({
    describe: 'log level',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'warn',
  }),
  timeout: integerSetting({
    describe: 'overall deadline of a client call, retries included',
    min: 1,
    max: 3_600_000,
    unit: ms,
    default: 10_000,
  }),
  // Security (src/cli/security-options.ts, notes/security.md): the same for the node and the clients.
  'tls-ca': textSetting({ describe: 'the cluster CA certificate (PEM): turns TLS on', accepts: 'a file name' }),
  'tls-cert': textSetting({ describe: 'node: its voter certificate; client: a client certificate signed by the cluster CA (PEM)', accepts: 'a file name' }),
  'tls-key': textSetting({ describe: 'the private key of --tls-cert (PEM)', accepts: 'a file name' }),
  'token-file': textSetting({ describe: 'a file holding the cluster token (node: accept it from clients; client: present it); needs TLS', accepts: 'a file name' }),
  token: textSetting({ describe: 'the cluster token itself (prefer DUORAFT_TOKEN or --token-file: ps shows arguments)', secret: true }),
  'zk-user': textSetting({ describe: 'ZooKeeper digest user (with --zk-password): node: protects the tree; client: reads it' }),
  'zk-password': textSetting({ describe: 'ZooKeeper digest password', secret: true }),
} as const;

/**
 * What the cluster may keep in ZooKeeper (WAL segments and snapshots, data bytes): the
 * node's bound, and what `duoraft zk inspect` measures against (one config file can give
 * both the same value).
 */
export const zkBudgetSetting = integerSetting({
  describe: 'bound on what the cluster keeps in ZooKeeper (WAL segments and snapshots, data bytes); see notes/snapshots.md',
  min: 1024 * 1024,
  max: 64 * 1024 * 1024 * 1024,
  unit: 'bytes',
  default: defaultSnapshotPolicy.zkBudgetBytes,
  fields: ['zkBudgetBytes'],
});

const timingMs = (describe: string, field: keyof typeof defaultTiming, min = 1): Setting<number, 'always'> =>
  integerSetting({ describe, min, max: 60_000, unit: ms, default: defaultTiming[field], fields: [field] });

export const nodeSettings = {
  ...commonSettings,
  id: textSetting({
    describe: 'this voter id',
    required: true,
    accepts: `a voter id (${NAME_RULE})`,
    check: isValidMemberId,
  }),
  role: choiceSetting({
    describe: 'voter, or listener: never votes or leads, is fed the committed log by a follower or another listener, serves stale reads (the config znode decides once it is promoted or demoted)',
    choices: ['voter', 'listener'],
    default: 'voter',
  }),
  'listener-fanout': integerSetting({
    describe: 'feed at most this many listeners (followers and fed listeners feed them; the leader never does)',
    min: 1,
    max: 64,
    default: 2,
  }),
  listen: addressSetting({ describe: 'address to serve peers and clients on', required: true, allowPortZero: true }),
  advertise: addressSetting({ describe: 'address clients (and the peer) use to reach this node (default: --listen)' }),
  'peer-advertise': addressSetting({ describe: 'address the other voter uses to reach this node (default: --advertise)' }),
  metrics: addressSetting({ describe: 'serve Prometheus metrics on http://HOST:PORT/metrics (default: off; port 0 picks one)', allowPortZero: true }),
  data: textSetting({ describe: 'data folder (local WAL)', required: true, accepts: 'a folder name' }),
  voters: listSetting({
    describe: 'fix the two voters (default: the first two nodes to start)',
    accepts: `ID1,ID2: two different voter ids (${NAME_RULE})`,
    check: (ids) => ids.length === 2 && ids[0] !== ids[1] && ids.every(isValidMemberId),
  }),
  'zk-connect-timeout': integerSetting({
    describe: 'give up starting if ZooKeeper does not answer within this long (0: wait as long as it takes, retrying with backoff)',
    min: 0,
    max: 600_000,
    unit: ms,
    default: 0,
  }),
  'zk-session-timeout': integerSetting({
    describe: 'ZooKeeper session timeout asked for (the server may negotiate another within its min/maxSessionTimeout)',
    min: 1000,
    max: 600_000,
    unit: ms,
    default: 4000,
  }),
  'lease-window-ms': timingMs('follower: lease unchanged this long before a take-over', 'leaseWindowMs'),
  'lease-duration-ms': timingMs('leader: lease length after a touch', 'leaseDurationMs'),
  'lease-interval-ms': timingMs('leader: lease touch interval', 'leaseIntervalMs'),
  'election-timeout-ms': timingMs('minimum election timeout', 'electionTimeoutMs'),
  'pre-vote-timeout-ms': timingMs("follower: an unanswered pre-vote counts as no objection after this long (a leader's broken connection needs no wait)", 'preVoteTimeoutMs'),
  'heartbeat-ms': timingMs('leader heartbeat interval', 'heartbeatMs'),
  'pause-lease-ms': timingMs('an event-loop stall this long ends the lease at once', 'pauseLeaseMs'),
  'max-value-bytes': integerSetting({
    describe: 'largest value accepted',
    min: 1,
    max: HARD_MAX_VALUE_BYTES,
    unit: 'bytes',
    default: defaultLimits.maxValueBytes,
    fields: ['maxValueBytes'],
  }),
  'wal-sync-interval-ms': integerSetting({
    describe: 'at most one fsync of the local WAL per this long; while a follower holds a reply for it, at most the heartbeat interval (2 ms when the leader waits on it)',
    min: 0,
    max: 10_000,
    unit: ms,
    default: defaultLimits.walSyncIntervalMs,
    fields: ['walSyncIntervalMs'],
  }),
  'max-pending-proposals': integerSetting({
    describe: 'writes waiting for ZooKeeper at once; beyond it clients get BUSY',
    min: 1,
    max: 1_000_000,
    default: defaultLimits.maxPendingProposals,
    fields: ['maxPendingProposals'],
  }),
  'snapshot-every-entries': integerSetting({
    describe: 'take a snapshot of the state machine after this many applied entries',
    min: 100,
    max: 100_000_000,
    default: defaultSnapshotPolicy.everyEntries,
    fields: ['everyEntries'],
  }),
  'snapshot-every-bytes': integerSetting({
    describe: 'or after this many bytes of applied entries, whichever comes first',
    min: 64 * 1024,
    max: 1024 * 1024 * 1024,
    unit: 'bytes',
    default: defaultSnapshotPolicy.everyBytes,
    fields: ['everyBytes'],
  }),
  'zk-budget-bytes': zkBudgetSetting,
  'snapshot-retain-entries': integerSetting({
    describe: 'entries kept in memory before a snapshot, for a follower slightly behind',
    min: 0,
    max: 10_000_000,
    default: defaultSnapshotPolicy.retainEntries,
    fields: ['retainEntries'],
  }),
} as const;

export type CommonSettings = typeof commonSettings;
export type NodeSettings = typeof nodeSettings;
export type CommonValues = SettingValues<CommonSettings>;
export type NodeValues = SettingValues<NodeSettings>;

/** Every key a config file may hold: one file can serve the node and the client commands. */
export const allSettingNames: ReadonlySet<string> = new Set([...Object.keys(commonSettings), ...Object.keys(nodeSettings)]);

/** DUORAFT_ZK_SESSION_TIMEOUT for zk-session-timeout. */
export function envName(flag: string): string {
  return `DUORAFT_${flag.toUpperCase().replace(/-/g, '_')}`;
}
