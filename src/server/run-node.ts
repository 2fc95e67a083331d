// The composition root: the one place where the real parts are wired together. It
// connects to ZooKeeper, opens the local WAL (rebuilding from ZooKeeper if it is corrupt),
// starts the gRPC server for peers and clients (with TLS and client authentication when
// configured: see notes/security.md) with the gRPC health service beside the client
// service, the metrics endpoint when asked for (--metrics), and starts the node driver.
import { randomInt } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, CorruptWalError, ZkUnavailableError } from '../common/errors.js';
import { formatHostPort, HOST_PORT_FORMAT, parseHostPort } from '../common/host-port.js';
import { createLogger, type Logger } from '../common/logger.js';
import { ClusterPaths } from '../coordination/layout.js';
import { warnWorldWritable } from '../coordination/zk-acl.js';
import { connectZk, type NodeZkSession } from '../coordination/zk-client.js';
import { ChainMismatchError } from '../core/log.js';
import { SeededRandom } from '../core/random.js';
import { openFileWal } from '../storage/file-wal.js';
import type { LocalWal, WalRecovery } from '../storage/local-wal.js';
import { validateToken } from '../transport/client-token.js';
import { GrpcPeerTransport } from '../transport/grpc-peer-transport.js';
import { peerServerOptions } from '../transport/peer-service.js';
import { clientAuthInterceptor, serverCredentials } from '../transport/server-security.js';
import { checkTlsMaterial, type TlsMaterial } from '../transport/tls-material.js';
import { kvHandlers } from './client-handlers.js';
import { HealthMonitor } from './health-monitor.js';
import { HEALTH_SERVICE_PATH_PREFIX, healthHandlers, healthService } from './health-service.js';
import { type MetricsServer, metricsListen, startMetricsServer } from './metrics-server.js';
import { kvService } from './kv-service.js';
import { type FatalKind, NodeDriver } from './node-driver.js';
import { readIdentity, writeIdentity } from './identity-file.js';
import type { SnapshotPolicy } from './snapshotter.js';
import { isTransientZkError, retryWhileZkUnavailable, waitForZooKeeper } from './startup-retry.js';
import { openLocalSnapshotStore } from '../storage/snapshot-store.js';
import { type LimitsConfig, type NodeConfig, type TestFaults, type TimingConfig, defaultLimits, defaultTiming, nodeConfigProblems } from './node-config.js';
import { realClock } from '../common/real-clock.js';
import { genesisChain } from '../core/chain.js';
import { listenerFeedService } from '../transport/listener-feed-service.js';
import { feedHandlersOf, ListenerFeeder } from './listener/feeder.js';
import { type MemberRole, watchRole } from './listener/role-watch.js';
import { runListener } from './listener/run-listener.js';
import { voterFeedSource } from './listener/voter-feed-source.js';
import { wakeOnLeaderCommit } from './listener/commit-wakeup.js';
import { bindServer, shutdownServer } from '../transport/grpc-server-lifecycle.js';

/** The peer transport's deadline for a (pre-)vote call, unless the pre-vote timeout is longer. */
const VOTE_CALL_DEADLINE_MS = 300;

export interface RunNodeOptions {
  readonly id: string;
  readonly cluster: string;
  /** ZooKeeper connect string. */
  readonly zk: string;
  /** host:port to listen on (port 0 picks a free one). */
  readonly listen: string;
  /** host:port others use to reach this node (default: the listen address as bound). */
  readonly advertise?: string;
  /** host:port the peer uses to reach this node (default: advertise). */
  readonly peerAdvertise?: string;
  readonly dataDir: string;
  readonly voters?: readonly string[];
  readonly timing?: Partial<TimingConfig>;
  readonly limits?: Partial<LimitsConfig>;
  readonly faults?: TestFaults;
  readonly logLevel?: string;
  /** How long to wait for ZooKeeper at start before giving up with a clear error (absent or 0: as long as it takes). */
  readonly zkConnectTimeoutMs?: number;
  readonly zkSessionTimeoutMs?: number;
  readonly zkAuth?: { readonly user: string; readonly password: string };
  /**
   * This voter's certificate and key and the cluster CA (PEM contents): TLS for clients,
   * mutual TLS between the voters, and client certificates signed by the CA authenticate
   * clients. The certificate must name this voter (SAN URI duoraft://CLUSTER/voter/ID).
   */
  readonly tls?: TlsMaterial;
  /** The cluster token: a client presenting it is authenticated too (needs tls). */
  readonly clientToken?: string;
  /** When to snapshot (default: defaultSnapshotPolicy). */
  readonly snapshotPolicy?: SnapshotPolicy;
  /** Seed of the election-timeout randomness (default: random). */
  readonly seed?: number;
  /** host:port to serve Prometheus metrics on (http://HOST:PORT/metrics); absent: no metrics. */
  readonly metrics?: string;
  /** voter (default) or listener (PROTOCOL.md section 9: never votes, fed the committed log). */
  readonly role?: MemberRole;
  /** Listeners this member feeds at most (default 2). */
  readonly listenerFanout?: number;
}

export const DEFAULT_LISTENER_FANOUT = 2;

export interface RunningNode {
  readonly driver: NodeDriver;
  readonly address: string;
  /** Where /metrics is served (as bound), when metrics are on. */
  readonly metricsAddress: string | null;
  readonly logger: Logger;
  /** Stops everything; with transfer, a leader first hands over to its follower. */
  stop(options?: { transfer?: boolean }): Promise<void>;
  /**
   * Resolves (with the reason) if the node stopped because its state cannot be trusted (its
   * committed log diverged). Its local WAL has been set aside by then: started again on the
   * same data folder, it rebuilds from ZooKeeper and its peer.
   */
  readonly fatal: Promise<{ readonly reason: string; readonly what: FatalKind }>;
  /**
   * Resolves when the cluster configuration gives this voter another role: a listener
   * (demoted) or none (replaced). Stop it, and start it again in that role (or not at all).
   */
  readonly roleChange: Promise<MemberRole | null>;
}

/** A running member of either role (what `duoraft node` supervises). */
export interface RunningMember {
  readonly role: MemberRole;
  readonly address: string;
  readonly metricsAddress: string | null;
  readonly logger: Logger;
  stop(options?: { transfer?: boolean }): Promise<void>;
  /** Voters only (a listener's never resolves): see RunningNode.fatal. */
  readonly fatal: Promise<{ readonly reason: string; readonly what: FatalKind }>;
  /** The configuration gave this member another role (null: removed): stop it and start it in that role. */
  readonly roleChange: Promise<MemberRole | null>;
}

/** Starts a voter or a listener, as o.role says. */
export async function runMember(o: RunNodeOptions): Promise<RunningMember> {
  if ((o.role ?? 'voter') === 'voter') return { role: 'voter', ...(await runNode(o)) };
  if (o.tls || o.clientToken !== undefined) {
    throw new ConfigError('listeners do not support TLS yet (their certificates would name a voter): run listeners on a cluster without --tls-*, or leave them out');
  }
  const l = await runListener({
    id: o.id,
    cluster: o.cluster,
    zk: o.zk,
    listen: o.listen,
    ...(o.advertise !== undefined ? { advertise: o.advertise } : {}),
    dataDir: o.dataDir,
    ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
    ...(o.zkConnectTimeoutMs !== undefined ? { zkConnectTimeoutMs: o.zkConnectTimeoutMs } : {}),
    ...(o.zkSessionTimeoutMs !== undefined ? { zkSessionTimeoutMs: o.zkSessionTimeoutMs } : {}),
    ...(o.zkAuth ? { zkAuth: o.zkAuth } : {}),
    ...(o.snapshotPolicy ? { snapshotPolicy: o.snapshotPolicy } : {}),
    fanout: o.listenerFanout ?? DEFAULT_LISTENER_FANOUT,
    ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
  });
  return {
    role: 'listener',
    address: l.address,
    metricsAddress: l.metricsAddress,
    logger: l.logger,
    stop: () => l.stop(),
    fatal: new Promise(() => undefined),
    roleChange: l.roleChange,
  };
}

/** How often health looks at the node's figures for a flip to tell watchers (Check looks afresh). */
const HEALTH_POLL_MS = 50;
/** Bound on health Watch streams at once. */
const MAX_HEALTH_WATCHERS = 64;

export async function runNode(o: RunNodeOptions): Promise<RunningNode> {
  const ref: { current: NodeDriver | null } = { current: null };
  const logger = createLogger('duoraft', {
    level: o.logLevel ?? 'info',
    // Every line says which node, in which term and role, it comes from.
    mixin: () => {
      const s = ref.current?.softStateNow();
      return { node: o.id, term: s?.term ?? 0, role: s?.role ?? 'starting' };
    },
  });
  // Validate what can be validated before touching anything.
  const problems = runNodeOptionProblems(o);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  const timing = { ...defaultTiming, ...o.timing };
  const limits = { ...defaultLimits, ...o.limits };
  const tls = o.tls ?? null;
  if (tls !== null) checkTlsMaterial(tls, { voter: { cluster: o.cluster, id: o.id } });
  if (o.clientToken !== undefined) {
    if (tls === null) throw new ConfigError('a client token needs TLS (--tls-cert, --tls-key, --tls-ca): without it the token would travel in clear text');
    validateToken(o.clientToken, 'the client token');
  }
  // The health service answers probes without credentials (health-service.ts says why that tells nothing).
  const clientAuth = clientAuthInterceptor({ certificates: tls !== null, token: o.clientToken ?? null, openPaths: [HEALTH_SERVICE_PATH_PREFIX] }, logger, realClock);
  logger.info(
    tls === null
      ? { tls: false, clientAuth: 'none' }
      : { tls: true, peers: 'mutual TLS', clientAuth: o.clientToken === undefined ? 'certificate' : 'certificate or token' },
    tls === null ? 'transport security: none (plaintext; anyone who reaches the port can act as a client or as the peer)' : 'transport security: TLS',
  );

  // Loaded only when asked for: prom-client and what it pulls in are a tenth of a start's module loading.
  const metrics = o.metrics !== undefined ? new (await import('./metrics.js')).NodeMetrics({ nodeId: o.id, cluster: o.cluster, clock: realClock, processMetrics: true }) : null;
  const health = new HealthMonitor({
    figures: () => ref.current?.figures() ?? null,
    rules: { electionTimeoutMs: timing.electionTimeoutMs },
    clock: realClock,
    logger,
    intervalMs: HEALTH_POLL_MS,
    maxWatchers: MAX_HEALTH_WATCHERS,
  });
  metrics?.attach({ figures: () => ref.current?.figures() ?? null, health: () => health.current() });
  const server = new grpc.Server({ ...peerServerOptions, ...(clientAuth ? { interceptors: [clientAuth] } : {}) });
  server.addService(kvService, kvHandlers(ref, logger, realClock, metrics ?? undefined));
  server.addService(healthService, healthHandlers(health));
  // A pre-vote's call must not end before the pre-vote timeout does: its failure counts as
  // "no objection" at once (a dead peer), so a shorter deadline would be the real timeout.
  const requestTimeoutMs = { vote: Math.max(VOTE_CALL_DEADLINE_MS, timing.preVoteTimeoutMs + timing.tickMs) };
  const transport = new GrpcPeerTransport({ selfId: o.id, cluster: o.cluster, clock: realClock, logger, tls, requestTimeoutMs, ...(o.voters ? { voters: o.voters } : {}) });
  transport.addToServer(server);
  // Listeners are fed by followers (never by the leader): the feeder starts with the driver.
  const feederRef: { current: ListenerFeeder | null } = { current: null };
  server.addService(listenerFeedService, feedHandlersOf(feederRef));
  const port = await bindServer(server, o.listen, serverCredentials(tls));
  const address = o.advertise ?? formatHostPort(listenHost(o.listen), port);
  health.start();

  let zk: NodeZkSession | null = null;
  let wal: LocalWal | null = null;
  let metricsServer: MetricsServer | null = null;
  try {
    if (metrics && o.metrics !== undefined) {
      metricsServer = await startMetricsServer(metricsListen(o.metrics), metrics, logger);
      logger.info({ metrics: `http://${metricsServer.address}/metrics` }, 'serving metrics');
    }
    zk = connectZk({
      connectString: o.zk,
      sessionTimeoutMs: o.zkSessionTimeoutMs ?? 4000,
      logger,
      ...(o.zkAuth ? { auth: o.zkAuth } : {}),
    });
    metrics?.followZk(zk);
    // By default a node waits for ZooKeeper as long as it takes, and a ZooKeeper lost while
    // it starts is waited for again (startup-retry.ts); --zk-connect-timeout bounds both.
    const giveUpAfterMs = o.zkConnectTimeoutMs ?? 0;
    const retry = { zk, clock: realClock, logger, giveUpAfterMs };
    const walDir = join(o.dataDir, 'wal');
    // The local data loads while ZooKeeper's session is set up: neither needs the other,
    // and a restart waited for both one after the other.
    const local = (async () => {
      // Snapshots in DATA/snapshots: the newest one that verifies is what the state machine
      // starts from (the WAL then holds what follows it, so it may start after index 1).
      const snapshotStore = await openLocalSnapshotStore({ dir: join(o.dataDir, 'snapshots'), cluster: o.cluster, logger });
      const newest = await snapshotStore.loadNewest();
      const walOpened = await openWal(walDir, newest?.point.index ?? 0, logger);
      return { snapshotStore, newest, walOpened };
    })();
    // Handled when awaited below; until then a failure must not count as unhandled.
    local.catch(() => undefined);
    try {
      await waitForZooKeeper('starting', retry);
    } catch (err) {
      await local.then((l) => l.walOpened.wal.close()).catch(() => undefined);
      throw new ZkUnavailableError(`ZooKeeper at ${o.zk} did not answer within ${giveUpAfterMs} ms; is it running?`, { cause: err });
    }
    const { snapshotStore, newest, walOpened } = await local;
    const coveredThrough = newest?.point.index ?? 0;
    let opened = walOpened;
    wal = opened.wal;
    const recordedIdentity = await readIdentity(o.dataDir);
    const holdsData = newest !== null || opened.recovery.entries.length > 0 || (opened.recovery.hardState?.commit ?? 0) > 0;
    const config: NodeConfig = {
      id: o.id,
      cluster: o.cluster,
      advertise: address,
      ...(o.peerAdvertise ? { peerAdvertise: o.peerAdvertise } : {}),
      ...(o.voters ? { voters: o.voters } : {}),
      timing,
      limits,
      ...(o.faults ? { faults: o.faults } : {}),
    };
    let resolveFatal: (f: { reason: string; what: FatalKind }) => void = () => undefined;
    const fatal = new Promise<{ reason: string; what: FatalKind }>((resolve) => {
      resolveFatal = resolve;
    });
    const deps = {
      config,
      clock: realClock,
      random: new SeededRandom(o.seed ?? randomInt(2 ** 31)),
      logger,
      zk,
      // The feeder pushes as soon as the follower steps its leader's commit index.
      transport: wakeOnLeaderCommit(transport, () => feederRef.current?.kick()),
      ...(metrics ? { telemetry: metrics } : {}),
      local: { identity: recordedIdentity, holdsData },
      snapshots: {
        storage: snapshotStore,
        ...(newest ? { initial: { saved: newest.saved, loaded: newest } } : {}),
        ...(o.snapshotPolicy ? { policy: o.snapshotPolicy } : {}),
      },
      onFatal: (reason: string, what: FatalKind): void => {
        // A diverged node's log is set aside (it rebuilds from ZooKeeper when restarted);
        // when ZooKeeper lost the cluster, the local data is what restore-zk needs: keep it.
        if (what !== 'diverged') {
          resolveFatal({ reason, what });
          return;
        }
        // Its snapshots may hold the diverged state too: set them aside as well.
        void setAside(walDir, 'diverged', logger)
          .then(() => setAside(join(o.dataDir, 'snapshots'), 'diverged', logger))
          .then(
            () => resolveFatal({ reason, what }),
            () => resolveFatal({ reason, what }),
          );
      },
    };
    const startDriver = (w: LocalWal, recovery: WalRecovery): Promise<NodeDriver> =>
      retryWhileZkUnavailable('starting', () => NodeDriver.start({ ...deps, wal: w, recovery }), retry).catch((err: unknown) => {
        throw isTransientZkError(err) ? new ZkUnavailableError(`ZooKeeper at ${o.zk} was lost while starting and did not come back within ${giveUpAfterMs} ms`, { cause: err }) : err;
      });
    let driver: NodeDriver;
    try {
      driver = await startDriver(wal, opened.recovery);
    } catch (err) {
      if (!(err instanceof ChainMismatchError)) throw err;
      // The local log does not chain: corrupt in a way its records' checksums missed. Set it
      // aside and rebuild from ZooKeeper and the peer, as for any corrupt WAL.
      logger.error({ dir: walDir, err: err.message }, 'the local WAL breaks the hash chain; rebuilding this node from ZooKeeper and its peer');
      await wal.close();
      await setAside(walDir, 'corrupt', logger);
      opened = await openWal(walDir, coveredThrough, logger);
      wal = opened.wal;
      driver = await startDriver(wal, opened.recovery);
    }
    ref.current = driver;
    if (!recordedIdentity) await writeIdentity(o.dataDir, driver.identity);
    const feeder = new ListenerFeeder({
      cluster: o.cluster,
      source: voterFeedSource(driver, genesisChain(driver.identity.clusterId), o.faults),
      clock: realClock,
      logger,
      fanout: o.listenerFanout ?? DEFAULT_LISTENER_FANOUT,
    });
    feederRef.current = feeder;
    let resolveRole: (role: MemberRole | null) => void = () => undefined;
    const roleChange = new Promise<MemberRole | null>((resolve) => {
      resolveRole = resolve;
    });
    const roleWatch = watchRole({ zk, paths: new ClusterPaths(o.cluster), clock: realClock, logger, selfId: o.id, current: 'voter', onChange: (to) => resolveRole(to) });
    const zkSession = zk;
    if (o.zkAuth) {
      // The tree exists now; say so if parts of it are open to everyone.
      warnWorldWritable(zkSession, new ClusterPaths(o.cluster), logger).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'could not read the ACLs of /duoraft and the cluster tree');
      });
    }
    let stopping: Promise<void> | null = null;
    const metricsOn = metricsServer;
    return {
      driver,
      address,
      metricsAddress: metricsOn?.address ?? null,
      logger,
      fatal,
      roleChange,
      stop: (options = {}) => {
        stopping ??= (async () => {
          roleWatch.stop();
          feeder.stop();
          await driver.stop(options);
          // Watchers hear NOT_SERVING, then their streams end (the server can shut down).
          health.stop();
          await transport.close();
          await shutdownServer(server);
          await zkSession.close();
          await metricsOn?.close();
          metrics?.close();
          logger.flush();
        })();
        return stopping;
      },
    };
  } catch (err) {
    health.stop();
    await wal?.close().catch(() => undefined);
    await zk?.close().catch(() => undefined);
    await transport.close();
    await shutdownServer(server);
    await metricsServer?.close();
    metrics?.close();
    throw err;
  }
}

/**
 * Every problem of these options that can be found without touching anything (the
 * listen address, and NodeConfig's rules with the defaults filled in); empty if none.
 */
export function runNodeOptionProblems(o: RunNodeOptions): string[] {
  const problems: string[] = [];
  const listen = parseHostPort(o.listen, { allowPortZero: true });
  if ('problem' in listen) problems.push(`invalid listen address ${JSON.stringify(o.listen)}: ${listen.problem} (expected ${HOST_PORT_FORMAT})`);
  if (o.metrics !== undefined) {
    const metrics = parseHostPort(o.metrics, { allowPortZero: true });
    if ('problem' in metrics) problems.push(`invalid metrics address ${JSON.stringify(o.metrics)}: ${metrics.problem} (expected ${HOST_PORT_FORMAT})`);
  }
  // Before binding, a listen port of 0 stands for the port the system will pick.
  const advertise = o.advertise ?? ('problem' in listen ? '' : formatHostPort(listen.host, listen.port === 0 ? 1 : listen.port));
  const configProblems = nodeConfigProblems({
    id: o.id,
    cluster: o.cluster,
    advertise,
    ...(o.peerAdvertise !== undefined ? { peerAdvertise: o.peerAdvertise } : {}),
    ...(o.voters ? { voters: o.voters } : {}),
    timing: { ...defaultTiming, ...o.timing },
    limits: { ...defaultLimits, ...o.limits },
  });
  // A bad listen address is reported once, not again as the advertise address it implies.
  return [...problems, ...configProblems.filter((p) => advertise !== '' || !p.startsWith('invalid advertise address'))];
}

function listenHost(listen: string): string {
  const parsed = parseHostPort(listen, { allowPortZero: true });
  return 'problem' in parsed ? listen.slice(0, listen.lastIndexOf(':')) : parsed.host;
}

/**
 * Local WAL segment files roll at this size: a snapshot lets whole files go, so they must be
 * small against the snapshot interval (8 MiB of log by default).
 */
const WAL_SEGMENT_BYTES = 4 * 1024 * 1024;

/** Moves a WAL folder aside (kept for inspection) and leaves an empty one in its place. */
async function setAside(dir: string, why: string, logger: Logger): Promise<void> {
  const aside = `${dir}.${why}-${Date.now()}`;
  await rename(dir, aside);
  await mkdir(dir, { recursive: true });
  logger.warn({ movedTo: aside }, 'local WAL set aside');
}

/**
 * Opens the local WAL. A corrupt one is moved aside: the node then rebuilds from ZooKeeper
 * and its peer. `coveredThrough`: the index the newest local snapshot holds (0: none); a
 * WAL compacted behind it starts after index 1 and is whole.
 */
async function openWal(dir: string, coveredThrough: number, logger: Logger): Promise<{ wal: LocalWal; recovery: WalRecovery }> {
  await mkdir(dir, { recursive: true });
  try {
    const opened = await openFileWal(dir, { logger, segmentBytes: WAL_SEGMENT_BYTES });
    for (const w of opened.recovery.warnings) logger.warn({ dir }, w);
    const first = opened.recovery.entries[0];
    if (first && first.index > coveredThrough + 1) {
      // Compacted with nothing to stand for what was dropped: rebuild rather than start a
      // state machine from nothing at that index.
      await opened.wal.close();
      throw new CorruptWalError(dir, 0, `the log starts at index ${first.index} and nothing holds the entries before it (the newest local snapshot covers ${coveredThrough})`);
    }
    return opened;
  } catch (err) {
    if (!(err instanceof CorruptWalError)) throw err;
    const aside = `${dir}.corrupt-${Date.now()}`;
    logger.error({ file: err.file, offset: err.offset, movedTo: aside }, `${err.message}; rebuilding this node from ZooKeeper and its peer`);
    await rename(dir, aside);
    await mkdir(dir, { recursive: true });
    return openFileWal(dir, { logger, segmentBytes: WAL_SEGMENT_BYTES });
  }
}
