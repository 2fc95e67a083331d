// What a node's data folder holds, read offline and verified, changing nothing in it:
// what `duoraft admin restore-zk` seeds ZooKeeper from (and compares with another folder).
//
// Verified as a node's start would: the identity record (sealed, checksummed), the local
// WAL's records (CRC32C, framing; repairs a start would make are reported, not made), the
// newest snapshot that loads (a broken one is skipped like a node skips it), and the hash
// chain: from the snapshot's chain value (or the cluster's genesis) through every entry
// after it, and the entries the WAL still holds up to the snapshot linked to its value.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptWalError, RestoreRefusedError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { ClusterIdentity } from '../coordination/records.js';
import { chainHex, genesisChain, sameChain } from '../core/chain.js';
import { ChainMismatchError, RaftLog } from '../core/log.js';
import type { ChainedEntry, Entry, HardState } from '../core/types.js';
import { loadSnapshot } from '../statemachine/snapshot-loader.js';
import { recoverWalDir } from '../storage/file-wal-recovery.js';
import { parseSnapshotFileName, readFileChunks } from '../storage/snapshot-files.js';
import { readSnapshot } from '../statemachine/snapshot-reader.js';
import { readIdentity } from './identity-file.js';

/** A verified snapshot file of the folder. */
export interface FolderSnapshot {
  readonly point: SnapshotPoint;
  readonly file: string;
  readonly sizeBytes: number;
  /** SHA-256 of the file, lowercase hex. */
  readonly sha256: string;
}

export interface FolderReport {
  readonly dataDir: string;
  readonly identity: ClusterIdentity;
  /** The newest snapshot that verifies (null: none; the log then starts at index 1). */
  readonly snapshot: FolderSnapshot | null;
  /** Snapshot files that did not verify, skipped as a node's start would skip them. */
  readonly skippedSnapshots: ReadonlyArray<{ readonly file: string; readonly problem: string }>;
  readonly hardState: HardState | null;
  /** The commit index on record (0: none): every entry up to it was committed in ZooKeeper. */
  readonly commitIndex: number;
  /** The last index the folder holds (snapshot or log), and its term. */
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The highest term the folder saw (hard state, entries, snapshot). */
  readonly maxTerm: number;
  /**
   * The entries to seed ZooKeeper's log with, chained and contiguous: from the snapshot's own
   * index when the WAL still holds that entry (a take-over's replay reads the entry at its
   * commit index), else from the one after it; to lastIndex.
   */
  readonly entries: readonly ChainedEntry[];
  /** What a node's start would repair in the WAL (a torn tail, temp files), and what was skipped. */
  readonly warnings: readonly string[];
  /** The chain value at an index the folder knows (the snapshot's point, or an entry it holds); undefined otherwise. */
  chainAt(index: number): Uint8Array | undefined;
}

/**
 * Reads and verifies `dataDir` of `cluster`. Throws CorruptWalError when the WAL or its
 * hash chain does not verify, RestoreRefusedError('folder-unusable') when the folder has no
 * identity on record or holds nothing.
 */
export async function readDataFolder(dataDir: string, cluster: string): Promise<FolderReport> {
  const identity = await readIdentity(dataDir);
  if (!identity) {
    throw new RestoreRefusedError('folder-unusable', `${dataDir} has no cluster identity on record (${join(dataDir, 'identity')}): it is not the data folder of a node that joined a cluster`);
  }
  if (identity.cluster !== cluster) {
    throw new RestoreRefusedError('folder-unusable', `${dataDir} belongs to cluster ${JSON.stringify(identity.cluster)}, not ${JSON.stringify(cluster)} (--cluster)`);
  }
  const walDir = join(dataDir, 'wal');
  const { recovery } = await recoverWalDir(walDir, silentLogger, { repair: false });
  const warnings = [...recovery.warnings];
  const { snapshot, skipped } = await newestLoadableSnapshot(join(dataDir, 'snapshots'), cluster);
  for (const s of skipped) warnings.push(`snapshot ${s.file} skipped: ${s.problem}`);

  const genesis = genesisChain(identity.clusterId);
  const snapIndex = snapshot?.point.index ?? 0;
  const walEntries = recovery.entries;
  const first = walEntries[0]?.index ?? 0;
  if (first > snapIndex + 1) {
    throw new CorruptWalError(walDir, 0, `the log starts at index ${first}, but the newest snapshot that verifies covers only up to ${snapIndex}: entries ${snapIndex + 1}..${first - 1} are nowhere in this folder`);
  }
  const upToSnapshot = walEntries.filter((e) => e.index <= snapIndex);
  const afterSnapshot = walEntries.filter((e) => e.index > snapIndex);
  const point = snapshot?.point ?? { index: 0, term: 0, chain: genesis };
  let chainedAfter: ChainedEntry[];
  try {
    chainedAfter = RaftLog.chainFrom(point.chain, afterSnapshot);
  } catch (err) {
    if (err instanceof ChainMismatchError) throw new CorruptWalError(walDir, 0, `${err.message} (${snapshot ? `chained from the snapshot at ${snapIndex}` : 'chained from the cluster genesis'})`);
    throw err;
  }
  const chainedBefore = verifyUpToSnapshot(walDir, upToSnapshot, point, genesis);

  const atSnapshot = chainedBefore.at(-1);
  const entries = atSnapshot && atSnapshot.index === snapIndex && snapIndex > 0 ? [atSnapshot, ...chainedAfter] : chainedAfter;
  const last = chainedAfter.at(-1);
  const lastIndex = last?.index ?? snapIndex;
  const lastTerm = last?.term ?? point.term;
  const hardState = recovery.hardState;
  const commitIndex = hardState?.commit ?? 0;
  if (lastIndex === 0) throw new RestoreRefusedError('folder-unusable', `${dataDir} holds no log entry and no snapshot: nothing to restore from`);
  if (commitIndex > lastIndex) warnings.push(`the commit index on record (${commitIndex}) is past the last entry held (${lastIndex}): entries ${lastIndex + 1}..${commitIndex} were committed and are not in this folder`);

  const known = new Map<number, Uint8Array>();
  for (const e of chainedBefore) known.set(e.index, e.chain);
  for (const e of chainedAfter) known.set(e.index, e.chain);
  if (snapshot) known.set(snapIndex, snapshot.point.chain);
  return {
    dataDir,
    identity,
    snapshot,
    skippedSnapshots: skipped,
    hardState,
    commitIndex,
    lastIndex,
    lastTerm,
    maxTerm: walEntries.reduce((m, e) => Math.max(m, e.term), Math.max(hardState?.term ?? 0, lastTerm, point.term)),
    entries,
    warnings,
    chainAt: (index) => (index === 0 ? genesis : known.get(index)),
  };
}

/**
 * The WAL's entries up to the snapshot's index (whole WAL files outlive the snapshot):
 * chained among themselves (from the genesis when they start at 1), and the one at the
 * snapshot's index must carry the snapshot's chain value.
 */
function verifyUpToSnapshot(walDir: string, entries: readonly Entry[], point: SnapshotPoint, genesis: Uint8Array): ChainedEntry[] {
  const head = entries[0];
  if (!head) return [];
  const startChain = head.index === 1 ? genesis : head.chain;
  if (!startChain) throw new CorruptWalError(walDir, 0, `entry ${head.index} carries no chain value`);
  let chained: ChainedEntry[];
  try {
    chained = head.index === 1 ? RaftLog.chainFrom(genesis, entries) : [{ ...head, chain: startChain }, ...RaftLog.chainFrom(startChain, entries.slice(1))];
  } catch (err) {
    if (err instanceof ChainMismatchError) throw new CorruptWalError(walDir, 0, `${err.message} (entries the snapshot at ${point.index} covers)`);
    throw err;
  }
  const atPoint = chained.at(-1);
  if (atPoint && atPoint.index === point.index && !sameChain(atPoint.chain, point.chain)) {
    throw new CorruptWalError(walDir, 0, `entry ${point.index} carries chain ${chainHex(atPoint.chain)}, the snapshot at that index ${chainHex(point.chain)}: they are of different histories`);
  }
  return chained;
}

/** The newest snapshot file that loads and belongs to `cluster`; the ones that do not, with why. */
async function newestLoadableSnapshot(dir: string, cluster: string): Promise<{ snapshot: FolderSnapshot | null; skipped: Array<{ file: string; problem: string }> }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { snapshot: null, skipped: [] };
    throw err;
  }
  const candidates = names
    .map((name) => ({ name, parsed: parseSnapshotFileName(name) }))
    .filter((c): c is { name: string; parsed: { index: number; term: number } } => c.parsed !== null)
    .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
  const skipped: Array<{ file: string; problem: string }> = [];
  for (const { name, parsed } of candidates) {
    const file = join(dir, name);
    try {
      // Framing, checksums and digest first (cheap), then a full load as a node would.
      const summary = await readSnapshot(file, readFileChunks(file, 256 * 1024), undefined, { decode: false });
      const { point } = summary.header;
      if (point.index !== parsed.index || point.term !== parsed.term) throw new Error(`it holds index ${point.index} term ${point.term}, not what its name says`);
      await loadSnapshot(file, readFileChunks(file, 256 * 1024), { cluster, expectedPoint: point });
      return { snapshot: { point, file, sizeBytes: summary.sizeBytes, sha256: summary.sha256 }, skipped };
    } catch (err) {
      skipped.push({ file, problem: (err as Error).message });
    }
  }
  return { snapshot: null, skipped };
}
