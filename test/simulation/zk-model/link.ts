// One client connection to one server of the model ensemble: two FIFO directions with a random latency
// per message, like a TCP connection. Whatever is sent after something else arrives
// after it, so the server applies one session's requests in the order they were issued
// and the client receives replies and watch notifications in the order the server sent
// them. Either end can close it: the client (a fault, or close()) drops it at once and
// everything still travelling is lost; the server's close reaches the client after what
// the server sent before it. A silent partition turns it into a blackhole: everything
// is lost both ways and neither end is told.
import type { TimerHandle } from '../../../src/common/clock.js';
import type { ZkWatchEvent } from '../../../src/coordination/zk-api.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { ModelRequest, ServerReply } from './requests.js';

export type HandshakeAnswer = { readonly kind: 'connected'; readonly sessionId: string } | { readonly kind: 'expired' };

/** The server a connection goes to: it takes the client's requests (the handshake travels on its own). */
export interface LinkServerEnd {
  /** The server's index in the ensemble. */
  readonly index: number;
  receive(link: Link, requestId: number, request: ModelRequest): void;
}

/** What the client end of a connection receives. */
export interface LinkClientEnd {
  answered(link: Link, answer: HandshakeAnswer): void;
  replied(link: Link, requestId: number, reply: ServerReply): void;
  notified(link: Link, event: ZkWatchEvent): void;
  /** The server closed the connection (the session ended, or a request was too large). */
  closedByServer(link: Link): void;
}

export interface LinkNetwork {
  readonly sched: SimScheduler;
  /** One message's latency in virtual ms. */
  latency(): number;
}

/**
 * The last of the times start + k * interval (k >= 0) that is not after `now`: when
 * something repeated every `interval` since `start` last happened.
 */
function lastTick(start: number, interval: number, now: number): number {
  if (interval <= 0 || now <= start) return start;
  return start + Math.floor((now - start) / interval) * interval;
}

export class Link {
  /** The server session this connection carries, set when the handshake reached the server. */
  sessionId = '';
  private dropped = false;
  private serverClosed = false;
  private silencedAt: number | null = null;
  private lastArrivalAt: number;
  private lastDeliveryAt: number;
  /** Last time the client sent or received anything here: the library pings only when idle. */
  private lastClientActivityAt: number;
  /** Last time the client received anything here. */
  private lastReceivedAt: number;
  /** Last time a message from the client reached the server. */
  private lastHeardByServerAt: number;
  private readonly inTransit = new Set<TimerHandle>();

  constructor(
    private readonly net: LinkNetwork,
    private readonly client: LinkClientEnd,
    readonly server: LinkServerEnd,
  ) {
    const now = net.sched.now();
    this.lastArrivalAt = now;
    this.lastDeliveryAt = now;
    this.lastClientActivityAt = now;
    this.lastReceivedAt = now;
    this.lastHeardByServerAt = now;
  }

  /** Neither end closed it (it may be silent). */
  get open(): boolean {
    return !this.dropped && !this.serverClosed;
  }

  get silent(): boolean {
    return this.silencedAt !== null;
  }

  /**
   * Sends a message to the server; `arrive` runs when it gets there, unless either end
   * closed the connection first. The handle takes the message back while it travels;
   * null means it was lost at once (the connection is silent).
   */
  toServer(arrive: () => void): TimerHandle | null {
    const sched = this.net.sched;
    this.lastClientActivityAt = sched.now();
    if (this.silent) return null;
    const at = Math.max(this.lastArrivalAt, sched.now() + this.net.latency());
    this.lastArrivalAt = at;
    return this.track(at, () => {
      if (!this.open) return;
      this.lastHeardByServerAt = sched.now();
      arrive();
    });
  }

  answer(answer: HandshakeAnswer): void {
    this.toClient(() => this.client.answered(this, answer));
  }

  reply(requestId: number, reply: ServerReply): void {
    this.toClient(() => this.client.replied(this, requestId, reply));
  }

  notify(event: ZkWatchEvent): void {
    this.toClient(() => this.client.notified(this, event));
  }

  /** The server closes the connection: it reads nothing more, and the client notices after what was already sent. */
  closeFromServer(): void {
    if (!this.open) return;
    this.serverClosed = true;
    if (this.silent) return; // the client can only find out by its read timeout
    const at = Math.max(this.lastDeliveryAt, this.net.sched.now() + this.net.latency());
    this.lastDeliveryAt = at;
    this.track(at, () => {
      if (!this.dropped) this.client.closedByServer(this);
    });
  }

  /** The client end drops the connection: everything still travelling is lost. Idempotent. */
  drop(): void {
    this.dropped = true;
    this.cancelInTransit();
  }

  /** A blackhole from now on: everything travelling or sent later is lost, and nobody is told. */
  silence(): void {
    if (this.silent) return;
    this.silencedAt = this.net.sched.now();
    this.cancelInTransit();
  }

  /**
   * When the server last heard from this client: its last message, or the last ping.
   * An idle client pings every `pingIntervalMs` (node-zookeeper-client: a third of the
   * session timeout), so the server's session timer runs from at most that long ago.
   * Nothing is heard once the connection went silent.
   */
  lastHeardByServer(now: number, pingIntervalMs: number): number {
    const until = Math.min(now, this.silencedAt ?? now);
    const pingAt = lastTick(this.lastClientActivityAt, pingIntervalMs, until);
    return pingAt > this.lastClientActivityAt ? Math.max(this.lastHeardByServerAt, pingAt) : this.lastHeardByServerAt;
  }

  /**
   * When the client last heard from the server. The real wrapper probes (an exists on
   * '/') after `probeAfterMs` without hearing anything, so on a live connection it hears
   * something at least that often (the probe's round trip is neglected here).
   */
  lastHeardByClient(now: number, probeAfterMs: number): number {
    const until = Math.min(now, this.silencedAt ?? now);
    return lastTick(this.lastReceivedAt, probeAfterMs, until);
  }

  private toClient(deliver: () => void): void {
    if (!this.open || this.silent) return;
    const sched = this.net.sched;
    const at = Math.max(this.lastDeliveryAt, sched.now() + this.net.latency());
    this.lastDeliveryAt = at;
    this.track(at, () => {
      if (this.dropped) return;
      this.lastClientActivityAt = sched.now();
      this.lastReceivedAt = sched.now();
      deliver();
    });
  }

  private cancelInTransit(): void {
    for (const handle of this.inTransit) handle.cancel();
    this.inTransit.clear();
  }

  private track(at: number, fn: () => void): TimerHandle {
    const sched = this.net.sched;
    let handle: TimerHandle | null = null;
    const inner = sched.schedule(at - sched.now(), () => {
      if (handle) this.inTransit.delete(handle);
      fn();
    });
    handle = {
      cancel: () => {
        inner.cancel();
        if (handle) this.inTransit.delete(handle);
      },
    };
    this.inTransit.add(handle);
    return handle;
  }
}
