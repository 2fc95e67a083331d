// A listener's composition (called by the composition root, run-node.ts, for --role
// listener): ZooKeeper session, data folder (local WAL, snapshots, identity, the list of
// upstreams), the listener log, the upstream choice loop with its ZooKeeper fallback, the
// feeder for listeners below it, one gRPC server for clients (stale reads), the gRPC health
// service and the ListenerFeed service, and /metrics when asked for (--metrics): the
// voter's health service and metrics server, over a listener's figures (health.ts says when
// a listener is SERVING). It has no RaftCore: it never votes, never leads, never fences, and
// nothing counts it (PROTOCOL.md section 9).
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, CorruptWalError, ListenerFeedError, ListenerIsVoterError, ZkDataLostError, ZkUnavailableError } from '../../common/errors.js';
import { formatHostPort, parseHostPort } from '../../common/host-port.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { realClock } from '../../common/real-clock.js';
import { sleep } from '../../common/clock.js';
import { readClusterState } from '../../coordination/cluster-init.js';
import { ClusterPaths } from '../../coordination/layout.js';
import { registerListener } from '../../coordination/listener-config.js';
import { CorruptZnodeError } from '../../common/errors.js';
import { connectZk, type NodeZkSession } from '../../coordination/zk-client.js';
import { genesisChain } from '../../core/chain.js';
import { openFileWal } from '../../storage/file-wal.js';
import type { LocalWal, WalRecovery } from '../../storage/local-wal.js';
import { openLocalSnapshotStore } from '../../storage/snapshot-store.js';
import { listenerFeedService } from '../../transport/listener-feed-service.js';
import { peerServerOptions } from '../../transport/peer-service.js';
import { kvHandlers } from '../client-handlers.js';
import { readIdentity, writeIdentity } from '../identity-file.js';
import type { DriverRef } from '../kv-operations.js';
import { kvService } from '../kv-service.js';
import { HealthMonitor } from '../health-monitor.js';
import { healthHandlers, healthService } from '../health-service.js';
import { type MetricsServer, metricsListen, startMetricsServer } from '../metrics-server.js';
import { defaultLimits, defaultTiming } from '../node-config.js';
import type { ListenerParts } from './listener-parts.js';
import { defaultSnapshotPolicy, type SnapshotPolicy } from '../snapshotter.js';
import { isTransientZkError, waitForZooKeeper } from '../startup-retry.js';
import { DEFAULT_FEED_HEARTBEAT_MS, feedHandlersOf, ListenerFeeder } from './feeder.js';
import type { ListenerMember } from './listener-member.js';
import { grpcFeedConnector } from './grpc-feed-connector.js';
import { listenerParts } from './listener-parts.js';
import { ApplyTrace } from './apply-trace.js';
import { registerAgainOnce } from './register-again.js';
import { type MemberRole, roleIn, watchRole } from './role-watch.js';
import { readUpstreamList, writeUpstreamList } from './upstream-list-file.js';
import { bindServer, shutdownServer } from '../../transport/grpc-server-lifecycle.js';

export interface ListenerOptions {
  readonly id: string;
  readonly cluster: string;
  readonly zk: string;
  readonly listen: string;
  readonly advertise?: string;
  readonly dataDir: string;
  readonly logLevel?: string;
  readonly zkConnectTimeoutMs?: number;
  readonly zkSessionTimeoutMs?: number;
  readonly zkAuth?: { readonly user: string; readonly password: string };
  /** Listeners this one feeds at most. */
  readonly fanout: number;
  readonly snapshotPolicy?: SnapshotPolicy;
  readonly feedHeartbeatMs?: number;
  /** host:port to serve Prometheus metrics on (http://HOST:PORT/metrics); absent: no metrics. */
  readonly metrics?: string;
}

export interface RunningListener {
  readonly address: string;
  readonly logger: Logger;
  readonly member: ListenerMember;
  /** Where /metrics is served (as bound), when metrics are on. */
  readonly metricsAddress: string | null;
  stop(): Promise<void>;
  /**
   * Resolves when the config znode makes this member a voter (promoted: it has caught up to
   * ZooKeeper's tail and closed its data folder by then) or removes it (null).
   */
  readonly roleChange: Promise<MemberRole | null>;
}

const WAL_SEGMENT_BYTES = 4 * 1024 * 1024;
const TREE_WAIT_LOG_MS = 5000;
/** A promoted listener tries this many times (1 s apart) to read ZooKeeper's log to its tail. */
const PROMOTION_CATCH_UP_ATTEMPTS = 30;
/** Registering again after a removal while running: tries, 1 s apart. */
const REGISTER_AGAIN_ATTEMPTS = 10;
/** As a voter's (run-node.ts): how often health looks for a flip, and the bound on Watch streams. */
const HEALTH_POLL_MS = 50;
const MAX_HEALTH_WATCHERS = 64;

export async function runListener(o: ListenerOptions): Promise<RunningListener> {
  const paths = new ClusterPaths(o.cluster);
  const logger = createLogger('duoraft', { level: o.logLevel ?? 'info', mixin: () => ({ node: o.id, term: 0, role: 'listener' }) });
  const clock = realClock;
  const listen = parseHostPort(o.listen, { allowPortZero: true });
  if ('problem' in listen) throw new ConfigError(`invalid listen address ${JSON.stringify(o.listen)}: ${listen.problem}`);
  const memberRef: DriverRef = { current: null };
  // Loaded only when asked for (run-node.ts says why).
  const metrics = o.metrics !== undefined ? new (await import('../metrics.js')).NodeMetrics({ nodeId: o.id, cluster: o.cluster, clock, processMetrics: true, member: 'listener' }) : null;
  const server = new grpc.Server(peerServerOptions);
  server.addService(kvService, kvHandlers(memberRef, logger, clock, metrics ?? undefined));
  // The feed service answers once the listener runs (a probe before that: cannot feed).
  const feederRef: { current: ListenerFeeder | null } = { current: null };
  server.addService(listenerFeedService, feedHandlersOf(feederRef));
  // Health and metrics read the listener's parts once they run (until then: starting, absent).
  const partsRef: { current: ListenerParts | null } = { current: null };
  const figures = (): ReturnType<ListenerParts['figures']> | null => partsRef.current?.figures() ?? null;
  const health = new HealthMonitor({
    figures,
    // The election timeout is a voter's rule; a listener's is LISTENER_MAX_LAG_MS (health.ts).
    rules: { electionTimeoutMs: defaultTiming.electionTimeoutMs },
    clock,
    logger,
    intervalMs: HEALTH_POLL_MS,
    maxWatchers: MAX_HEALTH_WATCHERS,
  });
  server.addService(healthService, healthHandlers(health));
  metrics?.attach({ figures, health: () => health.current() });
  let metricsServer: MetricsServer | null = null;
  const port = await bindServer(server, o.listen, grpc.ServerCredentials.createInsecure());
  health.start();
  const address = o.advertise ?? formatHostPort(listen.host, port);
  const zk: NodeZkSession = connectZk({ connectString: o.zk, sessionTimeoutMs: o.zkSessionTimeoutMs ?? 4000, logger, ...(o.zkAuth ? { auth: o.zkAuth } : {}) });
  let wal: LocalWal | null = null;
  const stopParts: Array<() => void> = [];
  try {
    if (metrics && o.metrics !== undefined) {
      metricsServer = await startMetricsServer(metricsListen(o.metrics), metrics, logger);
      logger.info({ metrics: `http://${metricsServer.address}/metrics` }, 'serving metrics');
    }
    metrics?.followZk(zk);
    try {
      await waitForZooKeeper('starting a listener', { zk, clock, logger, giveUpAfterMs: o.zkConnectTimeoutMs ?? 0 });
    } catch (err) {
      throw new ZkUnavailableError(`ZooKeeper at ${o.zk} did not answer; is it running?`, { cause: err });
    }
    // A listener never creates the cluster: it waits for the voters to.
    const state = await waitForClusterTree(zk, paths, logger);
    const recorded = await readIdentity(o.dataDir);
    if (recorded && recorded.clusterId !== state.identity.clusterId) {
      throw new ZkDataLostError(`ZooKeeper's tree of cluster ${o.cluster} has identity ${state.identity.clusterId}, but this listener's data belongs to ${recorded.clusterId}`);
    }
    if (!recorded) await writeIdentity(o.dataDir, state.identity);
    const genesis = genesisChain(state.identity.clusterId);
    const cfg = await registerListener(zk, paths, o.id).catch((err: unknown) => {
      if (err instanceof ListenerIsVoterError) return null;
      throw err;
    });

    const walDir = join(o.dataDir, 'wal');
    const opened = await openListenerWal(walDir, logger);
    wal = opened.wal;
    const snapshots = await openLocalSnapshotStore({ dir: join(o.dataDir, 'snapshots'), cluster: o.cluster, logger });
    const newest = await snapshots.loadNewest();
    const parts = listenerParts({
      // The bench reads each batch's apply time from the status (machine clock; the simulator passes none).
      applyTrace: new ApplyTrace(),
      id: o.id,
      cluster: o.cluster,
      address,
      zk,
      paths,
      clock,
      logger,
      genesis,
      wal,
      recovery: opened.recovery,
      snapshots,
      newest,
      snapshotPolicy: o.snapshotPolicy ?? defaultSnapshotPolicy,
      fanout: o.fanout,
      heartbeatMs: o.feedHeartbeatMs ?? DEFAULT_FEED_HEARTBEAT_MS,
      connector: grpcFeedConnector,
      known: await readUpstreamList(o.dataDir, logger),
      saveKnown: (list) => writeUpstreamList(o.dataDir, list),
      requestTimeoutMs: defaultLimits.requestTimeoutMs,
      maxPendingReads: defaultLimits.maxPendingReads,
      ...(metrics ? { observer: metrics } : {}),
    });
    partsRef.current = parts;
    stopParts.push(() => parts.stop());
    const { log, runner: r, tailer, feeder: f, member: m, walSync } = parts;
    memberRef.current = m;
    feederRef.current = f;
    let resolveRole: (role: MemberRole | null) => void = () => undefined;
    const roleChange = new Promise<MemberRole | null>((resolve) => {
      resolveRole = resolve;
    });
    let stopping: Promise<void> | null = null;
    const stopAll = (): Promise<void> => {
      stopping ??= (async () => {
        roleWatch.stop();
        for (const s of stopParts) s();
        health.stop();
        await opened.wal.close();
        await shutdownServer(server);
        await metricsServer?.close();
        metrics?.close();
        await zk.close();
        logger.flush();
      })();
      return stopping;
    };
    const promoted = async (): Promise<void> => {
      // Before it may fence or vote, the promoted listener holds everything committed up to
      // ZooKeeper's tail as of now (read after a sync), durably.
      logger.warn('promoted to voter: catching up to ZooKeeper\'s tail before starting as a voter');
      r.stop();
      f.dropAll('this listener was promoted to voter');
      let tail = -1;
      for (let attempt = 1; tail < 0; attempt++) {
        try {
          tail = await tailer.catchUpToTail();
        } catch (err) {
          // ZooKeeper unreachable: a voter could not fence either; keep trying (bounded).
          if (attempt >= PROMOTION_CATCH_UP_ATTEMPTS) throw err;
          logger.warn({ attempt, err: (err as Error).message }, 'catching up after the promotion failed; trying again');
          await sleep(clock, 1000);
        }
      }
      await new Promise<void>((resolve) => walSync.afterDurable(resolve));
      logger.warn({ applied: log.applied(), zkTail: tail }, 'caught up: restarting as a voter');
      await stopAll();
      resolveRole('voter');
    };
    const roleWatch = watchRole({
      zk,
      paths,
      clock,
      logger,
      selfId: o.id,
      current: 'listener',
      // One loop at a time: the watch calls back on every reconnect while unlisted.
      onUnlisted: registerAgainOnce({ zk, paths, id: o.id, clock, logger, attempts: REGISTER_AGAIN_ATTEMPTS, stopping: () => stopping !== null }).onUnlisted,
      onChange: (to) => {
        if (to === 'voter') {
          promoted().catch((err: unknown) => {
            // Starting as a voter is still safe: its take-over fences, then replays ZooKeeper.
            logger.error({ err: (err as Error).message }, 'could not catch up to ZooKeeper\'s tail after the promotion; starting as a voter, which catches up from ZooKeeper and its peer');
            void stopAll().then(() => resolveRole('voter'));
          });
        } else {
          void stopAll().then(() => resolveRole(to));
        }
      },
    });
    if (cfg === null || roleIn(cfg, o.id) === 'voter') logger.warn('this id is a voter in the cluster configuration: it starts as a voter');
    parts.start();
    logger.info({ address, applied: log.applied(), fanout: o.fanout }, 'listener started');
    return { address, logger, member: m, metricsAddress: metricsServer?.address ?? null, stop: stopAll, roleChange };
  } catch (err) {
    for (const s of stopParts) s();
    health.stop();
    await metricsServer?.close();
    metrics?.close();
    await wal?.close().catch(() => undefined);
    await zk.close().catch(() => undefined);
    await shutdownServer(server);
    throw err;
  }
}

/** Waits until the voters have created the cluster's tree (logging every few seconds). */
async function waitForClusterTree(zk: NodeZkSession, paths: ClusterPaths, logger: Logger): ReturnType<typeof readClusterState> {
  let lastLog = 0;
  for (;;) {
    try {
      return await readClusterState(zk, paths);
    } catch (err) {
      const missing = err instanceof CorruptZnodeError && err.message.includes('missing');
      if (!missing && !isTransientZkError(err)) throw err;
      if (Date.now() - lastLog > TREE_WAIT_LOG_MS) {
        lastLog = Date.now();
        logger.warn({ err: (err as Error).message }, 'the cluster\'s tree is not in ZooKeeper yet (a listener never creates it): waiting for the voters');
      }
      await sleep(realClock, 200);
    }
  }
}

async function openListenerWal(dir: string, logger: Logger): Promise<{ wal: LocalWal; recovery: WalRecovery }> {
  await mkdir(dir, { recursive: true });
  try {
    const opened = await openFileWal(dir, { logger, segmentBytes: WAL_SEGMENT_BYTES });
    for (const w of opened.recovery.warnings) logger.warn({ dir }, w);
    const commit = opened.recovery.hardState?.commit ?? 0;
    const last = opened.recovery.entries[opened.recovery.entries.length - 1];
    // Entries past the commit index (a demoted voter's) were never known committed: drop them.
    if (last && last.index > commit) opened.wal.truncateFrom(commit + 1);
    return opened;
  } catch (err) {
    if (!(err instanceof CorruptWalError || err instanceof ListenerFeedError)) throw err;
    const aside = `${dir}.corrupt-${Date.now()}`;
    logger.error({ movedTo: aside, err: (err as Error).message }, 'the local WAL is corrupt: set aside; the listener catches up from its upstream or ZooKeeper');
    await rename(dir, aside);
    await mkdir(dir, { recursive: true });
    return openFileWal(dir, { logger, segmentBytes: WAL_SEGMENT_BYTES });
  }
}
