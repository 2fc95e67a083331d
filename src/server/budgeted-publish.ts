// The leader's publish of a snapshot to ZooKeeper, kept within the budget
// (--zk-budget-bytes; notes/snapshots.md, "The ZooKeeper budget").
//
// Every upload must fit with room for the log, which keeps growing while it runs.
//
// Normal: upload, keep the newest two complete snapshots, compact wal/ through the older one
// (the newest could turn out corrupt: the older one and the log after it still rebuild).
// ZooKeeper then holds at most three snapshots (during an upload) and about two intervals
// of log.
//
// Tight, when that does not fit: before the upload, if it would not fit, drop every snapshot
// but the newest and compact wal/ through it; after the upload, if the next upload would
// not fit, do the same through the one just uploaded. ZooKeeper then holds at most two
// snapshots (during an upload) and about one interval of log. The price: between uploads a
// single snapshot stands for the state in ZooKeeper; if it is corrupt, a node that needs
// ZooKeeper alone cannot rebuild (it says so and serves nothing, issue 10 point 7).
//
// Over, when even that does not fit and the state alone is too large (two snapshots of it and
// the floor reserve exceed the budget): the snapshot is not uploaded, or it is but the next
// one will not fit; the caller refuses writes that add data. Whether the state is too large
// never depends on the write rate: a fast writer makes snapshots come sooner, never refused.
//
// An excursion, when the state fits but the log since the newest snapshot outgrew the room
// (a publish was cut short by a failover, or writes outran the trigger): the upload goes
// anyway, ZooKeeper passes the budget by at most that log for the length of one upload, and
// the compaction after it takes it back under. Refusing it instead left nothing to compact
// through: the leader refused writes for good with a 25 MiB state under a 64 MiB budget
// (found by the snapshot bench, whose writes then all failed).
import type { Logger } from '../common/logger.js';
import { compactionTarget, type ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import type { ZkSnapshotManifest } from '../coordination/zk-snapshot-records.js';
import type { SnapshotUpload } from '../coordination/zk-snapshot-upload.js';
import { type BudgetMode, floorReserveBytes, formatBytes, mustTighten, snapshotZkBytes, stateTooLarge, type ZkBudget } from './zk-budget.js';

/** What a publish needs of the snapshot store in ZooKeeper. */
export type PublishingStore = Pick<ZkSnapshotStore, 'upload' | 'prune' | 'list' | 'compactThrough' | 'chunkBytes'>;

export interface BudgetedPublishReport {
  readonly outcome: 'published' | 'over-budget';
  readonly mode: BudgetMode;
  /** Why tight or over ('' when normal). */
  readonly reason: string;
  /** The uploaded snapshot's manifest (null when it was not uploaded). */
  readonly manifest: ZkSnapshotManifest | null;
  /** What the snapshot takes in ZooKeeper (an upper bound). */
  readonly snapshotZkBytes: number;
  readonly compactedSegments: number;
  readonly removedSnapshots: number;
  /** A compaction stopped at its bound with covered segments left (the caller resumes it). */
  readonly compactionLeft: boolean;
}

/**
 * `inlineCompactionSegments`: the most segments each compaction of the publish deletes
 * before it returns (default: all, in the store's rounds); the caller finishes the rest
 * when the report says `compactionLeft` (the snapshotter's WalCompactor), so that a publish,
 * and with it the upload of the next snapshot, is never held up by a long compaction.
 */
export async function publishWithinBudget(
  store: PublishingStore,
  budget: ZkBudget,
  u: SnapshotUpload,
  keep: number,
  logger: Logger,
  inlineCompactionSegments?: number,
): Promise<BudgetedPublishReport> {
  const limit = budget.budgetBytes;
  const incoming = snapshotZkBytes(u.sizeBytes, store.chunkBytes);
  const reserve = budget.reserve();
  const index = u.point.index;
  let compactedSegments = 0;
  let removedSnapshots = 0;
  let compactionLeft = false;
  let tightened = false;
  const tighten = async (): Promise<void> => {
    const r = await keepOnlyNewest(store, budget, u.epochVersion, inlineCompactionSegments);
    compactedSegments += r.compactedSegments;
    removedSnapshots += r.removedSnapshots;
    compactionLeft ||= r.compactionLeft;
    tightened = true;
  };

  // The log grows while the upload runs. Room is made first when the upload does not fit
  // with the reserve (twice what the last publish saw the log grow by, capped) or with one
  // publish's log, whichever is more.
  if (budget.used() + incoming + Math.max(reserve, budget.expectedGrowth()) > limit) await tighten();
  // The upload must leave room for what the log is expected to gain meanwhile.
  let excursion = '';
  if (budget.used() + incoming + budget.expectedGrowth() > limit) {
    if (stateTooLarge(incoming, limit)) {
      const reason =
        `uploading snapshot ${index} (${formatBytes(incoming)}) would take ZooKeeper to ${formatBytes(budget.used() + incoming)} of its ` +
        `${formatBytes(limit)} budget, with only the newest snapshot kept and the log compacted through it, and two snapshots of this state ` +
        `do not fit; it stays local`;
      budget.setMode('over', reason);
      logger.debug({ index, used: budget.used(), incoming, limit }, 'zk budget: upload refused');
      return { outcome: 'over-budget', mode: 'over', reason, manifest: null, snapshotZkBytes: incoming, compactedSegments, removedSnapshots, compactionLeft };
    }
    // The state fits, but the log since the newest snapshot outgrew the room (a publish was
    // cut short, or writes outran the trigger). Refusing the upload would leave nothing to
    // compact the log through: ZooKeeper would fill up and writes would stop for good. So it
    // goes, past the budget for a moment, and the compaction after it takes ZooKeeper back under.
    excursion =
      `the log since the newest snapshot outgrew the room: uploading snapshot ${index} (${formatBytes(incoming)}) takes ZooKeeper to about ` +
      `${formatBytes(budget.used() + incoming + budget.expectedGrowth())} of its ${formatBytes(limit)} budget until the log behind it is compacted`;
    logger.warn({ index, used: budget.used(), incoming, expectedGrowth: budget.expectedGrowth(), limit }, `ZooKeeper budget: ${excursion}`);
  }

  const manifest = await store.upload(u);
  budget.snapshotAdded(index, incoming);
  const pruned = await store.prune(u.epochVersion, keep);
  for (const r of pruned.removed) budget.snapshotRemoved(r.index);
  removedSnapshots += pruned.removed.length;
  const target = compactionTarget(await store.list(), keep);
  if (target) {
    const c = await store.compactThrough(u.epochVersion, target, inlineCompactionSegments);
    if (c) {
      budget.walCompacted(c.deletedBytes);
      compactedSegments += c.deletedSegments;
      compactionLeft ||= c.more;
    }
  }
  // Only once the compaction through the older snapshot is done: with covered segments still
  // to delete (the inline round is bounded; the compactor goes on), `used` counts log about
  // to go, and tightening would drop the fallback snapshot for nothing (review 13).
  if (!compactionLeft && mustTighten(budget.used(), incoming, reserve, limit)) await tighten();

  const tooLarge = stateTooLarge(incoming, limit);
  const mode: BudgetMode = tooLarge ? 'over' : tightened || excursion !== '' ? 'tight' : 'normal';
  const floor = floorReserveBytes(limit);
  const reason = tooLarge
    ? `the state's snapshot takes ${formatBytes(incoming)} in ZooKeeper: two of them (the old one stays until the new one is complete) ` +
      `and the least reserve for the log, ${formatBytes(floor)}, need ${formatBytes(2 * incoming + floor)}, more than the ${formatBytes(limit)} budget`
    : excursion !== ''
      ? excursion
      : tightened
        ? `two snapshots of ${formatBytes(incoming)} and two intervals of log do not fit in the ${formatBytes(limit)} budget: ` +
          `wal/ is compacted through the newest snapshot, and only it is kept between uploads`
        : '';
  budget.setMode(mode, reason);
  return { outcome: 'published', mode, reason, manifest, snapshotZkBytes: incoming, compactedSegments, removedSnapshots, compactionLeft };
}

/** Drops every complete snapshot but the newest (and unfinished uploads), then compacts wal/ through it. */
async function keepOnlyNewest(store: PublishingStore, budget: ZkBudget, epochVersion: number, maxSegments: number | undefined): Promise<{ compactedSegments: number; removedSnapshots: number; compactionLeft: boolean }> {
  const pruned = await store.prune(epochVersion, 1);
  for (const r of pruned.removed) budget.snapshotRemoved(r.index);
  const newest = (await store.list())[0];
  if (!newest) return { compactedSegments: 0, removedSnapshots: pruned.removed.length, compactionLeft: false };
  const c = await store.compactThrough(epochVersion, newest, maxSegments);
  if (c) budget.walCompacted(c.deletedBytes);
  return { compactedSegments: c?.deletedSegments ?? 0, removedSnapshots: pruned.removed.length, compactionLeft: c?.more ?? false };
}
