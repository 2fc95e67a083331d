// Downloading a complete snapshot from ZooKeeper as its chunks, in order, verified: each
// chunk must be there, decode, pass its CRC32C, belong to this snapshot at this position
// and have the size the manifest implies; at the end the whole SHA-256 and size must match
// the manifest. A chunk or manifest that fails is refused with CorruptZnodeError naming the
// znode (the caller falls back to the previous snapshot). A snapshot removed while it is
// read (pruned after two newer ones landed) fails with UnavailableError: list again.
//
// A few chunk reads run ahead of the consumer (bounded), so a download is not one round
// trip per chunk.
import { createHash } from 'node:crypto';
import { CorruptZnodeError, UnavailableError } from '../common/errors.js';
import type { ClusterPaths } from './layout.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';
import { readOrNull, sameBytes } from './zk-epoch-multi.js';
import { chunkSizeAt, decodeChunk, decodeManifest, type ZkSnapshotManifest } from './zk-snapshot-records.js';

/** Default bound on chunk reads in flight ahead of the consumer. */
export const DEFAULT_DOWNLOAD_READ_AHEAD = 4;
export const MAX_DOWNLOAD_READ_AHEAD = 16;

export async function* downloadSnapshot(zk: ZkSession, paths: ClusterPaths, m: ZkSnapshotManifest, readAhead = DEFAULT_DOWNLOAD_READ_AHEAD): AsyncGenerator<Uint8Array> {
  const index = m.point.index;
  const manifestPath = paths.snapshotManifest(index);
  // The manifest the caller listed must still be the one there.
  const now = await readOrNull(zk, manifestPath);
  if (!now) throw gone(index);
  const current = decodeManifest(manifestPath, now.data, index);
  if (!sameBytes(current.sha256, m.sha256) || current.sizeBytes !== m.sizeBytes) throw new UnavailableError(`snapshot ${index} was replaced since it was listed; list the snapshots again`);

  const ahead = Math.max(1, Math.min(MAX_DOWNLOAD_READ_AHEAD, Math.floor(readAhead)));
  const pending: Array<Promise<Uint8Array>> = [];
  let requested = 0;
  const request = (): void => {
    const n = requested++;
    const p = readChunk(zk, paths, m, n);
    // Reads still ahead when the consumer stops (or one fails) must not become unhandled rejections.
    p.catch(() => undefined);
    pending.push(p);
  };
  const hash = createHash('sha256');
  let size = 0;
  for (let n = 0; n < m.chunkCount; n++) {
    while (requested < m.chunkCount && pending.length < ahead) request();
    const chunk = await pending.shift()!;
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const sha = new Uint8Array(hash.digest());
  if (size !== m.sizeBytes || !sameBytes(sha, m.sha256)) {
    throw new CorruptZnodeError(manifestPath, `the chunks hold ${size} bytes hashing to ${hex(sha)}, the manifest says ${m.sizeBytes} bytes hashing to ${hex(m.sha256)}`);
  }
}

async function readChunk(zk: ZkSession, paths: ClusterPaths, m: ZkSnapshotManifest, n: number): Promise<Uint8Array> {
  const index = m.point.index;
  const path = paths.snapshotChunk(index, n);
  try {
    const { data } = await zk.getData(path);
    return decodeChunk(path, data, index, n, chunkSizeAt(n, m.sizeBytes, m.chunkBytes));
  } catch (err) {
    if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err;
    // Pruned meanwhile (the manifest goes first), or a chunk lost from a complete snapshot.
    if ((await zk.exists(paths.snapshotManifest(index))) === null) throw gone(index);
    throw new CorruptZnodeError(path, `missing: the manifest says the snapshot has ${m.chunkCount} chunks`);
  }
}

function gone(index: number): UnavailableError {
  return new UnavailableError(`snapshot ${index} was removed from ZooKeeper (pruned after newer ones); list the snapshots again`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
