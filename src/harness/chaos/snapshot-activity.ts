// What the voters did with snapshots during a chaos run, counted from their log lines:
// snapshots taken and uploaded to ZooKeeper (the manifest written: from then on a rebuild
// can use it), wal/ segments compacted behind them,
// snapshots installed on a follower behind the compaction point (from the leader or from
// ZooKeeper), and empty data folders rebuilt from ZooKeeper. A run meant to exercise
// compaction and installs (CI's, with small snapshot intervals) checks that they happened;
// failures to take, publish or install are counted too (the node retries them; a run with
// many of them deserves a look at the logs).

/**
 * The node's messages (src/server/snapshotter.ts, node-driver.ts; src/coordination for the
 * upload and the compaction: a publish logs 'snapshot published' only after the compaction
 * behind it, which a leader killed meanwhile never finishes, so uploads are counted).
 */
export const SNAPSHOT_MESSAGES = {
  taken: 'snapshot taken',
  uploaded: 'zk snapshot: uploaded',
  compacted: 'zk wal: compacted',
  installed: 'snapshot installed',
  rebuilt: 'empty data folder: rebuilt from the newest snapshot in ZooKeeper',
  takeFailed: 'taking a snapshot failed; trying again later',
  publishFailed: 'publishing a snapshot to ZooKeeper failed; the next snapshot tries again',
  installFailed: 'installing a snapshot from ZooKeeper failed',
} as const;

export interface SnapshotActivitySummary {
  readonly taken: number;
  /** Uploaded to ZooKeeper (manifest written). */
  readonly published: number;
  /** wal/ segments deleted behind uploaded snapshots. */
  readonly compactedSegments: number;
  /** Installs by where the snapshot came from ('ZooKeeper', or the leader's source name). */
  readonly installed: number;
  readonly installedFromZooKeeper: number;
  readonly rebuilt: number;
  readonly failures: { readonly take: number; readonly publish: number; readonly install: number };
  /** The largest snapshot taken, in bytes, and the slowest take, in ms. */
  readonly largestBytes: number;
  readonly slowestTakeMs: number;
}

export class SnapshotActivity {
  private taken = 0;
  private published = 0;
  private compactedSegments = 0;
  private installed = 0;
  private installedFromZooKeeper = 0;
  private rebuilt = 0;
  private takeFailed = 0;
  private publishFailed = 0;
  private installFailed = 0;
  private largestBytes = 0;
  private slowestTakeMs = 0;

  /** One line a node wrote (pino JSON); anything else is ignored. */
  onLine(line: string): void {
    // Most lines are about something else: skip them before parsing.
    if (!line.includes('snapshot') && !line.includes('zk wal')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const f = parsed as Record<string, unknown>;
    const num = (k: string): number => (typeof f[k] === 'number' ? f[k] : 0);
    switch (f['msg']) {
      case SNAPSHOT_MESSAGES.taken:
        this.taken++;
        this.largestBytes = Math.max(this.largestBytes, num('bytes'));
        this.slowestTakeMs = Math.max(this.slowestTakeMs, num('ms'));
        break;
      case SNAPSHOT_MESSAGES.uploaded:
        this.published++;
        break;
      case SNAPSHOT_MESSAGES.compacted:
        this.compactedSegments += num('deletedSegments');
        break;
      case SNAPSHOT_MESSAGES.installed:
        this.installed++;
        if (f['from'] === 'ZooKeeper') this.installedFromZooKeeper++;
        break;
      case SNAPSHOT_MESSAGES.rebuilt:
        this.rebuilt++;
        break;
      case SNAPSHOT_MESSAGES.takeFailed:
        this.takeFailed++;
        break;
      case SNAPSHOT_MESSAGES.publishFailed:
        this.publishFailed++;
        break;
      case SNAPSHOT_MESSAGES.installFailed:
        this.installFailed++;
        break;
    }
  }

  summary(): SnapshotActivitySummary {
    return {
      taken: this.taken,
      published: this.published,
      compactedSegments: this.compactedSegments,
      installed: this.installed,
      installedFromZooKeeper: this.installedFromZooKeeper,
      rebuilt: this.rebuilt,
      failures: { take: this.takeFailed, publish: this.publishFailed, install: this.installFailed },
      largestBytes: this.largestBytes,
      slowestTakeMs: this.slowestTakeMs,
    };
  }
}
