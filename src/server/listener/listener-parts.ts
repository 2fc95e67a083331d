// The parts of a running listener wired together, on parts given to it: the ZooKeeper
// session, the clock, the local WAL and snapshot storage, and how upstreams are reached.
// run-listener.ts gives it the real ones (files, gRPC); the deterministic simulator gives it
// simulated ones (test/simulation/sim/sim-listener.ts), as it runs the real NodeDriver for
// voters. No RaftCore anywhere in it: nothing here can vote, lead or fence.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterPaths } from '../../coordination/layout.js';
import type { ZkSession } from '../../coordination/zk-api.js';
import { ZkSnapshotStore } from '../../coordination/zk-snapshot-store.js';
import type { Entry } from '../../core/types.js';
import type { LocalWal, WalRecovery } from '../../storage/local-wal.js';
import type { SnapshotStorage } from '../../storage/snapshot-storage.js';
import type { SavedSnapshot } from '../../storage/snapshot-store.js';
import { KvStore } from '../../statemachine/kv-store.js';
import type { SnapshotPoint } from '../../common/snapshot-point.js';
import { Ephemerals } from '../ephemerals.js';
import type { ListenerFigures } from '../node-figures.js';
import { type SnapshotObserver, Snapshotter, type SnapshotPolicy } from '../snapshotter.js';
import { WalSync, type WalSyncObserver } from '../wal-sync.js';
import type { FeedConnector } from './feed-connector.js';
import type { ApplyTrace } from './apply-trace.js';
import { ListenerFeeder } from './feeder.js';
import { ListenerLog } from './listener-log.js';
import { ListenerMember } from './listener-member.js';
import { ListenerRunner } from './listener-runner.js';
import type { KnownUpstream } from './upstream-list-file.js';
import { ZkTailer } from './zk-tailer.js';

const WAL_SYNC_INTERVAL_MS = 20;

export interface ListenerPartsOptions {
  readonly id: string;
  readonly cluster: string;
  readonly address: string;
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The cluster's genesis chain value (the chain before index 1). */
  readonly genesis: Uint8Array;
  readonly wal: LocalWal;
  /** What the local WAL held at start (entries past its commit index are ignored). */
  readonly recovery: WalRecovery;
  readonly snapshots: SnapshotStorage;
  /** The newest local snapshot at start, loaded (null: none). */
  readonly newest: { readonly point: SnapshotPoint; readonly store: KvStore; readonly saved: SavedSnapshot } | null;
  readonly snapshotPolicy: SnapshotPolicy;
  /** Piece size of snapshot downloads from ZooKeeper (default: ZooKeeper's chunk size). */
  readonly zkChunkBytes?: number;
  readonly fanout: number;
  readonly heartbeatMs: number;
  readonly connector: FeedConnector;
  /** The upstreams on record at start, and how a changed list is recorded. */
  readonly known: readonly KnownUpstream[];
  readonly saveKnown: (list: readonly KnownUpstream[]) => Promise<void>;
  readonly requestTimeoutMs: number;
  readonly maxPendingReads: number;
  /** Records each applied batch's time for the status (the bench's apply lag); none in the simulator. */
  readonly applyTrace?: ApplyTrace;
  /** Told of fsyncs and snapshots (metrics); nothing by default. */
  readonly observer?: SnapshotObserver & WalSyncObserver;
}

export interface ListenerParts {
  readonly log: ListenerLog;
  readonly runner: ListenerRunner;
  readonly tailer: ZkTailer;
  readonly feeder: ListenerFeeder;
  readonly member: ListenerMember;
  readonly walSync: WalSync;
  /** What metrics and health read (health.ts, metrics.ts). */
  figures(): ListenerFigures;
  /** Starts choosing an upstream (and registering members/<id>). */
  start(): void;
  /** Stops every part (not the ZooKeeper session, not the WAL: their owner closes them). */
  stop(): void;
}

export function listenerParts(o: ListenerPartsOptions): ListenerParts {
  const trace = o.applyTrace;
  const { zk, paths, clock, logger } = o;
  const walSync = new WalSync({
    wal: o.wal,
    clock,
    logger,
    intervalMs: WAL_SYNC_INTERVAL_MS,
    urgentIntervalMs: WAL_SYNC_INTERVAL_MS,
    maxWaiting: 1024,
    ...(o.observer ? { observer: o.observer } : {}),
  });
  let stopped = false;
  const start = o.newest ? { point: o.newest.point, store: o.newest.store } : { point: { index: 0, term: 0, chain: o.genesis }, store: new KvStore() };
  let member: ListenerMember | null = null;
  let runner: ListenerRunner | null = null;
  const log = new ListenerLog({
    wal: o.wal,
    logger,
    store: start.store,
    point: start.point,
    replay: committedReplay(o.recovery, start.point.index, logger),
    onWritten: () => {
      walSync.written();
      member?.applied();
      runner?.noteApplied();
    },
  });
  logger.info({ applied: log.applied(), fromSnapshot: o.newest?.point.index ?? 0 }, 'listener log loaded');
  const snapshotter = new Snapshotter({
    storage: o.snapshots,
    zk: new ZkSnapshotStore({ zk, paths, clock, logger, nodeId: o.id, ...(o.zkChunkBytes !== undefined ? { chunkBytes: o.zkChunkBytes } : {}) }),
    host: {
      kv: () => log.store(),
      pointAt: (index) => {
        const chain = log.chainAt(index);
        if (index !== log.applied() || !chain) throw new Error(`no snapshot point at ${index} (applied ${log.applied()})`);
        return { index, term: log.appliedTerm(), chain };
      },
      compactLocal: async (_memoryIndex, walIndex) => {
        await new Promise<void>((resolve) => walSync.afterDurable(resolve));
        await o.wal.compact(walIndex);
      },
      leaderEpochVersion: () => null,
      install: (point, store) => {
        log.installSnapshot(point, store);
        return true;
      },
    },
    policy: o.snapshotPolicy,
    clock,
    logger,
    initial: o.newest?.saved ?? null,
    ...(o.observer ? { observer: o.observer } : {}),
  });
  const tailer = new ZkTailer({
    zk,
    paths,
    clock,
    logger,
    log,
    loadSnapshot: (minIndex) => snapshotter.installFromZk(minIndex),
    onTail: (index) => runner?.noteCommit(index),
  });
  const r = new ListenerRunner({
    cluster: o.cluster,
    selfId: o.id,
    zk,
    paths,
    clock,
    logger,
    log,
    tailer,
    genesis: o.genesis,
    heartbeatMs: o.heartbeatMs,
    connector: o.connector,
    known: o.known,
    saveKnown: o.saveKnown,
  });
  runner = r;
  const m = new ListenerMember({
    id: o.id,
    address: o.address,
    clock,
    log,
    requestTimeoutMs: o.requestTimeoutMs,
    maxPendingReads: o.maxPendingReads,
    leaderHint: () => r.leaderHint(),
    listenerStatus: () => (trace ? { ...r.status(), recentApplies: trace.recent() } : r.status()),
  });
  member = m;
  const feeder = new ListenerFeeder({ cluster: o.cluster, source: r.feedSource(), clock, logger, fanout: o.fanout, heartbeatMs: o.heartbeatMs });
  // Snapshots as the log grows (the listener's own; it never uploads them).
  const applyHook = log.onApplied((entries: readonly Entry[]) => snapshotter.noteApplied(entries));
  // Listeners below are pushed what this one applied, on the next turn of the loop.
  const pushHook = log.onApplied(() => feeder.kick());
  const traceHook = trace ? log.onApplied((entries: readonly Entry[]) => trace.note(entries[entries.length - 1]?.index ?? log.applied())) : null;
  // Since when the ZooKeeper session is not connected (health: a depth-0 listener cut off).
  let disconnectedSince: number | null = zk.state === 'connected' ? null : clock.now();
  const stopZkWatch = zk.onStateChange((state) => {
    if (state === 'connected') disconnectedSince = null;
    else disconnectedSince ??= clock.now();
  });
  const ephemerals = new Ephemerals({
    zk,
    paths,
    clock,
    logger,
    selfId: o.id,
    address: o.address,
    member: { id: o.id, address: o.address, kind: 'listener' },
    onFenced: () => undefined,
  });
  return {
    log,
    runner: r,
    tailer,
    feeder,
    member: m,
    walSync,
    figures: () => {
      const st = r.status();
      const snap = snapshotter.status();
      return {
        role: 'listener',
        commitIndex: Math.max(st.knownCommit, log.applied()),
        appliedIndex: log.applied(),
        lastIndex: log.applied(),
        upstream: st.upstream,
        depth: st.depth,
        lagEntries: st.lagEntries,
        lagMs: st.lagMs,
        commitNewsAgeMs: r.commitNewsAgeMs(),
        zkDisconnectedMs: disconnectedSince === null ? 0 : Math.max(0, clock.now() - disconnectedSince),
        upstreamChanges: r.upstreamChanges(),
        feeding: feeder.figures().listeners.length,
        zkConnected: zk.state === 'connected',
        stopped,
        snapshotIndex: snap.index,
        snapshotBytes: snap.sizeBytes,
      };
    },
    start: () => {
      ephemerals.ensure();
      r.start();
    },
    stop: () => {
      stopped = true;
      stopZkWatch();
      ephemerals.stop();
      feeder.stop();
      r.stop();
      tailer.stop();
      m.stop();
      applyHook();
      pushHook();
      traceHook?.();
      snapshotter.stop();
      walSync.stop();
    },
  };
}

/**
 * What the local WAL holds that is known committed and follows the starting point. A
 * voter's WAL (a demoted voter) may hold entries past its commit index: those are not
 * committed and are dropped here (the listener never applies an uncommitted entry).
 */
function committedReplay(recovery: WalRecovery, after: number, logger: Logger): Entry[] {
  const commit = recovery.hardState?.commit ?? 0;
  const entries = recovery.entries.filter((e) => e.index > after && e.index <= commit);
  const first = entries[0];
  if (first && first.index !== after + 1) {
    logger.warn({ after, walStartsAt: first.index }, 'the local WAL does not continue the snapshot: ignoring it (the listener catches up from its upstream or ZooKeeper)');
    return [];
  }
  return entries;
}
