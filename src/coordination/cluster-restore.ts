// What duoraft admin restore-zk reads from ZooKeeper and writes to it. Every znode is
// written by the code the nodes write it with: the tree's creation multi (cluster-init.ts),
// the WAL mirror's chained append multis (wal-mirror.ts), the snapshot upload
// (zk-snapshot-upload.ts); so the formats cannot diverge.
//
// The order keeps a half-done restore from ever being served:
//  1. (replacing a tree) delete the old one, children first, the root last;
//  2. one multi creates the whole tree with the `restoring` marker in it, the epoch at a
//     term above anything the data folder saw (led by RESTORE_LEADER, no process), the tail
//     just before the first entry to write;
//  3. the log, through a WalMirror of that epoch: the tail moves with every segment;
//  4. the snapshot, uploaded under the same epoch (its manifest last, as always);
//  5. multi(check(epoch), delete(restoring)).
// A node refuses to start on a tree holding the marker (readClusterState), and running the
// restore again replaces such a tree.
import type { Clock } from '../common/clock.js';
import { UnavailableError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ChainedEntry } from '../core/types.js';
import { clusterTreeOps, createParentIfMissing, readClusterState, type ClusterState } from './cluster-init.js';
import type { ClusterPaths } from './layout.js';
import { decodeIdentity, type ClusterIdentity } from './records.js';
import { WalMirror } from './wal-mirror.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';
import { DELETES_PER_MULTI } from './zk-snapshot-remove.js';
import { uploadSnapshot } from './zk-snapshot-upload.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, type SnapshotPoint } from './zk-snapshot-records.js';

/** The epoch's leader while a restored tree waits for its first take-over (a name no voter needs). */
export const RESTORE_LEADER = 'restore-zk';

/** What ZooKeeper holds at the cluster's root. */
export type TreeFound =
  | { readonly kind: 'none' }
  /** The root exists but its identity record does not verify. */
  | { readonly kind: 'unreadable'; readonly problem: string; readonly members: readonly string[]; readonly leader: boolean }
  | {
      readonly kind: 'tree';
      readonly identity: ClusterIdentity;
      /** A restore is under way or was interrupted. */
      readonly restoring: boolean;
      /** The tree's state, or null with `problem` when part of it is missing or corrupt. */
      readonly state: ClusterState | null;
      readonly problem: string | null;
      /** Registered members (ephemerals of running nodes). */
      readonly members: readonly string[];
      /** Whether a leader ephemeral exists. */
      readonly leader: boolean;
      /** Snapshot directories under snapshots/. */
      readonly snapshots: number;
    };

/** Reads what ZooKeeper holds for the cluster, without changing anything. */
export async function inspectTree(zk: ZkSession, paths: ClusterPaths): Promise<TreeFound> {
  let rootData: Uint8Array;
  try {
    rootData = (await zk.getData(paths.root)).data;
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') return { kind: 'none' };
    throw err;
  }
  const members = await childrenOrEmpty(zk, paths.members);
  const leader = (await zk.exists(paths.leader)) !== null;
  let identity: ClusterIdentity;
  try {
    identity = decodeIdentity(paths.root, rootData);
  } catch (err) {
    return { kind: 'unreadable', problem: (err as Error).message, members, leader };
  }
  const restoring = (await zk.exists(paths.restoring)) !== null;
  const snapshots = (await childrenOrEmpty(zk, paths.snapshots)).length;
  let state: ClusterState | null = null;
  let problem: string | null = null;
  if (!restoring) {
    try {
      state = await readClusterState(zk, paths);
    } catch (err) {
      if (err instanceof ZkError && err.code !== 'NO_NODE') throw err;
      problem = (err as Error).message;
    }
  }
  return { kind: 'tree', identity, restoring, state, problem, members, leader, snapshots };
}

async function childrenOrEmpty(zk: ZkSession, path: string): Promise<string[]> {
  try {
    return await zk.getChildren(path);
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') return [];
    throw err;
  }
}

/**
 * Deletes the cluster's tree, children before parents, the root last, in multis of at most
 * 100 deletes. Bounded by maxZnodes (a tree larger than that is refused: delete it with
 * zkCli's deleteall). A listing of over 1 MiB (tens of thousands of segments) fails in
 * ZooKeeper itself; the error then says so.
 */
export async function deleteTree(zk: ZkSession, root: string, maxZnodes = 1_000_000): Promise<number> {
  const order: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    order.push(path);
    if (order.length > maxZnodes) throw new UnavailableError(`${root} holds more than ${maxZnodes} znodes: delete it with zkCli.sh (deleteall ${root}) and run restore-zk again`);
    for (const child of await childrenOrEmpty(zk, path)) stack.push(`${path}/${child}`);
  }
  // Depth-first pre-order reversed: every child before its parent.
  order.reverse();
  for (let i = 0; i < order.length; i += DELETES_PER_MULTI) {
    const batch = order.slice(i, i + DELETES_PER_MULTI);
    await zk.multi(batch.map((path) => ({ type: 'delete' as const, path, version: -1 })));
  }
  return order.length;
}

/** What the restored tree is made of. */
export interface RestoredTree {
  readonly identity: ClusterIdentity;
  /** The epoch's term: above any term the data folder(s) saw. */
  readonly epochTerm: number;
  /** The voters the config znode names (empty: the first two nodes to start register, as on a new cluster). */
  readonly voters: readonly string[];
  /** The log to write, chained and contiguous; the first may be the snapshot's own entry. */
  readonly entries: readonly ChainedEntry[];
  /** The snapshot to upload (null: none, the log starts at index 1). */
  readonly snapshot: {
    readonly point: SnapshotPoint;
    readonly sizeBytes: number;
    readonly sha256: Uint8Array;
    readonly chunks: () => AsyncIterable<Uint8Array>;
  } | null;
}

export interface RestoreWriteOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bound on one segment's entry data (the nodes' maxSegmentBytes). */
  readonly maxSegmentBytes: number;
  /** Told how far the log got. */
  readonly onProgress?: (step: string) => void;
}

/** Entries handed to the mirror at a time: the queue it holds is bounded by this. */
const ENQUEUE_WINDOW = 8192;
/** Multis in flight while writing the log (the nodes' pipeline depth). */
const MAX_INFLIGHT = 4;
/** The log write gives up when ZooKeeper confirms nothing for this long. */
const NO_PROGRESS_TIMEOUT_MS = 60_000;

/**
 * Writes the tree (steps 2 to 5 above); the root must not exist. Returns the epoch
 * version it wrote under. Throws ZkError('NODE_EXISTS') if the root appeared meanwhile,
 * UnavailableError when a write could not be confirmed: the marker then stays, nodes
 * refuse the tree, and the restore can be run again.
 */
export async function writeRestoredTree(o: RestoreWriteOptions, tree: RestoredTree): Promise<{ epochVersion: number }> {
  const { zk, paths } = o;
  const first = tree.entries[0]?.index ?? (tree.snapshot ? tree.snapshot.point.index + 1 : 1);
  const snapshotIndex = tree.snapshot?.point.index ?? 0;
  // A ZooKeeper that lost everything has no /duoraft either.
  await createParentIfMissing(zk);
  await zk.multi(
    clusterTreeOps(paths, {
      identity: tree.identity,
      epoch: { term: tree.epochTerm, leaderId: RESTORE_LEADER },
      tail: { term: 0, lastIndex: first - 1, segmentFirstIndex: 0 },
      config: { voters: tree.voters, listeners: [] },
      walHead: first > 1 || snapshotIndex > 0 ? { firstSegmentIndex: first, snapshotIndex } : null,
      markers: [paths.restoring],
    }),
  );
  const epochVersion = 1;
  o.onProgress?.(`created ${paths.root} (epoch term ${tree.epochTerm}, marked restoring)`);
  if (tree.entries.length > 0) await writeLog(o, tree, epochVersion, first);
  if (tree.snapshot) {
    const s = tree.snapshot;
    await uploadSnapshot(
      { zk, paths, clock: o.clock, logger: o.logger, nodeId: RESTORE_LEADER, chunkBytes: DEFAULT_SNAPSHOT_CHUNK_BYTES },
      { point: s.point, sizeBytes: s.sizeBytes, sha256: s.sha256, chunks: s.chunks(), epochVersion },
    );
    o.onProgress?.(`uploaded the snapshot at index ${s.point.index} (${s.sizeBytes} bytes)`);
  }
  await zk.multi([
    { type: 'check', path: paths.epoch, version: epochVersion },
    { type: 'delete', path: paths.restoring, version: -1 },
  ]);
  o.onProgress?.(`removed ${paths.restoring}: the tree is whole`);
  return { epochVersion };
}

/** The log through a WalMirror of the restore's epoch, ENQUEUE_WINDOW entries at a time. */
async function writeLog(o: RestoreWriteOptions, tree: RestoredTree, epochVersion: number, first: number): Promise<void> {
  const last = tree.entries[tree.entries.length - 1]!.index;
  let committed = first - 1;
  let wake: (() => void) | null = null;
  let failure: string | null = null;
  const mirror = new WalMirror({
    zk: o.zk,
    paths: o.paths,
    clock: o.clock,
    logger: o.logger,
    term: tree.epochTerm,
    epochVersion,
    tailVersion: 1,
    tailLastIndex: first - 1,
    tailSegmentFirstIndex: 0,
    maxInflight: MAX_INFLIGHT,
    maxBatchBytes: o.maxSegmentBytes,
    maxQueuedEntries: ENQUEUE_WINDOW,
    onCommitted: (index) => {
      committed = index;
      wake?.();
    },
    onFenced: (reason) => {
      failure = `someone else moved the epoch while the log was written (${reason})`;
      wake?.();
    },
    onFailed: (reason) => {
      failure = reason;
      wake?.();
    },
  });
  try {
    let next = 0;
    while (committed < last) {
      if (failure !== null) throw new UnavailableError(`writing the log to ZooKeeper failed at index ${committed + 1}: ${failure}; ${o.paths.restoring} stays, so no node starts on this tree: run restore-zk again`);
      if (next < tree.entries.length && mirror.backlog() < ENQUEUE_WINDOW / 2) {
        const slice = tree.entries.slice(next, next + ENQUEUE_WINDOW / 2);
        next += slice.length;
        mirror.enqueue(slice);
        continue;
      }
      const before = committed;
      await new Promise<void>((resolve) => {
        const timer = o.clock.setTimeout(resolve, NO_PROGRESS_TIMEOUT_MS);
        wake = () => {
          timer.cancel();
          resolve();
        };
      });
      wake = null;
      if (committed === before && failure === null) failure = `ZooKeeper confirmed nothing for ${NO_PROGRESS_TIMEOUT_MS} ms`;
      if (committed > before && (committed - first) % 10_000 < committed - before) o.onProgress?.(`log written up to index ${committed} of ${last}`);
    }
  } finally {
    mirror.close();
  }
  o.onProgress?.(`wrote the log ${first}..${last}`);
}
