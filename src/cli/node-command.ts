// duoraft node: runs a voter until SIGTERM/SIGINT. A leader hands leadership to its
// follower before it exits (exit code 0).
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { runNode } from '../server/run-node.js';
import type { TimingConfig } from '../server/node-config.js';
import type { CommonArgs } from './common-options.js';
import { nodeSecurityOf, type SecurityArgs } from './security-options.js';

export interface NodeArgs extends CommonArgs, SecurityArgs {
  id: string;
  listen: string;
  advertise?: string | undefined;
  'peer-advertise'?: string | undefined;
  data: string;
  voters?: string | undefined;
  'zk-connect-timeout': number;
  'zk-session-timeout': number;
  'lease-window-ms'?: number | undefined;
  'lease-duration-ms'?: number | undefined;
  'lease-interval-ms'?: number | undefined;
  'election-timeout-ms'?: number | undefined;
  'heartbeat-ms'?: number | undefined;
  'max-value-bytes'?: number | undefined;
  'wal-sync-interval-ms'?: number | undefined;
  'max-pending-proposals'?: number | undefined;
  'pause-lease-ms'?: number | undefined;
  'pause-stepdown-ms'?: number | undefined;
  'fault-ack-before-commit'?: boolean | undefined;
  'fault-read-tail-before-fence'?: boolean | undefined;
}

export async function nodeCommand(args: NodeArgs): Promise<void> {
  if (!/^[^:\s]+:\d{1,5}$/.test(args.listen)) throw new ConfigError(`--listen must be HOST:PORT, not ${JSON.stringify(args.listen)}`);
  const voters = args.voters ? args.voters.split(',').map((v) => v.trim()) : undefined;
  const timing: Partial<TimingConfig> = {
    ...(args['lease-window-ms'] !== undefined ? { leaseWindowMs: args['lease-window-ms'] } : {}),
    ...(args['lease-duration-ms'] !== undefined ? { leaseDurationMs: args['lease-duration-ms'] } : {}),
    ...(args['lease-interval-ms'] !== undefined ? { leaseIntervalMs: args['lease-interval-ms'] } : {}),
    ...(args['election-timeout-ms'] !== undefined ? { electionTimeoutMs: args['election-timeout-ms'] } : {}),
    ...(args['heartbeat-ms'] !== undefined ? { heartbeatMs: args['heartbeat-ms'] } : {}),
    ...(args['pause-lease-ms'] !== undefined ? { pauseLeaseMs: args['pause-lease-ms'] } : {}),
    ...(args['pause-stepdown-ms'] !== undefined ? { pauseStepDownMs: args['pause-stepdown-ms'] } : {}),
  };
  const security = await nodeSecurityOf(args);
  const node = await runNode({
    id: args.id,
    cluster: args.cluster,
    zk: args.zk,
    listen: args.listen,
    ...(args.advertise ? { advertise: args.advertise } : {}),
    ...(args['peer-advertise'] ? { peerAdvertise: args['peer-advertise'] } : {}),
    dataDir: isAbsolute(args.data) ? args.data : resolve(args.data),
    ...(voters ? { voters } : {}),
    timing,
    limits: {
      ...(args['max-value-bytes'] !== undefined ? { maxValueBytes: args['max-value-bytes'] } : {}),
      ...(args['wal-sync-interval-ms'] !== undefined ? { walSyncIntervalMs: args['wal-sync-interval-ms'] } : {}),
      ...(args['max-pending-proposals'] !== undefined ? { maxPendingProposals: args['max-pending-proposals'] } : {}),
    },
    faults: {
      ...(args['fault-ack-before-commit'] ? { ackBeforeCommit: true } : {}),
      ...(args['fault-read-tail-before-fence'] ? { readTailBeforeFence: true } : {}),
    },
    logLevel: args['log-level'],
    zkConnectTimeoutMs: args['zk-connect-timeout'],
    zkSessionTimeoutMs: args['zk-session-timeout'],
    ...security,
  });
  node.logger.info({ address: node.address }, 'serving');
  await new Promise<void>((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      node.logger.info({ signal }, 'stopping: handing leadership over first if leading');
      node.stop({ transfer: true }).then(done, (err: unknown) => {
        node.logger.error({ err: (err as Error).message }, 'error while stopping');
        done();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
