// A node with nothing of its own (an empty data folder) whose cluster has taken writes starts
// from the newest complete snapshot in ZooKeeper, then replays or receives only what follows
// it (PROTOCOL.md section 8). Part of the node's start (NodeDriver.start); kept apart from the
// driver because it runs before there is one, and has one reason to change: how a rebuild
// finds and verifies its snapshot.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { decodeWalHead } from '../coordination/records.js';
import { ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import type { LoadedSnapshot } from '../statemachine/snapshot-loader.js';
import type { WalRecovery } from '../storage/local-wal.js';
import type { SavedSnapshot } from '../storage/snapshot-store.js';
import type { NodeSnapshots } from './node-driver-deps.js';

export interface RebuildDeps {
  readonly zk: ZkSession;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly recovery: WalRecovery;
  readonly snapshots: NodeSnapshots | undefined;
}

/** Rebuilt from a snapshot; or ZooKeeper has snapshots but none this node can use. */
export type RebuildOutcome = { readonly saved: SavedSnapshot; readonly loaded: LoadedSnapshot } | { readonly unusable: string };

/**
 * Null: nothing to rebuild from (ZooKeeper's log is empty or ZooKeeper snapshots are off), or
 * the node has its own state, or ZooKeeper's log was never compacted (it replays all of it).
 * `unusable`: snapshots exist but none verifies and ZooKeeper's log was compacted behind one,
 * so this node must not lead with less than the cluster has.
 */
export async function rebuildFromZk(deps: RebuildDeps, paths: ClusterPaths, zkTail: number): Promise<RebuildOutcome | null> {
  const s = deps.snapshots;
  if (!s || s.initial || s.useZooKeeper === false || zkTail === 0) return null;
  if (deps.recovery.entries.length > 0 || (deps.recovery.hardState?.commit ?? 0) > 0) return null;
  const zkStore = new ZkSnapshotStore({ zk: deps.zk, paths, clock: deps.clock, logger: deps.logger, nodeId: deps.nodeId, ...zkChunkBytesOf(s) });
  const started = deps.clock.now();
  const got = await zkStore.fetchNewest((m, chunks) =>
    s.storage.receive({ point: m.point, sizeBytes: m.sizeBytes, sha256: Buffer.from(m.sha256).toString('hex'), source: `ZooKeeper snapshot ${m.point.index}` }, chunks),
  );
  if (!got) {
    // Nothing was compacted (the wal head still names segment 1): ZooKeeper's log holds every
    // entry, so the node replays it like any fresh node and may lead. A partial directory (an
    // upload under way, or one a crashed leader left) never has compaction behind it.
    const head = decodeWalHead(paths.wal, (await deps.zk.getData(paths.wal)).data);
    if (head.firstSegmentIndex === 1) return null;
    const found = await zkStore.scan();
    if (found.length > 0) {
      deps.logger.error(
        { snapshots: found.map((d) => ({ index: d.index, state: d.state })) },
        'empty data folder and no usable snapshot in ZooKeeper (each is corrupt or incomplete): this node cannot rebuild the state from ZooKeeper and serves nothing until its peer, started on its own data folder, sends it a snapshot; or restore ZooKeeper from a backup',
      );
      return { unusable: 'empty data folder and no usable snapshot in ZooKeeper' };
    }
    return null;
  }
  const loaded = await s.storage.load(got.result);
  deps.logger.info({ index: loaded.point.index, bytes: got.result.sizeBytes, ms: Math.round(deps.clock.now() - started) }, 'empty data folder: rebuilt from the newest snapshot in ZooKeeper');
  return { saved: got.result, loaded };
}

/** The ZooKeeper chunk size the node's snapshot settings ask for (the simulator's small pieces), if any. */
export function zkChunkBytesOf(s: NodeSnapshots | undefined): { chunkBytes?: number } {
  const chunkBytes = s?.pieces?.zkChunkBytes;
  return chunkBytes !== undefined ? { chunkBytes } : {};
}
