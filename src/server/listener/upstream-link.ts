// The listener's side of a feed: probing candidate upstreams, and one Subscribe stream to
// the chosen one. Every batch goes to the listener log, which checks that it continues the
// committed log exactly (index and chain); a batch that does not ends the link. The link also
// ends when the upstream ends the stream (it became leader, dropped us, compacted what we
// need) or when nothing arrived for MISSED_HEARTBEATS heartbeat intervals.
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { EntryType, type Entry } from '../../core/types.js';
import type { FeedBatchIn, FeedConnector, FeedSubscription } from './feed-connector.js';

const MISSED_HEARTBEATS = 4;

export interface LinkEnd {
  readonly reason: string;
  /** The upstream no longer holds what we need: catch up from ZooKeeper first. */
  readonly compacted: boolean;
  /** The upstream ended it on purpose (not a broken connection). */
  readonly byUpstream: boolean;
  /** The upstream ended it because it can feed no one now (it leads, lost its own upstream, stops). */
  readonly upstreamCannotFeed?: boolean;
}

export interface UpstreamLinkOptions {
  readonly cluster: string;
  readonly selfId: string;
  readonly upstreamId: string;
  readonly address: string;
  readonly connector: FeedConnector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  readonly fromIndex: number;
  readonly prevChain: Uint8Array;
  /** Applies a batch; throws (ListenerFeedError) when it does not continue the log. */
  readonly onEntries: (entries: readonly Entry[], upstreamCommit: number) => void;
  /** A heartbeat or batch told the upstream's commit index. */
  readonly onUpstreamCommit: (commit: number) => void;
  /**
   * Every batch and heartbeat says how the upstream is fed now (its depth and path): the
   * listener's own depth and path follow it (a probe's answer may be stale by the time the
   * stream opens, and the upstream may move later).
   */
  readonly onUpstreamPath: (depth: number, path: readonly string[]) => void;
  readonly onEnd: (end: LinkEnd) => void;
}

export class UpstreamLink {
  private readonly o: UpstreamLinkOptions;
  private readonly stream: FeedSubscription;
  private watchdog: TimerHandle | null = null;
  private lastHeard: number;
  private ended = false;

  constructor(options: UpstreamLinkOptions) {
    this.o = options;
    this.lastHeard = options.clock.now();
    this.stream = options.connector.subscribe(
      options.address,
      { cluster: options.cluster, listenerId: options.selfId, fromIndex: options.fromIndex, prevChain: options.prevChain },
      {
        batch: (b) => this.onBatch(b),
        failed: (reason) => this.finish({ reason: `stream failed: ${reason}`, compacted: false, byUpstream: false }),
        ended: () => this.finish({ reason: 'the upstream closed the stream', compacted: false, byUpstream: true }),
      },
    );
    this.armWatchdog();
  }

  close(reason: string): void {
    this.finish({ reason, compacted: false, byUpstream: false });
  }

  private armWatchdog(): void {
    const limit = MISSED_HEARTBEATS * this.o.heartbeatMs;
    this.watchdog = this.o.clock.setTimeout(() => {
      if (this.ended) return;
      if (this.o.clock.now() - this.lastHeard >= limit) {
        this.finish({ reason: `nothing from the upstream for ${limit} ms (heartbeats missed)`, compacted: false, byUpstream: false });
        return;
      }
      this.armWatchdog();
    }, this.o.heartbeatMs);
  }

  private onBatch(b: FeedBatchIn): void {
    if (this.ended) return;
    this.lastHeard = this.o.clock.now();
    const entries = b.entries ?? [];
    if (entries.length > 0) {
      try {
        this.o.onEntries(
          entries.map((e) => ({ index: e.index ?? 0, term: e.term ?? 0, type: e.type === 1 ? EntryType.Noop : EntryType.Normal, data: e.data ?? new Uint8Array(0), chain: e.chain ?? new Uint8Array(0) })),
          b.upstreamCommit ?? 0,
        );
      } catch (err) {
        this.finish({ reason: (err as Error).message, compacted: false, byUpstream: false });
        return;
      }
    }
    if (b.upstreamCommit) this.o.onUpstreamCommit(b.upstreamCommit);
    if (!b.endReason) {
      const path = b.path ?? [];
      // Fed through itself: a cycle formed (two listeners chose each other on stale probes,
      // or an upstream moved below this listener). Nothing here is new: end it, choose again.
      if (path.includes(this.o.selfId)) {
        this.finish({ reason: `a cycle: ${this.o.upstreamId} is fed through this listener (${[this.o.upstreamId, ...path].join(' <- ')})`, compacted: false, byUpstream: false });
        return;
      }
      this.o.onUpstreamPath(b.upstreamDepth ?? 0, path);
    }
    if (b.endReason) this.finish({ reason: b.endReason, compacted: b.compacted === true, byUpstream: true, upstreamCannotFeed: b.cannotFeed === true });
  }

  private finish(end: LinkEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.watchdog?.cancel();
    this.stream.cancel();
    this.o.onEnd(end);
  }
}
