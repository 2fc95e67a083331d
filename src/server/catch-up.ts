// A follower that its leader does not feed keeps itself current from ZooKeeper's log.
//
// Two cases (the normal path is the leader's AppendEntries):
// - No leader is heard (the core is a pre-candidate, e.g. the link between the voters is
//   cut while the leader lives on, L2): follow `tail` with a watch and read every new
//   segment as it is committed.
// - The commit index has not moved for a while although ZooKeeper is far ahead (a
//   replacement with an empty disk the leader cannot feed fast enough, or a broken peer
//   channel): read the committed entries from ZooKeeper, a bounded number of segments at a
//   time.
// Entries read from ZooKeeper are committed by definition, so the core may merge them and
// move its commit index over them (PROTOCOL.md R2).
import type { Clock, TimerHandle } from '../common/clock.js';
import { CompactedError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { decodeTail } from '../coordination/records.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { readCommittedEntries } from '../coordination/zk-log-reader.js';
import type { ZnodeWatch } from '../coordination/znode-watch.js';
import { watchTail } from '../coordination/tail-watch.js';
import type { Role } from '../core/raft.js';
import type { Entry } from '../core/types.js';

export interface CatchUpHost {
  commitIndex(): number;
  role(): Role;
  /** Committed entries read from ZooKeeper, ascending, up to zkLastIndex. */
  committedFromZk(entries: readonly Entry[], zkLastIndex: number): void;
  /**
   * ZooKeeper no longer holds index `wanted` (compacted behind a snapshot; its log starts at
   * `firstAvailable`): load a snapshot that reaches at least `firstAvailable - 1`. Resolves
   * true once this node's commit index bridges the gap (installed here or by another path).
   */
  needsSnapshot(wanted: number, firstAvailable: number): Promise<boolean>;
}

export interface FollowerCatchUpOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly host: CatchUpHost;
}

/** Segments read per round. */
const SEGMENTS_PER_ROUND = 64;
/** Bound on rounds of one catch-up (each reads SEGMENTS_PER_ROUND segments). */
const MAX_ROUNDS = 1000;
/** How often a follower checks whether its commit index is stalled. */
const STALL_CHECK_MS = 1000;
/** How far behind ZooKeeper's tail a stalled follower must be before it reads from there. */
const STALL_FAR_BEHIND = 1000;
/**
 * A stalled follower at least this far behind ZooKeeper's tail first loads ZooKeeper's
 * newest snapshot if that lies at least this far ahead of it, then reads only the log after
 * it. Reading the log is a getData per segment: under a steady load a follower reading tens
 * of thousands of entries that way (a wiped node whose rebuild raced the leader's
 * compaction, one restarted behind it) fell further behind with every round and never got
 * back within the leader's log (seen in chaos runs at full load with small snapshot
 * intervals).
 */
export const PREFER_SNAPSHOT_BEHIND = 4 * STALL_FAR_BEHIND;

export class FollowerCatchUp {
  private readonly o: FollowerCatchUpOptions;
  private tailWatch: ZnodeWatch | null = null;
  private stallTimer: TimerHandle | null = null;
  private commitAtStallCheck = -1;
  private running = false;
  /** A snapshot is being loaded because ZooKeeper's log was compacted past this node: one at a time. */
  private snapshotPending = false;
  private stopped = false;

  constructor(options: FollowerCatchUpOptions) {
    this.o = options;
    this.scheduleStallCheck();
  }

  /** Follow ZooKeeper's tail (no leader is heard) or stop following it. */
  followTail(on: boolean): void {
    if (this.stopped || on === (this.tailWatch !== null)) return;
    if (!on) {
      this.tailWatch?.stop();
      this.tailWatch = null;
      return;
    }
    this.tailWatch = watchTail(this.o, (t) => void this.catchUpTo(t.lastIndex, t.segmentFirstIndex, false));
  }

  stop(): void {
    this.stopped = true;
    this.stallTimer?.cancel();
    this.tailWatch?.stop();
    this.tailWatch = null;
  }

  private scheduleStallCheck(): void {
    this.stallTimer = this.o.clock.setTimeout(() => {
      if (this.stopped) return;
      void this.checkStall().finally(() => {
        if (!this.stopped) this.scheduleStallCheck();
      });
    }, STALL_CHECK_MS);
  }

  /** No commit progress since the last check: if ZooKeeper is far ahead, read from it. */
  private async checkStall(): Promise<void> {
    const { host, zk, paths, logger } = this.o;
    const commit = host.commitIndex();
    const stalled = commit === this.commitAtStallCheck;
    this.commitAtStallCheck = commit;
    if (!stalled || host.role() !== 'follower' || this.running) return;
    try {
      const { data } = await zk.getData(paths.tail);
      const t = decodeTail(paths.tail, data);
      // Far behind only: a follower a few entries short is being fed by its leader.
      if (t.lastIndex - host.commitIndex() < STALL_FAR_BEHIND) return;
      logger.info({ commit, zkTail: t.lastIndex }, 'commit index stalled behind ZooKeeper: catching up from ZooKeeper');
      if (t.lastIndex - commit >= PREFER_SNAPSHOT_BEHIND && !this.running) {
        // A snapshot that reaches commit + PREFER_SNAPSHOT_BEHIND; resolves false (nothing
        // loaded) when ZooKeeper's newest snapshot is not that far ahead.
        this.running = true;
        try {
          await host.needsSnapshot(commit + 1, commit + PREFER_SNAPSHOT_BEHIND + 1);
        } finally {
          this.running = false;
        }
      }
      await this.catchUpTo(t.lastIndex, t.segmentFirstIndex, true);
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'stall check could not read the tail; the next check retries');
    }
  }

  private async catchUpTo(zkLastIndex: number, tailSegmentFirstIndex: number, once: boolean): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { host, zk, paths } = this.o;
    try {
      for (let round = 0; round < MAX_ROUNDS && !this.stopped && (once || this.tailWatch); round++) {
        const from = host.commitIndex();
        const role = host.role();
        if (from >= zkLastIndex || role === 'leader' || role === 'candidate') return;
        const entries = await readCommittedEntries(zk, paths, from, zkLastIndex, { maxSegments: SEGMENTS_PER_ROUND, tailSegmentFirstIndex });
        if (entries.length === 0 || this.stopped) return;
        host.committedFromZk(entries, entries[entries.length - 1]!.index);
      }
    } catch (err) {
      if (err instanceof CompactedError) {
        if (this.snapshotPending) return;
        this.snapshotPending = true;
        this.o.logger.info({ wanted: err.wantedIndex, zkStartsAt: err.firstAvailableIndex }, 'the entries this follower needs are compacted in ZooKeeper: loading the snapshot');
        this.running = false;
        try {
          if (await host.needsSnapshot(err.wantedIndex, err.firstAvailableIndex)) await this.catchUpTo(zkLastIndex, tailSegmentFirstIndex, once);
        } finally {
          this.snapshotPending = false;
        }
        return;
      }
      this.o.logger.debug({ err: (err as Error).message }, 'catch-up from ZooKeeper failed; the next tail change retries');
    } finally {
      this.running = false;
    }
  }
}
