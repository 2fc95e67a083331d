// The upstream side of listeners: a follower (or a fed listener) pushes its committed
// entries to at most `fanout` listeners over Subscribe streams (proto/listener.proto).
//
// It only ever reads committed entries (at or below its own commit index), so a listener
// never has to truncate. It pushes when told the commit index may have moved (kick(): a
// follower after each AppendEntries or heartbeat from its leader, a listener after each batch
// it applied), on the next turn of the event loop, so an entry leaves within a turn of
// this member learning it is committed; a sweep every SWEEP_MS catches what no kick
// announced (a follower catching up from ZooKeeper) and sends the heartbeats. Work is
// bounded: each stream gets at most MAX_BATCH_ENTRIES / MAX_BATCH_BYTES per message and at
// most MAX_BATCHES_PER_PUMP messages per pump (more waits for the next turn), and a stream
// whose buffer is full (in flight beyond grpc-js' high-water mark) sends nothing until it
// drains. A stream is ended (the listener then chooses again) when this member can no longer
// feed (it became leader, or a listener that lost its own upstream), when the listener is
// not reading (its buffer stayed full for DRAIN_TIMEOUT_MS: its heartbeats fail), when the
// listener asks for entries no longer held here (compacted: it catches up from ZooKeeper),
// or on an admin Drop.
import type { Clock, TimerHandle } from '../../common/clock.js';
import type { Received } from '../../common/grpc-unary.js';
import type { Logger } from '../../common/logger.js';
import type { duoraft } from '../../common/proto.js';
import { chainHex, sameChain } from '../../core/chain.js';
import type { ChainedEntry } from '../../core/types.js';
import { isValidMemberId } from '../../coordination/layout.js';
import { type ListenerFeedHandlers, toFeedEntry } from '../../transport/listener-feed-service.js';

/** What a member that feeds listeners offers (a voter's view or a listener's log). */
export interface FeedSource {
  /** null when it may feed now; otherwise why not. */
  cannotFeed(): string | null;
  /** 0 for a voter, the listener's depth for a listener. */
  depth(): number;
  /** The members it is fed through, nearest first (empty for a voter). */
  path(): readonly string[];
  /** The highest index it holds that is known committed. */
  committedIndex(): number;
  /** A committed entry it still holds (undefined: compacted or not yet here). */
  entryAt(index: number): ChainedEntry | undefined;
  /** The chain value at `index` (the genesis value at 0), if known here. */
  chainAt(index: number): Uint8Array | undefined;
}

export interface FeederOptions {
  readonly cluster: string;
  readonly source: FeedSource;
  readonly clock: Clock;
  readonly logger: Logger;
  /** At most this many listeners at once (--listener-fanout). */
  readonly fanout: number;
  /** Send a heartbeat when nothing was sent for this long. */
  readonly heartbeatMs?: number;
}

export const DEFAULT_FEED_HEARTBEAT_MS = 500;
/**
 * The sweep: heartbeats, drain timeouts, "can it still feed", and commit advances that no
 * kick announced. Not on the push path (kick() is).
 */
export const SWEEP_MS = 25;
const MAX_BATCH_ENTRIES = 512;
const MAX_BATCH_BYTES = 256 << 10;
const MAX_BATCHES_PER_PUMP = 8;
/** A listener whose stream does not drain for this many heartbeats is dropped. */
const DRAIN_TIMEOUT_HEARTBEATS = 6;

type Batch = duoraft.listener.FeedBatch.$Properties;

/**
 * The server side of one Subscribe stream, as the feeder uses it: a grpc-js
 * ServerWritableStream is one; the simulator passes its own (test/simulation/sim).
 */
export interface FeedStream {
  readonly request: Received<duoraft.listener.SubscribeRequest>;
  /** false: the stream's buffer is full ('drain' follows). */
  write(batch: Batch): boolean;
  end(): void;
  on(event: 'cancelled' | 'error' | 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}
type SubscribeCall = FeedStream;

interface Subscription {
  readonly listenerId: string;
  readonly call: SubscribeCall;
  readonly since: number;
  /** The next index to send. */
  next: number;
  lastSentAt: number;
  /** Set while the stream's buffer is full: when that started. */
  blockedSince: number | null;
  ended: boolean;
}

export interface FeederFigures {
  readonly listeners: ReadonlyArray<{ readonly id: string; readonly nextIndex: number; readonly sinceMs: number }>;
}

export class ListenerFeeder {
  private readonly o: FeederOptions;
  private readonly subs = new Map<string, Subscription>();
  private timer: TimerHandle | null = null;
  /** A pump is queued for the next turn of the event loop. */
  private pumpQueued = false;
  private stopped = false;
  private readonly heartbeatMs: number;

  constructor(options: FeederOptions) {
    this.o = options;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_FEED_HEARTBEAT_MS;
  }

  count(): number {
    return this.subs.size;
  }

  figures(): FeederFigures {
    const now = this.o.clock.now();
    return { listeners: [...this.subs.values()].map((s) => ({ id: s.listenerId, nextIndex: s.next, sinceMs: Math.round(now - s.since) })) };
  }

  /** Ends one listener's stream (admin drop-listener). */
  drop(listenerId: string, reason: string): boolean {
    const s = this.subs.get(listenerId);
    if (!s) return false;
    this.end(s, reason, false);
    return true;
  }

  /** Ends every stream because this member cannot feed anyone now (it leads, lost its upstream, stops). */
  dropAll(reason: string): void {
    for (const s of [...this.subs.values()]) this.end(s, reason, false, true);
  }

  /**
   * The source's committed index may have moved: push on the next turn of the event loop
   * (many kicks in one turn make one pump). Costs nothing while no listener is fed.
   */
  kick(): void {
    if (this.pumpQueued || this.stopped || this.subs.size === 0) return;
    this.pumpQueued = true;
    this.o.clock.defer(() => {
      this.pumpQueued = false;
      if (!this.stopped) this.pump();
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.dropAll('the upstream is shutting down');
  }

  handlers(): ListenerFeedHandlers {
    return {
      probe: (call, callback) => callback(null, this.probeReply(call.request)),
      subscribe: (call) => this.subscribe(call),
      drop: (call, callback) => {
        const r = call.request;
        const dropped = r.ok ? this.drop(r.request.listenerId ?? '', 'dropped by an administrator (duoraft admin drop-listener)') : false;
        callback(null, { dropped });
      },
    };
  }

  /** The answer to a Probe: whether this member can feed now, and what it would offer. */
  probeReply(r: Received<duoraft.listener.ProbeRequest>): duoraft.listener.ProbeResponse.$Properties {
    const reason = !r.ok ? r.reason : r.request.cluster !== this.o.cluster ? `this member belongs to cluster ${this.o.cluster}` : this.cannotFeed();
    const src = this.o.source;
    return {
      id: '',
      canFeed: reason === null,
      reason: reason ?? '',
      depth: src.depth(),
      listeners: this.subs.size,
      fanout: this.o.fanout,
      path: [...src.path()],
      commitIndex: src.committedIndex(),
    };
  }

  private cannotFeed(): string | null {
    if (this.stopped) return 'shutting down';
    return this.o.source.cannotFeed();
  }

  /** One listener's Subscribe stream (from the gRPC service, or the simulator's). */
  subscribe(call: SubscribeCall): void {
    const r = call.request;
    const refuse = (reason: string): void => {
      call.write({ endReason: reason });
      call.end();
    };
    if (!r.ok) return refuse(r.reason);
    const req = r.request;
    const id = req.listenerId ?? '';
    if (req.cluster !== this.o.cluster) return refuse(`this member belongs to cluster ${this.o.cluster}, not ${req.cluster}`);
    if (!isValidMemberId(id)) return refuse(`invalid listener id ${JSON.stringify(id)}`);
    const from = req.fromIndex ?? 0;
    if (!Number.isSafeInteger(from) || from < 1) return refuse(`invalid from_index ${from}`);
    const why = this.cannotFeed();
    if (why !== null) return refuse(`cannot feed listeners: ${why}`);
    // Checked again here, not only by the listener on a probe's answer that may be stale:
    // a member fed through this listener must not feed it (a cycle feeds nobody anything new).
    if (this.o.source.path().includes(id)) return refuse(`a cycle: this member is fed through ${id} (${this.o.source.path().join(' <- ')})`);
    const old = this.subs.get(id);
    if (old) this.end(old, 'replaced by a new subscription of the same listener', false);
    if (this.subs.size >= this.o.fanout) return refuse(`full: already feeding ${this.subs.size} listeners (fanout ${this.o.fanout})`);
    // The listener's log must be a prefix of this one: compare the chain value where it
    // ends, when this member still knows it (otherwise the listener checks the first entry
    // it gets against its own chain, which proves the same).
    const prev = req.prevChain && req.prevChain.length > 0 ? req.prevChain : null;
    const mine = this.o.source.chainAt(from - 1);
    if (prev && mine && !sameChain(prev, mine)) return refuse(`the listener's log differs from this member's at index ${from - 1} (${chainHex(prev)} there, ${chainHex(mine)} here)`);
    if (!mine && from - 1 < this.o.source.committedIndex() && !this.o.source.entryAt(from)) {
      call.write({ endReason: `index ${from} is no longer held here`, compacted: true });
      call.end();
      return;
    }
    const now = this.o.clock.now();
    const s: Subscription = {
      listenerId: id,
      call,
      since: now,
      next: from,
      lastSentAt: Number.NEGATIVE_INFINITY,
      blockedSince: null,
      ended: false,
    };
    this.subs.set(id, s);
    const gone = (): void => {
      if (s.ended) return;
      s.ended = true;
      if (this.subs.get(id) === s) this.subs.delete(id);
      this.o.logger.info({ listener: id }, 'listener stream closed by the listener');
    };
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', gone);
    this.o.logger.info({ listener: id, from }, 'feeding a listener');
    this.ensureSweep();
    if (this.pumpOne(s)) this.kick();
  }

  private ensureSweep(): void {
    if (this.timer || this.stopped || this.subs.size === 0) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.pump();
      this.ensureSweep();
    }, SWEEP_MS);
  }

  private pump(): void {
    const why = this.cannotFeed();
    if (why !== null) {
      this.dropAll(`this member can no longer feed listeners: ${why}`);
      return;
    }
    let more = false;
    for (const s of [...this.subs.values()]) if (this.pumpOne(s)) more = true;
    // A stream that reached the per-pump bound with entries left goes on next turn (other
    // work, such as this member's own log, gets the loop in between).
    if (more) this.kick();
  }

  /** Sends what is committed and not yet sent, within the bounds; true when more is left to send now. */
  private pumpOne(s: Subscription): boolean {
    if (s.ended) return false;
    const now = this.o.clock.now();
    const src = this.o.source;
    if (s.blockedSince !== null) {
      if (now - s.blockedSince > DRAIN_TIMEOUT_HEARTBEATS * this.heartbeatMs) this.end(s, 'the listener does not read its stream (heartbeats fail)', false);
      return false;
    }
    const commit = src.committedIndex();
    let batches = 0;
    while (s.next <= commit && batches < MAX_BATCHES_PER_PUMP && !s.ended) {
      const entries: duoraft.listener.FeedEntry.$Properties[] = [];
      let bytes = 0;
      while (s.next <= commit && entries.length < MAX_BATCH_ENTRIES && bytes < MAX_BATCH_BYTES) {
        const e = src.entryAt(s.next);
        if (!e) break;
        entries.push(toFeedEntry(e));
        bytes += e.data.length + 40;
        s.next++;
      }
      if (entries.length === 0) {
        this.end(s, `index ${s.next} is no longer held here`, true);
        return false;
      }
      batches++;
      if (!this.send(s, { entries, upstreamCommit: commit, upstreamDepth: src.depth(), path: [...src.path()] })) return false;
    }
    if (batches === 0 && now - s.lastSentAt >= this.heartbeatMs) this.send(s, { upstreamCommit: commit, upstreamDepth: src.depth(), path: [...src.path()] });
    return !s.ended && s.blockedSince === null && s.next <= commit;
  }

  /** Writes one message; false when the stream's buffer is full (it waits for 'drain'). */
  private send(s: Subscription, batch: Batch): boolean {
    s.lastSentAt = this.o.clock.now();
    let ok = true;
    try {
      ok = s.call.write(batch);
    } catch (err) {
      this.end(s, `writing to the listener failed: ${(err as Error).message}`, false);
      return false;
    }
    if (!ok) {
      s.blockedSince = s.lastSentAt;
      s.call.once('drain', () => {
        s.blockedSince = null;
        this.kick();
      });
    }
    return ok;
  }

  private end(s: Subscription, reason: string, compacted: boolean, cannotFeed = false): void {
    if (s.ended) return;
    s.ended = true;
    if (this.subs.get(s.listenerId) === s) this.subs.delete(s.listenerId);
    this.o.logger.info({ listener: s.listenerId, reason }, 'listener dropped');
    try {
      s.call.write({ endReason: reason, compacted, cannotFeed });
      s.call.end();
    } catch {
      // The stream is gone already.
    }
  }
}

/**
 * The ListenerFeed service for a server that starts before its feeder exists (the feeder
 * needs the running member): until then a probe says "starting" and a Subscribe ends at once.
 */
export function feedHandlersOf(ref: { readonly current: ListenerFeeder | null }): ListenerFeedHandlers {
  return {
    probe: (call, cb) => {
      if (ref.current) return ref.current.handlers().probe(call, cb);
      cb(null, { canFeed: false, reason: 'starting' });
    },
    subscribe: (call) => {
      if (ref.current) return ref.current.handlers().subscribe(call);
      call.write({ endReason: 'starting' });
      call.end();
    },
    drop: (call, cb) => {
      if (ref.current) return ref.current.handlers().drop(call, cb);
      cb(null, { dropped: false });
    },
  };
}
