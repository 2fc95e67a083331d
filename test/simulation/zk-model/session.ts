// The client end of the model: a ZkSession that behaves like the real wrapper
// (zk-client.ts over node-zookeeper-client) on top of the model ensemble and links.
//
// - It is given the servers of its connect string, shuffled as the library shuffles
//   them, and each new connection goes to the next one (round robin): a connection
//   that drops moves the session to another server. A server that is behind the last
//   zxid this client saw refuses it (closes the connection), and it tries the next one.
//   A handshake left unanswered (a server whose link to the leader is held) is given up
//   after the wrapper's handshake timeout, and the next server is tried.
// - Requests are refused with NOT_CONNECTED unless connected (never sent), and with
//   CLOSED after close(). The wrapper's and the library's argument checks refuse the
//   same arguments with BAD_ARGUMENTS. What becomes of a sent request: in-flight.ts.
// - Watchers are registered when their read succeeds and fire in order with the
//   replies. After a reconnect to the same session they are restored as the library
//   restores them (SetWatches), so a change missed while disconnected fires then.
// - The connection comes back by itself after a random delay, unless the client is
//   partitioned (then after heal). A session the server ended is reported 'expired'
//   when the client next reaches the server, and a new session starts at once.
// - A silent partition is noticed as the wrapper notices it: by its read timeout, two
//   thirds of the session timeout after it last heard from the server.
// - close() is graceful: it goes after the requests already sent; the server ends the
//   session (its ephemerals go). Bounded by requestTimeoutMs, like the wrapper.
// - A session expiry starts a brand-new client (the wrapper does so): the servers are
//   shuffled again, and the last zxid seen starts over at 0.
import type { TimerHandle } from '../../../src/common/clock.js';
import {
  ZkError,
  type ZkConnectionState,
  type ZkCreateMode,
  type ZkOp,
  type ZkOpResult,
  type ZkSession,
  type ZkStat,
  type ZkWatchEvent,
  type ZkWatcher,
} from '../../../src/coordination/zk-api.js';
import { ClientWatches } from './client-watches.js';
import { badVersionArgument, dataProblem, isValidVersion, multiPathProblem, multiVersionRefusal } from './client-checks.js';
import { InFlightRequests } from './in-flight.js';
import { Link, type HandshakeAnswer, type LinkClientEnd } from './link.js';
import { clientPathProblem } from './paths.js';
import type { Ensemble } from './ensemble.js';
import type { ModelRequest, ReplyValue, ServerReply } from './requests.js';
import type { ClientNetwork } from './session-network.js';

export interface ModelSessionControl {
  readonly name: string;
}

function unexpected(op: string, value: ReplyValue): Error {
  return new Error(`zk model: ${op} answered with a ${value.kind} reply`);
}

export class ModelZkSession implements ZkSession, ModelSessionControl, LinkClientEnd {
  private currentState: ZkConnectionState = 'disconnected';
  private currentSessionId = '';
  /** The session the next handshake resumes ('' for a new one). */
  private resumeId = '';
  private lastZxidSeen = 0n;
  private link: Link | null = null;
  private reconnectTimer: TimerHandle | null = null;
  /** The wrapper's read timeout, armed while the connection is silent. */
  private readTimeout: TimerHandle | null = null;
  private waitingForHeal = false;
  private readonly inFlight: InFlightRequests;
  private readonly listeners = new Set<(state: ZkConnectionState) => void>();
  private readonly watches = new ClientWatches();
  private closing: Promise<void> | null = null;
  /** The connect string's servers, in the order this client tries them. */
  private order: number[] = [];
  private nextServer = 0;
  /** The wrapper's bound on an unanswered handshake, armed while one is in progress. */
  private handshakeTimer: TimerHandle | null = null;

  constructor(
    readonly name: string,
    private readonly ensemble: Ensemble,
    private readonly net: ClientNetwork,
    private servers: readonly number[],
  ) {
    this.inFlight = new InFlightRequests(net);
    this.shuffleServers();
    this.startHandshake();
  }

  get state(): ZkConnectionState {
    return this.currentState;
  }

  get sessionId(): string {
    return this.currentSessionId;
  }

  get sessionTimeoutMs(): number {
    return this.ensemble.sessionTimeoutMs;
  }

  /** The server the current connection (or handshake) goes to, or -1. */
  get server(): number {
    return this.link?.server.index ?? -1;
  }

  /** Whether a connection (or a handshake) is in progress. */
  hasConnection(): boolean {
    return this.link !== null;
  }

  // ---- reads ------------------------------------------------------------------------

  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    return this.call('getData', path, { kind: 'getData', path, watch: watcher !== undefined }, clientPathProblem(path), (value) => {
      if (value.kind !== 'data') throw unexpected('getData', value);
      if (watcher) this.watches.register('data', path, watcher);
      return { data: value.data, stat: value.stat };
    });
  }

  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    return this.call('exists', path, { kind: 'exists', path, watch: watcher !== undefined }, clientPathProblem(path), (value) => {
      if (value.kind !== 'stat') throw unexpected('exists', value);
      if (watcher) this.watches.register(value.stat ? 'data' : 'exist', path, watcher);
      return value.stat;
    });
  }

  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.call('getChildren', path, { kind: 'getChildren', path, watch: watcher !== undefined }, clientPathProblem(path), (value) => {
      if (value.kind !== 'children') throw unexpected('getChildren', value);
      if (watcher) this.watches.register('child', path, watcher);
      return [...value.children];
    });
  }

  // ---- writes -----------------------------------------------------------------------

  create(path: string, data: Uint8Array, mode: ZkCreateMode): Promise<string> {
    const problem = clientPathProblem(path) ?? dataProblem(data);
    return this.call('create', path, { kind: 'create', path, data: new Uint8Array(data), mode }, problem, (value) => {
      if (value.kind !== 'created') throw unexpected('create', value);
      return value.path;
    });
  }

  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    if (!isValidVersion(version)) return Promise.reject(badVersionArgument('setData', path, version));
    const problem = clientPathProblem(path) ?? dataProblem(data);
    return this.call('setData', path, { kind: 'setData', path, data: new Uint8Array(data), version }, problem, (value) => {
      if (value.kind !== 'stat' || value.stat === null) throw unexpected('setData', value);
      return value.stat;
    });
  }

  delete(path: string, version: number): Promise<void> {
    if (!isValidVersion(version)) return Promise.reject(badVersionArgument('delete', path, version));
    return this.call('delete', path, { kind: 'delete', path, version }, clientPathProblem(path), (value) => {
      if (value.kind !== 'done') throw unexpected('delete', value);
    });
  }

  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    const refused = multiVersionRefusal(ops);
    if (refused !== null) return Promise.reject(refused);
    // A private copy, as the wrapper's Buffers: the caller may reuse its arrays.
    const copied = ops.map((op): ZkOp => (op.type === 'create' || op.type === 'setData' ? { ...op, data: new Uint8Array(op.data) } : { ...op }));
    return this.call('multi', '', { kind: 'multi', ops: copied }, multiPathProblem(ops), (value) => {
      if (value.kind !== 'multi') throw unexpected('multi', value);
      return [...value.results];
    });
  }

  sync(path: string): Promise<void> {
    // As the wrapper: a one-op multi through the server's order stands in for SYNC.
    return this.call('sync', path, { kind: 'multi', ops: [{ type: 'check', path: '/', version: -1 }] }, null, (value) => {
      if (value.kind !== 'multi') throw unexpected('sync', value);
    });
  }

  // ---- connection -------------------------------------------------------------------

  onStateChange(listener: (state: ZkConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    if (this.currentState === 'closed') return Promise.reject(this.closedError(''));
    return new Promise<void>((resolve, reject) => {
      const finish = (err: ZkError | null): void => {
        off();
        timer.cancel();
        if (err) reject(err);
        else resolve();
      };
      const off = this.onStateChange((state) => {
        if (state === 'connected') finish(null);
        else if (state === 'closed') finish(this.closedError(''));
      });
      const timer = this.net.sched.schedule(timeoutMs, () =>
        finish(new ZkError('TIMEOUT', '', `ZooKeeper model (${this.name}): not connected within ${timeoutMs} ms (state ${this.currentState})`)),
      );
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    let closed!: () => void;
    this.closing = new Promise<void>((resolve) => {
      closed = resolve;
    });
    this.closeNow(closed);
    return this.closing;
  }

  // ---- faults (called by ZkModel) -----------------------------------------------------

  /** The network drops the connection now (a reset): requests still travelling may have landed. */
  loseConnection(): void {
    const link = this.link;
    if (link === null) return;
    this.inFlight.landPrefixByChance(link);
    this.connectionGone(link);
  }

  /**
   * The network silently drops everything from now on (a blackhole). Requests still
   * travelling may have landed; later ones are lost. Nobody is told: the client finds
   * out by its read timeout, the server by the pings it stops hearing.
   */
  goSilent(): void {
    const link = this.link;
    if (link === null) return;
    if (this.currentState !== 'connected' || link.silent) {
      // A handshake into a blackhole is never answered; the real wrapper gives up on
      // it after its handshake timeout and waits for the network like this.
      if (!link.silent) this.connectionGone(link);
      return;
    }
    this.inFlight.landPrefixByChance(link);
    this.inFlight.loseTravelling(link);
    link.silence();
    this.ensemble.linkSilenced(link);
    const timeoutMs = this.ensemble.sessionTimeoutMs;
    const readTimeoutMs = Math.floor((timeoutMs * 2) / 3);
    const now = this.net.sched.now();
    const noticeAt = link.lastHeardByClient(now, Math.floor(timeoutMs / 3)) + readTimeoutMs;
    this.readTimeout = this.net.sched.schedule(Math.max(0, noticeAt - now), () => {
      this.readTimeout = null;
      if (this.link === link) this.connectionGone(link);
    });
  }

  /** From now on the client connects only to `servers` (a new connect string); its connection drops now and goes there. */
  reroute(servers: readonly number[]): void {
    this.servers = [...servers];
    this.shuffleServers();
    const link = this.link;
    if (link !== null) this.connectionGone(link);
  }

  /** The partition that kept this client away healed. A connection still silent is reset (both ends see it). */
  healed(): void {
    if (this.link?.silent) {
      this.connectionGone(this.link);
      return;
    }
    if (!this.waitingForHeal) return;
    this.waitingForHeal = false;
    this.scheduleReconnect();
  }

  // ---- from the link (LinkClientEnd) ------------------------------------------------

  answered(link: Link, answer: HandshakeAnswer): void {
    if (link !== this.link) return;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    if (answer.kind === 'connected') {
      this.resumeId = answer.sessionId;
      this.currentSessionId = answer.sessionId;
      this.setState('connected');
      return;
    }
    // The server ended the session while we were away: it is gone with its watches.
    link.drop();
    this.link = null;
    this.resumeId = '';
    this.lastZxidSeen = 0n;
    this.shuffleServers();
    this.watches.clear();
    this.inFlight.failAll('SESSION_EXPIRED', 'the session expired before the reply; the request may or may not have taken effect');
    this.setState('expired');
    if (this.currentState !== 'expired') return; // a listener closed us
    this.startHandshake();
  }

  replied(link: Link, requestId: number, reply: ServerReply): void {
    if (link !== this.link) return;
    if (reply.zxid > this.lastZxidSeen) this.lastZxidSeen = reply.zxid;
    this.inFlight.replied(requestId, reply);
  }

  notified(link: Link, event: ZkWatchEvent): void {
    if (link !== this.link) return;
    const watchers = this.watches.take(event);
    if (this.currentState === 'closed') return;
    for (const watcher of watchers) {
      try {
        watcher({ type: event.type, path: event.path });
      } catch (err) {
        this.net.logger.error({ err, client: this.name, path: event.path, type: event.type }, 'ZooKeeper model: watcher threw');
      }
    }
  }

  closedByServer(link: Link): void {
    if (link !== this.link) {
      link.drop();
      return;
    }
    this.connectionGone(link);
  }

  // ---- internals --------------------------------------------------------------------

  private closedError(path: string): ZkError {
    return new ZkError('CLOSED', path, `ZooKeeper model session ${this.name} is closed`);
  }

  private refusal(op: string, path: string): ZkError | null {
    if (this.currentState === 'connected') return null;
    if (this.currentState === 'closed') return this.closedError(path);
    return new ZkError('NOT_CONNECTED', path, `ZooKeeper ${op} ${path || '(multi)'}: not connected (${this.currentState}); the request was not sent`);
  }

  /** Sends one request unless not connected (NOT_CONNECTED) or refused by the client checks (`problem`: BAD_ARGUMENTS). */
  private call<T>(op: string, path: string, request: ModelRequest, problem: string | null, accept: (value: ReplyValue) => T): Promise<T> {
    const refused = this.refusal(op, path);
    if (refused !== null) return Promise.reject(refused);
    if (problem !== null) return Promise.reject(new ZkError('BAD_ARGUMENTS', path, `ZooKeeper ${op} ${path || '(multi)'}: ${problem}`));
    if (this.link === null) return Promise.reject(new Error(`zk model: ${this.name} is connected without a connection`));
    return this.inFlight.send(this.link, op, path, request, accept);
  }

  private setState(state: ZkConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state);
      } catch (err) {
        this.net.logger.error({ err, client: this.name, state }, 'ZooKeeper model: state listener threw');
      }
    }
  }

  /** Starts a handshake on a new connection (resuming the session, or a new one), unless partitioned. */
  private startHandshake(): void {
    if (this.currentState === 'closed') return;
    if (this.net.isPartitioned(this.name)) {
      this.waitingForHeal = true;
      return;
    }
    // This client's own view of the network: its extra latency (a slow link) applies to it alone.
    const net = this.net;
    const name = this.name;
    const server = this.ensemble.servers[this.order[this.nextServer % this.order.length]!]!;
    this.nextServer = (this.nextServer + 1) % this.order.length;
    const link = new Link({ sched: net.sched, latency: () => net.latency() + net.extraLatency(name) }, this, server);
    this.link = link;
    const resumeId = this.resumeId;
    const watches = this.watches.paths();
    const lastZxidSeen = this.lastZxidSeen;
    link.toServer(() => server.handshake(link, this.name, resumeId, watches, lastZxidSeen));
    // The wrapper's handshake timeout: a third of the session timeout shared among the
    // servers, at least 250 ms (zk-client.ts).
    const handshakeTimeoutMs = net.handshakeTimeoutMs ?? Math.max(250, Math.floor(this.ensemble.sessionTimeoutMs / 3 / this.order.length));
    this.handshakeTimer?.cancel();
    this.handshakeTimer = net.sched.schedule(handshakeTimeoutMs, () => {
      this.handshakeTimer = null;
      if (this.link === link && !link.silent) this.connectionGone(link);
    });
  }

  /** Shuffles the connect string's servers, as the library does when a client is made. */
  private shuffleServers(): void {
    const order = [...this.servers];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.net.sched.random.nextInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.order = order;
    this.nextServer = 0;
  }

  private scheduleReconnect(): void {
    if (this.currentState === 'closed' || this.reconnectTimer !== null) return;
    if (this.net.isPartitioned(this.name)) {
      this.waitingForHeal = true;
      return;
    }
    this.reconnectTimer = this.net.sched.schedule(this.net.reconnectDelay(), () => {
      this.reconnectTimer = null;
      if (this.link === null) this.startHandshake();
    });
  }

  /** The current connection is gone (dropped by us or closed by the server): fail what is in flight and come back. */
  private connectionGone(link: Link): void {
    link.drop();
    this.link = null;
    this.readTimeout?.cancel();
    this.readTimeout = null;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.ensemble.linkClosed(link);
    this.inFlight.failAll('CONNECTION_LOSS', 'the connection to ZooKeeper was lost before the reply; the request may or may not have taken effect');
    if (this.currentState === 'closed') return;
    if (this.currentState === 'connected') this.setState('disconnected');
    this.scheduleReconnect();
  }

  private closeNow(closed: () => void): void {
    const wasConnected = this.currentState === 'connected';
    const link = this.link;
    this.setState('closed');
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.waitingForHeal = false;
    if (!wasConnected || link === null) {
      // Not connected: the session (if the server has one) is abandoned and expires there.
      if (link !== null) this.connectionGone(link);
      closed();
      return;
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      bound.cancel();
      if (this.link === link) this.connectionGone(link);
      this.inFlight.failAll('CONNECTION_LOSS', 'the session was closed before the reply; the request may or may not have taken effect');
      closed();
    };
    const bound = this.net.sched.schedule(this.net.requestTimeoutMs, finish);
    // CLOSE_SESSION goes after the requests already sent: the server answers those first.
    this.inFlight.sendClose(link, finish);
  }
}
