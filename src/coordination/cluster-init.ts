// Creates a cluster's znode tree once, atomically, and checks it on every start.
//
// epoch, tail and lease are created and immediately setData'ed in the same multi so
// their versions start at 1: node-zookeeper-client turns a version of 0 in a multi op
// into -1 ("any version"), which would silently disable the fencing check (see
// notes/zookeeper.md). Every versioned check duoraft makes is therefore against >= 1.
import { randomBytes } from 'node:crypto';
import { CorruptZnodeError, UnauthenticatedError, ZkDataLostError } from '../common/errors.js';
import type { ZkOp, ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';
import type { ClusterPaths } from './layout.js';
import {
  type ClusterIdentity,
  type ConfigRecord,
  type EpochRecord,
  type TailRecord,
  type WalHeadRecord,
  decodeConfig,
  decodeEpoch,
  decodeIdentity,
  decodeLease,
  decodeTail,
  encodeConfig,
  encodeEpoch,
  encodeIdentity,
  encodeLease,
  encodeTail,
  encodeWalHead,
  type LeaseRecord,
} from './records.js';

const EMPTY = new Uint8Array(0);

export interface ClusterState {
  readonly identity: ClusterIdentity;
  readonly epoch: { readonly term: number; readonly leaderId: string; readonly version: number };
  readonly tail: { readonly lastIndex: number; readonly term: number; readonly version: number; readonly segmentFirstIndex: number };
  readonly leaseVersion: number;
  readonly lease: LeaseRecord;
}

/** What a node that starts knows of the cluster from its own data folder. */
export interface LocalClusterView {
  /** The identity recorded in its data folder (null: none yet). */
  readonly identity: ClusterIdentity | null;
  /** Whether it holds data of the cluster (a log, a commit index, a snapshot). */
  readonly holdsData: boolean;
}

/** A node that knows nothing of the cluster (a fresh data folder, or the simulator). */
export const FRESH_NODE: LocalClusterView = { identity: null, holdsData: false };

/**
 * Creates the tree if missing and reads it. Only a node that holds no data of the cluster
 * and has no identity on record may create it: for any other, a missing tree (or one of
 * another identity) means ZooKeeper lost its data, and it is ZkDataLostError, never an
 * empty tree to serve from. A tree (or /duoraft) protected by other ZooKeeper credentials,
 * or by some while this node has none, is UNAUTHENTICATED with what to do, not a bare
 * NO_AUTH.
 */
export async function ensureClusterTree(
  zk: ZkSession,
  paths: ClusterPaths,
  local: LocalClusterView = FRESH_NODE,
  newIdentity: () => ClusterIdentity = () => ({ cluster: paths.cluster, clusterId: randomClusterId(), createdAtMs: 0 }),
): Promise<ClusterState> {
  try {
    const state = await createOrReadClusterTree(zk, paths, local, newIdentity);
    if (local.identity && local.identity.clusterId !== state.identity.clusterId) {
      throw new ZkDataLostError(
        `ZooKeeper's tree of cluster ${JSON.stringify(paths.cluster)} has identity ${state.identity.clusterId}, but this node's data belongs to identity ${local.identity.clusterId}: the tree was lost and recreated`,
      );
    }
    return state;
  } catch (err) {
    if (!(err instanceof ZkError && err.code === 'NO_AUTH')) throw err;
    throw new UnauthenticatedError(
      `ZooKeeper refused access to ${err.path || paths.root} (NO_AUTH): it is protected by a digest ACL of other credentials. ` +
        `Start every node of cluster ${JSON.stringify(paths.cluster)} with the same --zk-user/--zk-password; ` +
        `if /duoraft itself belongs to another cluster's credentials, give this cluster its own ZooKeeper chroot (--zk host:port/other-root)`,
      { cause: err },
    );
  }
}

/** 128 random bits as 32 hex digits. */
export function randomClusterId(): string {
  return randomBytes(16).toString('hex');
}

/** The parent of every cluster's tree; created by the first node (or restore) that needs it. */
export async function createParentIfMissing(zk: ZkSession): Promise<void> {
  await createIfMissing(zk, '/duoraft');
}

async function createOrReadClusterTree(zk: ZkSession, paths: ClusterPaths, local: LocalClusterView, newIdentity: () => ClusterIdentity): Promise<ClusterState> {
  await createParentIfMissing(zk);
  if ((await zk.exists(paths.root)) === null) {
    if (local.identity || local.holdsData) {
      throw new ZkDataLostError(
        `ZooKeeper has no tree for cluster ${JSON.stringify(paths.cluster)} at ${paths.root}, but this node holds its data${local.identity ? ` (identity ${local.identity.clusterId})` : ''}`,
      );
    }
    const ops = clusterTreeOps(paths, {
      identity: newIdentity(),
      epoch: { term: 0, leaderId: '' },
      tail: { term: 0, lastIndex: 0, segmentFirstIndex: 0 },
      config: { voters: [], listeners: [] },
      walHead: null,
    });
    try {
      await zk.multi(ops);
    } catch (err) {
      // Another member created it first: fine, it is checked below like any other.
      if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err;
    }
  }
  return readClusterState(zk, paths);
}

/** What a new tree starts with: a fresh cluster's (all zero), or what restore-zk seeds. */
export interface TreeSeed {
  readonly identity: ClusterIdentity;
  readonly epoch: EpochRecord;
  readonly tail: TailRecord;
  readonly config: ConfigRecord;
  /** The wal znode's head (null: empty data, a log never compacted that starts at 1). */
  readonly walHead: WalHeadRecord | null;
  /** Extra znodes created empty in the same multi (restore-zk's marker). */
  readonly markers?: readonly string[];
}

/**
 * The one multi that creates a cluster's tree, whole or not at all. epoch, tail and lease
 * are created and setData'ed in it so their versions start at 1 (see the top). Used by a
 * node creating its cluster and by duoraft admin restore-zk, so the two never differ.
 */
export function clusterTreeOps(paths: ClusterPaths, seed: TreeSeed): ZkOp[] {
  const epoch = encodeEpoch(seed.epoch);
  const tail = encodeTail(seed.tail);
  const lease = encodeLease({ term: 0, leaderId: '', seq: 0, durationMs: 0, driftBound: 0 });
  return [
    { type: 'create', path: paths.root, data: encodeIdentity(seed.identity), mode: 'persistent' },
    ...(seed.markers ?? []).map((path): ZkOp => ({ type: 'create', path, data: EMPTY, mode: 'persistent' })),
    { type: 'create', path: paths.epoch, data: epoch, mode: 'persistent' },
    { type: 'setData', path: paths.epoch, data: epoch, version: -1 },
    { type: 'create', path: paths.tail, data: tail, mode: 'persistent' },
    { type: 'setData', path: paths.tail, data: tail, version: -1 },
    { type: 'create', path: paths.lease, data: lease, mode: 'persistent' },
    { type: 'setData', path: paths.lease, data: lease, version: -1 },
    { type: 'create', path: paths.config, data: encodeConfig(seed.config), mode: 'persistent' },
    { type: 'create', path: paths.members, data: EMPTY, mode: 'persistent' },
    { type: 'create', path: paths.wal, data: seed.walHead ? encodeWalHead(seed.walHead) : EMPTY, mode: 'persistent' },
    { type: 'create', path: paths.snapshots, data: EMPTY, mode: 'persistent' },
  ];
}

/** Reads and validates epoch, tail, lease and config. Throws CorruptZnodeError for anything off. */
export async function readClusterState(zk: ZkSession, paths: ClusterPaths): Promise<ClusterState> {
  const identity = decodeIdentity(paths.root, (await readRequired(zk, paths.root)).data);
  // A tree restore-zk is writing (or left half-written) holds less than the cluster had.
  if ((await zk.exists(paths.restoring)) !== null) {
    throw new ZkDataLostError(
      `ZooKeeper's tree of cluster ${JSON.stringify(paths.cluster)} is being restored by duoraft admin restore-zk, or a restore was interrupted (${paths.restoring} exists): wait for it to finish, or run it again`,
    );
  }
  for (const p of [paths.members, paths.wal, paths.snapshots]) {
    if ((await zk.exists(p)) === null) throw new CorruptZnodeError(p, 'missing: the cluster tree is incomplete');
  }
  const [e, t, l, c] = await Promise.all([
    readRequired(zk, paths.epoch),
    readRequired(zk, paths.tail),
    readRequired(zk, paths.lease),
    readRequired(zk, paths.config),
  ]);
  const epoch = decodeEpoch(paths.epoch, e.data);
  const tail = decodeTail(paths.tail, t.data);
  const lease = decodeLease(paths.lease, l.data);
  decodeConfig(paths.config, c.data);
  for (const [path, version] of [
    [paths.epoch, e.version],
    [paths.tail, t.version],
    [paths.lease, l.version],
  ] as const) {
    if (version < 1) throw new CorruptZnodeError(path, `version ${version}: expected >= 1 (not created by duoraft)`);
  }
  return {
    identity,
    epoch: { term: epoch.term, leaderId: epoch.leaderId, version: e.version },
    tail: { lastIndex: tail.lastIndex, term: tail.term, version: t.version, segmentFirstIndex: tail.segmentFirstIndex },
    leaseVersion: l.version,
    lease,
  };
}

async function readRequired(zk: ZkSession, path: string): Promise<{ data: Uint8Array; version: number }> {
  try {
    const r = await zk.getData(path);
    return { data: r.data, version: r.stat.version };
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') throw new CorruptZnodeError(path, 'missing: the cluster tree is incomplete');
    throw err;
  }
}

async function createIfMissing(zk: ZkSession, path: string): Promise<void> {
  try {
    await zk.create(path, EMPTY, 'persistent');
  } catch (err) {
    if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err;
  }
}
