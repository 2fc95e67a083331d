// The listener feed (ListenerFeed's Probe and Subscribe) between simulated members: the
// real feeder (src/server/listener/feeder.ts) serves each stream, the real runner and
// upstream link (listener-runner.ts, upstream-link.ts) consume it, through this network
// instead of gRPC. Everything crosses the process gates (a paused member gets it when it
// resumes, a dead one never) with 1-3 virtual ms per hop, in order per stream.
//
// Faults it models: a member cut from every feed link (a partition): probes go unanswered
// (their deadline passes), a stream stalls, what the upstream writes queues (its buffer is
// then full: the feeder waits for 'drain' and drops the listener after its drain timeout;
// the listener's watchdog ends the link after missed heartbeats), and what queued arrives
// when healed; a member killed: the streams it served fail at the listener ("connection
// reset"), the streams it consumed are cancelled at the upstream, and a probe of it is
// refused.
import type { Received } from '../../../src/common/grpc-unary.js';
import { pb, type duoraft } from '../../../src/common/proto.js';
import type { FeedBatchIn, FeedConnector, FeedStreamSink, FeedSubscription, SubscribeRequestOut } from '../../../src/server/listener/feed-connector.js';
import type { FeedStream, ListenerFeeder } from '../../../src/server/listener/feeder.js';
import type { CandidateProbe } from '../../../src/server/listener/upstream-choice.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { NodeGate } from './node-gate.js';

/** Batches an upstream may write into a stalled stream before its buffer is "full". */
const STREAM_BUFFER_BATCHES = 4;
/** Bound on what a stalled stream holds (a real one has socket buffers). */
const MAX_QUEUED = 64;

interface Endpoint {
  readonly id: string;
  readonly gate: NodeGate;
  readonly feeder: ListenerFeeder;
}

type UpstreamEvent = 'cancelled' | 'error' | 'close';

class SimFeedStream implements FeedStream, FeedSubscription {
  readonly request: Received<duoraft.listener.SubscribeRequest>;
  private readonly handlers = new Map<UpstreamEvent, Array<() => void>>();
  private drainWaiters: Array<() => void> = [];
  /** Written while the link was cut: delivered, in order, when it heals. */
  private queued: Array<() => void> = [];
  private lastArrival = 0;
  /** No more traffic either way. */
  closed = false;

  constructor(
    private readonly net: SimFeedNetwork,
    readonly listenerId: string,
    private readonly listenerGate: NodeGate,
    readonly upstreamId: string,
    private readonly upstreamGate: NodeGate,
    private readonly sink: FeedStreamSink,
    request: SubscribeRequestOut,
  ) {
    this.request = { ok: true, request: pb.listener.SubscribeRequest.create({ ...request }) };
  }

  // ---- the upstream's side (the feeder writes) -------------------------------------------

  write(batch: duoraft.listener.FeedBatch.$Properties): boolean {
    if (this.closed) return true;
    const b: FeedBatchIn = batch;
    if (this.net.isCut(this.listenerId, this.upstreamId)) {
      if (this.queued.length < MAX_QUEUED) this.queued.push(() => this.sink.batch(b));
      return this.queued.length < STREAM_BUFFER_BATCHES;
    }
    this.toListener(() => this.sink.batch(b));
    return true;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.net.isCut(this.listenerId, this.upstreamId)) this.queued.push(() => this.sink.ended());
    else this.toListener(() => this.sink.ended());
    this.net.forget(this);
  }

  on(event: UpstreamEvent, listener: () => void): unknown {
    const list = this.handlers.get(event) ?? [];
    list.push(listener);
    this.handlers.set(event, list);
    return this;
  }

  once(_event: 'drain', listener: () => void): unknown {
    this.drainWaiters.push(listener);
    return this;
  }

  // ---- the listener's side -----------------------------------------------------------------

  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    // Across a partition nothing arrives: the upstream finds out by its drain timeout.
    if (!this.net.isCut(this.listenerId, this.upstreamId)) this.toUpstream(['cancelled', 'close']);
    this.net.forget(this);
  }

  // ---- the network's events ----------------------------------------------------------------

  /** The link healed: what queued arrives, and the upstream's buffer drains. */
  healed(): void {
    const q = this.queued;
    this.queued = [];
    for (const deliver of q) this.toListener(deliver);
    if (!this.closed && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      this.net.sched.schedule(this.net.latency(), () => this.upstreamGate.deliver(() => waiters.forEach((w) => w())));
    }
  }

  /** `id` (one end) was killed. */
  died(id: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    if (id === this.upstreamId) this.toListener(() => this.sink.failed(`${this.upstreamId} reset the connection`));
    else this.toUpstream(['cancelled', 'close']);
  }

  private toListener(fn: () => void): void {
    const now = this.net.sched.now();
    const at = Math.max(now + this.net.latency(), this.lastArrival);
    this.lastArrival = at;
    this.net.sched.schedule(at - now, () => this.listenerGate.deliver(fn));
  }

  private toUpstream(events: readonly UpstreamEvent[]): void {
    this.net.sched.schedule(this.net.latency(), () =>
      this.upstreamGate.deliver(() => {
        for (const e of events) for (const h of this.handlers.get(e) ?? []) h();
      }),
    );
  }
}

export class SimFeedNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly cut = new Set<string>();
  private readonly streams = new Set<SimFeedStream>();
  /** Streams opened (a run that opens none did not test the feed). */
  opened = 0;

  constructor(readonly sched: SimScheduler) {}

  latency(): number {
    return 1 + this.sched.random.nextInt(3);
  }

  /** A member's feeder is up (its process started). */
  register(id: string, gate: NodeGate, feeder: ListenerFeeder): void {
    this.endpoints.set(id, { id, gate, feeder });
  }

  /** A member was killed: its streams break. */
  died(id: string): void {
    this.endpoints.delete(id);
    for (const s of [...this.streams]) {
      if (s.upstreamId === id || s.listenerId === id) {
        s.died(id);
        this.streams.delete(s);
      }
    }
  }

  /** `id` is cut from every feed link (until healMember). */
  cutMember(id: string): void {
    this.cut.add(id);
  }

  healMember(id: string): void {
    if (!this.cut.delete(id)) return;
    for (const s of this.streams) if (!this.isCut(s.listenerId, s.upstreamId)) s.healed();
  }

  healAll(): void {
    for (const id of [...this.cut]) this.healMember(id);
  }

  isCut(a: string, b: string): boolean {
    return this.cut.has(a) || this.cut.has(b);
  }

  forget(s: SimFeedStream): void {
    // A closed stream still delivers what it queued on heal (its end); keep it until then.
    if (!this.isCut(s.listenerId, s.upstreamId)) this.streams.delete(s);
  }

  /** The connector of member `selfId` (whose process is behind `gate`). */
  connector(selfId: string, gate: NodeGate): FeedConnector {
    return {
      probe: (cluster, _self, id, address, timeoutMs) => this.probe(selfId, gate, cluster, id, address, timeoutMs),
      subscribe: (address, request, sink) => this.subscribe(selfId, gate, address, request, sink),
    };
  }

  private probe(selfId: string, gate: NodeGate, cluster: string, id: string, address: string, timeoutMs: number): Promise<CandidateProbe | null> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (v: CandidateProbe | null): void => {
        if (done) return;
        done = true;
        gate.deliver(() => resolve(v));
      };
      this.sched.schedule(timeoutMs, () => finish(null));
      const target = idOf(address);
      if (this.isCut(selfId, target)) return; // unanswered: the deadline passes
      this.sched.schedule(this.latency(), () => {
        const ep = this.endpoints.get(target);
        if (!ep) {
          this.sched.schedule(this.latency(), () => finish(null)); // refused
          return;
        }
        ep.gate.deliver(() => {
          const r = ep.feeder.probeReply({ ok: true, request: pb.listener.ProbeRequest.create({ cluster, listenerId: selfId }) });
          if (this.isCut(selfId, target)) return;
          this.sched.schedule(this.latency(), () =>
            finish({
              id,
              address,
              canFeed: r.canFeed === true,
              depth: r.depth ?? 0,
              listeners: r.listeners ?? 0,
              fanout: r.fanout ?? 0,
              path: r.path ?? [],
            }),
          );
        });
      });
    });
  }

  private subscribe(selfId: string, gate: NodeGate, address: string, request: SubscribeRequestOut, sink: FeedStreamSink): FeedSubscription {
    const target = idOf(address);
    const ep = this.endpoints.get(target);
    if (!ep || this.isCut(selfId, target)) {
      // Refused, or across a partition: the call fails (gRPC's deadline-less stream would
      // hang until the keepalive; the listener's watchdog would end it the same way).
      let cancelled = false;
      this.sched.schedule(this.latency(), () => gate.deliver(() => (cancelled ? undefined : sink.failed(`${target} is unreachable`))));
      return { cancel: () => (cancelled = true) };
    }
    const s = new SimFeedStream(this, selfId, gate, target, ep.gate, sink, request);
    this.streams.add(s);
    this.opened++;
    this.sched.schedule(this.latency(), () =>
      ep.gate.deliver(() => {
        if (!s.closed && this.endpoints.get(target) === ep) ep.feeder.subscribe(s);
      }),
    );
    return s;
  }
}

/** The member id in a simulated address (simAddress: `${id}.sim:7000`). */
export function idOf(address: string): string {
  const dot = address.indexOf('.sim:');
  return dot < 0 ? address : address.slice(0, dot);
}
