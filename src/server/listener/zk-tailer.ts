// A listener with no upstream reads the committed log from ZooKeeper (depth 0): it follows
// the `tail` znode with a watch and reads every new segment. The same reader brings a
// listener up to ZooKeeper's tail when its upstream no longer holds the entries it needs,
// and before a promoted listener may start as a voter. Entries in ZooKeeper are committed by
// definition; the listener log still checks their index and chain. A listener behind
// ZooKeeper's compaction point loads the newest snapshot first (from ZooKeeper, through the
// local snapshot store, verified before it is visible).
import type { Clock } from '../../common/clock.js';
import { CompactedError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterPaths } from '../../coordination/layout.js';
import { decodeTail } from '../../coordination/records.js';
import type { ZkSession } from '../../coordination/zk-api.js';
import { readCommittedEntries } from '../../coordination/zk-log-reader.js';
import type { ZnodeWatch } from '../../coordination/znode-watch.js';
import { watchTail } from '../../coordination/tail-watch.js';
import type { ListenerLog } from './listener-log.js';

/** Segments read per round, and rounds per catch-up (then the next tail change goes on). */
const SEGMENTS_PER_ROUND = 64;
const MAX_ROUNDS = 1000;

export interface ZkTailerOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly log: ListenerLog;
  /**
   * ZooKeeper no longer holds the entries after the applied index: load its newest snapshot
   * if it reaches `minIndex` (the snapshotter's installFromZk); true once installed.
   */
  readonly loadSnapshot: (minIndex: number) => Promise<boolean>;
  /** ZooKeeper's tail as last read (for lag figures). */
  readonly onTail: (lastIndex: number) => void;
}

export class ZkTailer {
  private readonly o: ZkTailerOptions;
  private watch: ZnodeWatch | null = null;
  private running: Promise<void> | null = null;
  private again: { lastIndex: number; segment: number } | null = null;
  private stopped = false;

  constructor(options: ZkTailerOptions) {
    this.o = options;
  }

  following(): boolean {
    return this.watch !== null;
  }

  /** Follow ZooKeeper's tail (no upstream) or stop following it. */
  follow(on: boolean): void {
    if (this.stopped || on === (this.watch !== null)) return;
    if (!on) {
      this.watch?.stop();
      this.watch = null;
      return;
    }
    this.watch = watchTail(this.o, (t) => {
      this.o.onTail(t.lastIndex);
      void this.catchUpTo(t.lastIndex, t.segmentFirstIndex).catch((err: unknown) => {
        this.o.logger.warn({ err: (err as Error).message }, 'reading ZooKeeper\'s log failed; the next tail change retries');
      });
    });
  }

  /**
   * Brings the listener up to ZooKeeper's tail as of now (after a sync, so the tail read is
   * at least as new as every acknowledged write). Resolves with that tail index.
   */
  async catchUpToTail(): Promise<number> {
    const { zk, paths } = this.o;
    await zk.sync(paths.tail);
    const { data } = await zk.getData(paths.tail);
    const t = decodeTail(paths.tail, data);
    this.o.onTail(t.lastIndex);
    await this.catchUpTo(t.lastIndex, t.segmentFirstIndex);
    // Another catch-up may have been running: wait until ours is covered.
    while (this.o.log.applied() < t.lastIndex && !this.stopped) await this.catchUpTo(t.lastIndex, t.segmentFirstIndex);
    return t.lastIndex;
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = null;
  }

  private catchUpTo(lastIndex: number, segment: number): Promise<void> {
    if (this.running) {
      this.again = { lastIndex, segment };
      return this.running;
    }
    this.running = this.run(lastIndex, segment).finally(() => {
      this.running = null;
      const next = this.again;
      this.again = null;
      if (next && !this.stopped && next.lastIndex > this.o.log.applied()) void this.catchUpTo(next.lastIndex, next.segment).catch(() => undefined);
    });
    return this.running;
  }

  private async run(lastIndex: number, segment: number): Promise<void> {
    const { zk, paths, log } = this.o;
    for (let round = 0; round < MAX_ROUNDS && !this.stopped; round++) {
      const from = log.applied();
      if (from >= lastIndex) return;
      let entries;
      try {
        entries = await readCommittedEntries(zk, paths, from, lastIndex, { maxSegments: SEGMENTS_PER_ROUND, tailSegmentFirstIndex: segment });
      } catch (err) {
        if (!(err instanceof CompactedError)) throw err;
        this.o.logger.info({ applied: log.applied(), zkStartsAt: err.firstAvailableIndex }, 'ZooKeeper compacted the entries this listener needs: loading its newest snapshot');
        if (!(await this.o.loadSnapshot(err.firstAvailableIndex - 1))) throw err;
        continue;
      }
      if (entries.length === 0 || this.stopped) return;
      log.accept(entries, 'ZooKeeper');
    }
  }
}
