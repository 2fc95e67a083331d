// What snapshots/ holds: each directory is complete (its manifest is there and verifies),
// partial (no manifest: an upload in progress, or one a crash left behind) or corrupt (a
// manifest that does not verify). Reading it costs one getChildren of snapshots/ (a few
// names) and one small read per directory.
import { CorruptZnodeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { parseSnapshotName, type ClusterPaths } from './layout.js';
import type { ZkSession } from './zk-api.js';
import { readOrNull } from './zk-epoch-multi.js';
import { decodeManifest, decodeUploadRecord, type SnapshotUploadRecord, type ZkSnapshotManifest } from './zk-snapshot-records.js';

export type SnapshotDir =
  | { readonly index: number; readonly state: 'complete'; readonly manifest: ZkSnapshotManifest }
  | { readonly index: number; readonly state: 'partial'; readonly upload: SnapshotUploadRecord | null }
  | { readonly index: number; readonly state: 'corrupt'; readonly problem: string };

/** Every snapshot directory, newest (highest index) first. Names that are not snapshot indexes are skipped, with a warning. */
export async function scanSnapshots(zk: ZkSession, paths: ClusterPaths, logger: Logger): Promise<SnapshotDir[]> {
  const names = await zk.getChildren(paths.snapshots);
  const indexes: number[] = [];
  for (const name of names) {
    const index = parseSnapshotName(name);
    if (index === null) logger.warn({ path: `${paths.snapshots}/${name}` }, 'zk snapshot: a znode under snapshots/ that is not a snapshot; left alone');
    else indexes.push(index);
  }
  indexes.sort((a, b) => b - a);
  const out: SnapshotDir[] = [];
  for (const index of indexes) {
    const dir = await readSnapshotDir(zk, paths, index);
    if (dir) out.push(dir);
  }
  return out;
}

/** One snapshot directory's state, or null if it is gone. */
export async function readSnapshotDir(zk: ZkSession, paths: ClusterPaths, index: number): Promise<SnapshotDir | null> {
  const manifestPath = paths.snapshotManifest(index);
  const manifest = await readOrNull(zk, manifestPath);
  if (manifest) {
    try {
      return { index, state: 'complete', manifest: decodeManifest(manifestPath, manifest.data, index) };
    } catch (err) {
      if (err instanceof CorruptZnodeError) return { index, state: 'corrupt', problem: err.message };
      throw err;
    }
  }
  const dirPath = paths.snapshot(index);
  const dir = await readOrNull(zk, dirPath);
  if (!dir) return null;
  let upload: SnapshotUploadRecord | null = null;
  try {
    upload = decodeUploadRecord(dirPath, dir.data);
  } catch (err) {
    if (!(err instanceof CorruptZnodeError)) throw err;
  }
  return { index, state: 'partial', upload };
}

/** The complete snapshots, newest first. A corrupt manifest is skipped with a warning naming it. */
export async function listCompleteSnapshots(zk: ZkSession, paths: ClusterPaths, logger: Logger): Promise<ZkSnapshotManifest[]> {
  const out: ZkSnapshotManifest[] = [];
  for (const dir of await scanSnapshots(zk, paths, logger)) {
    if (dir.state === 'complete') out.push(dir.manifest);
    else if (dir.state === 'corrupt') logger.warn({ index: dir.index, problem: dir.problem }, 'zk snapshot: skipping a snapshot whose manifest does not verify');
  }
  return out;
}
