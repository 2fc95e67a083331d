// The listener's side of a feed: probing candidate upstreams, and one Subscribe stream to
// the chosen one. Every batch goes to the listener log, which checks that it continues the
// committed log exactly (index and chain); a batch that does not ends the link. The link also
// ends when the upstream ends the stream (it became leader, dropped us, compacted what we
// need) or when nothing arrived for MISSED_HEARTBEATS heartbeat intervals.
import * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { duoraft } from '../../common/proto.js';
import { EntryType, type Entry } from '../../core/types.js';
import { ListenerFeedClient, type ListenerFeedClientInstance, listenerFeedService } from '../../transport/listener-feed-service.js';
import type { CandidateProbe } from './upstream-choice.js';

const MISSED_HEARTBEATS = 4;
const MAX_FEED_MESSAGE_BYTES = 64 << 20;

export interface LinkEnd {
  readonly reason: string;
  /** The upstream no longer holds what we need: catch up from ZooKeeper first. */
  readonly compacted: boolean;
  /** The upstream ended it on purpose (not a broken connection). */
  readonly byUpstream: boolean;
}

export interface UpstreamLinkOptions {
  readonly cluster: string;
  readonly selfId: string;
  readonly upstreamId: string;
  readonly address: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  readonly fromIndex: number;
  readonly prevChain: Uint8Array;
  /** Applies a batch; throws (ListenerFeedError) when it does not continue the log. */
  readonly onEntries: (entries: readonly Entry[], upstreamCommit: number) => void;
  /** A heartbeat or batch told the upstream's commit index. */
  readonly onUpstreamCommit: (commit: number) => void;
  readonly onEnd: (end: LinkEnd) => void;
}

function channel(address: string): ListenerFeedClientInstance {
  return new ListenerFeedClient(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_FEED_MESSAGE_BYTES,
    'grpc.enable_retries': 0,
  });
}

/** Asks one candidate what it can offer; null when it does not answer in time. */
export function probeUpstream(cluster: string, selfId: string, id: string, address: string, timeoutMs: number): Promise<CandidateProbe | null> {
  const client = channel(address);
  const def = listenerFeedService.probe;
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { cluster, listenerId: selfId }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err || !res) return resolve(null);
      resolve({
        id,
        address,
        canFeed: res.canFeed === true,
        depth: res.depth ?? 0,
        listeners: res.listeners ?? 0,
        fanout: res.fanout ?? 0,
        path: res.path ?? [],
      });
    });
  });
}

/** Asks a member to drop a listener it feeds (admin drop-listener). */
export function askDrop(address: string, listenerId: string, timeoutMs: number): Promise<boolean> {
  const client = channel(address);
  const def = listenerFeedService.drop;
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { listenerId }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      resolve(!err && res?.dropped === true);
    });
  });
}

export class UpstreamLink {
  private readonly o: UpstreamLinkOptions;
  private readonly client: ListenerFeedClientInstance;
  private readonly call: grpc.ClientReadableStream<duoraft.listener.FeedBatch>;
  private watchdog: TimerHandle | null = null;
  private lastHeard: number;
  private ended = false;

  constructor(options: UpstreamLinkOptions) {
    this.o = options;
    this.lastHeard = options.clock.now();
    this.client = channel(options.address);
    const def = listenerFeedService.subscribe;
    this.call = this.client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, {
      cluster: options.cluster,
      listenerId: options.selfId,
      fromIndex: options.fromIndex,
      prevChain: options.prevChain,
    });
    this.call.on('data', (b: duoraft.listener.FeedBatch) => this.onBatch(b));
    this.call.on('error', (err: Error) => this.finish({ reason: `stream failed: ${err.message}`, compacted: false, byUpstream: false }));
    this.call.on('end', () => this.finish({ reason: 'the upstream closed the stream', compacted: false, byUpstream: true }));
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

  private onBatch(b: duoraft.listener.FeedBatch): void {
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
    if (b.endReason) this.finish({ reason: b.endReason, compacted: b.compacted === true, byUpstream: true });
  }

  private finish(end: LinkEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.watchdog?.cancel();
    this.call.cancel();
    this.client.close();
    this.o.onEnd(end);
  }
}
