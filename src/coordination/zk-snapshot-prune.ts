// Keeping snapshots/ small: the newest `keep` complete snapshots stay; every other one
// goes, and so does what cannot become a snapshot:
//   - a partial upload (no manifest) older than the newest complete snapshot, or started
//     under an older epoch version than the caller's (its uploader was deposed: every write
//     of it checks the epoch, so it can never finish), or older than the grace period by
//     its uploader's clock, or without a readable upload record;
//   - a snapshot whose manifest does not verify, once a newer complete one exists.
// A partial upload of the caller's own epoch, newer than every complete snapshot and
// within the grace period, is an upload in progress and stays.
import type { Logger } from '../common/logger.js';
import type { EpochWriter } from './zk-epoch-multi.js';
import { scanSnapshots, type SnapshotDir } from './zk-snapshot-list.js';
import { removeSnapshotDir } from './zk-snapshot-remove.js';

export const DEFAULT_KEEP_SNAPSHOTS = 2;
/** A partial upload older than this (by its uploader's wall clock) is abandoned. */
export const DEFAULT_PARTIAL_GRACE_MS = 10 * 60_000;

export interface PruneOptions {
  readonly keep: number;
  readonly partialGraceMs: number;
}

export interface PruneReport {
  /** Indexes of the complete snapshots kept, newest first. */
  readonly kept: readonly number[];
  readonly removed: ReadonlyArray<{ readonly index: number; readonly why: string }>;
}

/** Why dir should go, or null to keep it. */
export function pruneReason(dir: SnapshotDir, keptComplete: readonly number[], newestComplete: number, epochVersion: number, nowWallMs: number, o: PruneOptions): string | null {
  switch (dir.state) {
    case 'complete':
      return keptComplete.includes(dir.index) ? null : `older than the newest ${o.keep} complete snapshots`;
    case 'corrupt':
      return dir.index < newestComplete ? `its manifest does not verify (${dir.problem}) and a newer snapshot is complete` : null;
    case 'partial': {
      if (dir.index <= newestComplete) return 'an unfinished upload older than the newest complete snapshot';
      if (!dir.upload) return 'an unfinished upload without a readable upload record';
      if (dir.upload.epochVersion < epochVersion) return `an unfinished upload of a deposed leader (${dir.upload.nodeId}, epoch version ${dir.upload.epochVersion})`;
      if (nowWallMs - dir.upload.startedAtMs > o.partialGraceMs) return `an unfinished upload started more than ${o.partialGraceMs} ms ago`;
      return null;
    }
  }
}

export async function pruneSnapshots(w: EpochWriter, logger: Logger, o: PruneOptions): Promise<PruneReport> {
  const dirs = await scanSnapshots(w.zk, w.paths, logger);
  const complete = dirs.filter((d) => d.state === 'complete').map((d) => d.index);
  const kept = complete.slice(0, Math.max(1, o.keep));
  const newestComplete = complete[0] ?? 0;
  const now = w.clock.wallNow();
  const removed: Array<{ index: number; why: string }> = [];
  for (const dir of dirs) {
    const why = pruneReason(dir, kept, newestComplete, w.epochVersion, now, o);
    if (!why) continue;
    await removeSnapshotDir(w, dir.index);
    logger.info({ index: dir.index, why }, 'zk snapshot: removed');
    removed.push({ index: dir.index, why });
  }
  return { kept, removed };
}
