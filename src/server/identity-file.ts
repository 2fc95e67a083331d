// The cluster identity in a node's data folder (DATA/identity): written once, at the first
// start that reached the cluster's tree, and compared with ZooKeeper's at every start (see
// ensureClusterTree). Same sealed record as the root znode: kind, format, checksum.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptWalError } from '../common/errors.js';
import { type ClusterIdentity, decodeIdentity, encodeIdentity } from '../coordination/records.js';
import { writeFileDurably } from '../storage/durable-file.js';

const FILE = 'identity';

export function identityFile(dataDir: string): string {
  return join(dataDir, FILE);
}

/** The identity on record in dataDir, or null when there is none. A damaged file is an error naming it. */
export async function readIdentity(dataDir: string): Promise<ClusterIdentity | null> {
  const file = identityFile(dataDir);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return decodeIdentity(file, bytes);
  } catch (err) {
    throw new CorruptWalError(file, 0, `the cluster identity record does not verify (${(err as Error).message}); remove the file only if this data folder really belongs to the cluster in ZooKeeper`);
  }
}

/** Records the identity durably: temp file, fsync, rename, directory fsync. */
export async function writeIdentity(dataDir: string, identity: ClusterIdentity): Promise<void> {
  await writeFileDurably(identityFile(dataDir), encodeIdentity(identity));
}
