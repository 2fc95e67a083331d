// Removing one snapshot directory from ZooKeeper, under the epoch check. The manifest goes
// first, in a multi of its own: from then on the snapshot is incomplete for every reader
// (a download in progress fails cleanly), and a crash part-way leaves a partial upload,
// which prune removes like any other.
import { SNAPSHOT_MANIFEST_NAME } from './layout.js';
import { ZkError } from './zk-api.js';
import { deleteAll, type EpochWriter } from './zk-epoch-multi.js';

/** Deletes per multi: small requests, so the leader's commit multis never wait long behind one. */
export const DELETES_PER_MULTI = 100;

export async function removeSnapshotDir(w: EpochWriter, index: number): Promise<void> {
  const dir = w.paths.snapshot(index);
  let children: string[];
  try {
    children = await w.zk.getChildren(dir);
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') return;
    throw err;
  }
  if (children.includes(SNAPSHOT_MANIFEST_NAME)) await deleteAll(w, [w.paths.snapshotManifest(index)], 1, `remove the manifest of snapshot ${index}`);
  const rest = children.filter((c) => c !== SNAPSHOT_MANIFEST_NAME).map((c) => `${dir}/${c}`);
  await deleteAll(w, [...rest, dir], DELETES_PER_MULTI, `remove snapshot ${index}`);
}
