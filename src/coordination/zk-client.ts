// The real ZkSession, over node-zookeeper-client (the only module that imports it).
//
// What this layer adds to the library, and why:
// - Fail fast. The library queues requests made while disconnected and sends them
//   after it reconnects, possibly much later. Here a request made while not connected
//   is refused at once with NOT_CONNECTED and never reaches the library: it did not
//   happen.
// - Unknown outcomes are said so. A request handed to the library rejects with
//   CONNECTION_LOSS if the connection drops before its reply, and with TIMEOUT if no
//   reply comes within requestTimeoutMs; either way it may or may not have happened.
//   Caveat: the library fails only the requests it has written to the socket when the
//   connection drops; ones still in its own queue (socket back-pressure) stay queued and
//   are sent after it reconnects to the same session. We reject them with
//   CONNECTION_LOSS too (which is why that outcome is "unknown": they may still land).
// - A read timeout. The library has none: it pings every third of the session timeout
//   but never notices that answers stopped, so a silent server (partition, SIGSTOP)
//   keeps it "connected" forever; and a handshake with a server that accepted the TCP
//   connection but never answers has no timeout either. A watchdog
//   (zk-connection-watchdog.ts) probes when nothing was heard for a third of the session
//   timeout and drops the connection when nothing was heard for two thirds (like the
//   Java client), and drops a handshake unanswered for a third of the session timeout
//   divided by the number of servers; the library then reconnects. The handshake bound
//   is shorter than the library's connect timeout on purpose: ZooKeeper 3.8.0 accepts
//   connections while it starts and, when one arrives before its database is loaded,
//   fails to close it (an NPE in its close path) and never answers; waiting a whole
//   session timeout there lets the session expire although the server came back in time.
// - Session expiry is survived: 'expired' is emitted, then a brand-new client (a new
//   session, new sessionId) is started, and 'connected' follows once it is up.
// - A session nobody can resume is given up: after no contact for 1.5 session timeouts the
//   servers have expired it if they know it at all, yet the library would keep offering it
//   forever. A server that lost its data (restarted on an empty dataDir) never answers: it
//   refuses a client that has seen a zxid ahead of its own. So the session is treated as
//   expired locally and a new one (which has seen nothing) is started. Watches
//   set on the expired session are lost and never fire; callers re-read and re-watch
//   after 'connected'.
// - multi() refuses version 0 (the library turns it into -1) and reports which op failed.
// - sync() is a one-op multi (check '/' at any version), because the library cannot
//   send SYNC: it does not know the reply type and drops the connection when one
//   arrives. The multi goes to the leader and commits in order, so reads after it see
//   every write committed before it, which is what sync promises.
import zookeeper from 'node-zookeeper-client';
import type { Clock } from '../common/clock.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { realClock } from '../common/real-clock.js';
import {
  ZkError,
  type ZkConnectionState,
  type ZkCreateMode,
  type ZkOp,
  type ZkOpResult,
  type ZkSession,
  type ZkStat,
  type ZkWatchEventType,
  type ZkWatcher,
} from './zk-api.js';
import type { ZkAclAccess, ZkAclEntry } from './zk-acl.js';
import { isLocallyGenerated, zkErrorFromNative } from './zk-native-errors.js';
import { dropEstablishedConnection, establishedSocket, liveSocket } from './zk-native-internals.js';
import { awaitNativeDisconnect, type ExpiryFinder, retireExpiredClient, retireNativeClient } from './zk-native-retire.js';
import { addOps, isValidVersion, multiFailure, multiResults, nativeCreateMode, validateMultiOps } from './zk-native-multi.js';
import { bufferOf, bytesOf, sessionIdHex, statFromNative } from './zk-native-stat.js';
import { type WatchKind, ZkWatchRegistry } from './zk-watch-registry.js';
import { type WatchdogTarget, ZkConnectionWatchdog } from './zk-connection-watchdog.js';

export interface ZkClientOptions {
  /** 'host:port[,host:port...]' */
  readonly connectString: string;
  /** Requested session timeout (default 4000 ms); the server may negotiate another within its bounds. */
  readonly sessionTimeoutMs?: number;
  /** How long a sent request may wait for its reply before it rejects with TIMEOUT (default 3000 ms). */
  readonly requestTimeoutMs?: number;
  /** Upper bound of the library's random pause between rounds of reconnect attempts (default 50 ms). */
  readonly spinDelayMs?: number;
  readonly logger?: Logger;
  /** Digest credentials: sent on every (re)connection; znodes are then created creator-only. */
  readonly auth?: { readonly user: string; readonly password: string };
  /**
   * How long a TCP-connected socket may wait for the session handshake before it is
   * dropped and the next attempt starts (default: a third of the session timeout divided
   * by the number of servers, at least 250 ms).
   */
  readonly handshakeTimeoutMs?: number;
  /** Timers and time (default: the real clock). */
  readonly clock?: Clock;
}

/** The current session's id and password, for tests that close it from another connection. */
export interface ZkSessionCredentials {
  readonly sessionId: Buffer;
  readonly password: Buffer;
  readonly sessionTimeoutMs: number;
}

const nativeStates = zookeeper.State;

/** The library client of one session. A new one replaces it after expiry. */
interface Connection {
  readonly client: zookeeper.Client;
  readonly generation: number;
  readonly onState: (state: zookeeper.State) => void;
}

/** A request handed to the library and not settled yet. */
interface InFlight {
  fail(err: ZkError): void;
}

/** How a request's library callback reports back. ok() returns whether the result was delivered (false: already settled). */
interface Reply<T> {
  ok(value: T): boolean;
  fail(err: unknown): void;
}

const watchTypes: ReadonlyMap<number, ZkWatchEventType> = new Map([
  [1, 'created'],
  [2, 'deleted'],
  [3, 'dataChanged'],
  [4, 'childrenChanged'],
]);

export class NodeZkSession implements ZkSession, ZkAclAccess {
  readonly connectString: string;
  private readonly requestedSessionTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly spinDelayMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly auth: { readonly user: string; readonly password: string } | undefined;

  private currentState: ZkConnectionState = 'disconnected';
  private currentSessionId = '';
  private negotiatedTimeoutMs: number;
  private connection: Connection;
  private generation = 0;
  private readonly inFlight = new Set<InFlight>();
  private readonly listeners = new Set<(state: ZkConnectionState) => void>();
  private readonly watchRegistry = new ZkWatchRegistry<zookeeper.Watcher>();
  private closing: Promise<void> | null = null;
  private readonly watchdog: ZkConnectionWatchdog;

  constructor(options: ZkClientOptions) {
    this.connectString = options.connectString;
    this.requestedSessionTimeoutMs = options.sessionTimeoutMs ?? 4_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3_000;
    this.spinDelayMs = options.spinDelayMs ?? 50;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? realClock;
    this.auth = options.auth;
    this.negotiatedTimeoutMs = this.requestedSessionTimeoutMs;
    this.watchdog = new ZkConnectionWatchdog(this.watchdogTarget(), {
      clock: this.clock,
      logger: this.logger,
      connectString: options.connectString,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
    try {
      this.connection = this.startClient();
    } catch (err) {
      // The library validates the connect string synchronously.
      const detail = err instanceof Error ? err.message : String(err);
      throw new ZkError('BAD_ARGUMENTS', '', `ZooKeeper connect string ${JSON.stringify(options.connectString)}: ${detail}`);
    }
    this.watchdog.start();
  }

  get state(): ZkConnectionState {
    return this.currentState;
  }

  get sessionId(): string {
    return this.currentSessionId;
  }

  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /** The current session's credentials, or null before the first connect, after expiry (until reconnected) and after close. */
  sessionCredentials(): ZkSessionCredentials | null {
    if (this.currentState !== 'connected' && this.currentState !== 'disconnected') return null;
    if (this.currentSessionId === '') return null;
    const client = this.connection.client;
    return { sessionId: client.getSessionId(), password: client.getSessionPassword(), sessionTimeoutMs: this.negotiatedTimeoutMs };
  }

  // ---- reads ------------------------------------------------------------------------

  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    const { armed, native } = this.nativeWatcher(watcher, 'node', path);
    return this.request<{ data: Uint8Array; stat: ZkStat }>('getData', path, (client, reply) => {
      const done = (err: zookeeper.Exception | null, data: Buffer | undefined, stat: zookeeper.Stat): void => {
        if (err) reply.fail(err);
        else if (reply.ok({ data: bytesOf(data), stat: statFromNative(stat) })) armed.on = true; // a later failed read keeps an armed watch
      };
      if (native) client.getData(path, native, done);
      else client.getData(path, done);
    });
  }

  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    const { armed, native } = this.nativeWatcher(watcher, 'node', path);
    return this.request<ZkStat | null>('exists', path, (client, reply) => {
      const done = (err: zookeeper.Exception | null, stat: zookeeper.Stat | null): void => {
        if (err) reply.fail(err);
        else if (reply.ok(stat ? statFromNative(stat) : null)) armed.on = true; // a later failed read keeps an armed watch
      };
      if (native) client.exists(path, native, done);
      else client.exists(path, done);
    });
  }

  /** Children names, sorted (ZooKeeper returns them in no particular order). */
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    const { armed, native } = this.nativeWatcher(watcher, 'children', path);
    return this.request<string[]>('getChildren', path, (client, reply) => {
      const done = (err: zookeeper.Exception | null, children: string[]): void => {
        if (err) reply.fail(err);
        else if (reply.ok([...children].sort())) armed.on = true; // a later failed read keeps an armed watch
      };
      if (native) client.getChildren(path, native, done);
      else client.getChildren(path, done);
    });
  }

  // ---- writes -----------------------------------------------------------------------

  create(path: string, data: Uint8Array, mode: ZkCreateMode): Promise<string> {
    return this.request<string>('create', path, (client, reply) => {
      client.create(path, bufferOf(data), this.acl(), nativeCreateMode(mode), (err, created) => {
        if (err) reply.fail(err);
        else reply.ok(created);
      });
    });
  }

  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    if (!isValidVersion(version)) return Promise.reject(badVersionArgument('setData', path, version));
    return this.request<ZkStat>('setData', path, (client, reply) => {
      client.setData(path, bufferOf(data), version, (err, stat) => {
        if (err) reply.fail(err);
        else reply.ok(statFromNative(stat));
      });
    });
  }

  delete(path: string, version: number): Promise<void> {
    if (!isValidVersion(version)) return Promise.reject(badVersionArgument('delete', path, version));
    return this.request<void>('delete', path, (client, reply) => {
      client.remove(path, version, (err) => {
        if (err) reply.fail(err);
        else reply.ok(undefined);
      });
    });
  }

  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    const invalid = validateMultiOps(ops);
    if (invalid !== null) return Promise.reject(invalid);
    return this.request<ZkOpResult[]>('multi', '', (client, reply) => {
      const tx = client.transaction();
      addOps(tx, ops, this.acl());
      tx.commit((err, results) => {
        if (err) {
          reply.fail(multiFailure(ops, results, zkErrorFromNative(err, '', 'multi')));
          return;
        }
        let mapped: ZkOpResult[];
        try {
          mapped = multiResults(ops, results);
        } catch (mismatch) {
          reply.fail(mismatch);
          return;
        }
        reply.ok(mapped);
      });
    });
  }

  sync(path: string): Promise<void> {
    // See the header: a one-op multi stands in for SYNC, which the library cannot send.
    return this.request<void>('sync', path, (client, reply) => {
      client
        .transaction()
        .check('/', -1)
        .commit((err) => {
          if (err) reply.fail(err);
          else reply.ok(undefined);
        });
    });
  }

  // ---- ACLs (see zk-acl.ts) ------------------------------------------------------------

  getAcl(path: string): Promise<ZkAclEntry[]> {
    return this.request<ZkAclEntry[]>('getAcl', path, (client, reply) => {
      client.getACL(path, (err, acls) => {
        if (err) reply.fail(err);
        else reply.ok(acls.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: a.permission })));
      });
    });
  }

  setAcl(path: string, acl: readonly ZkAclEntry[]): Promise<void> {
    if (acl.length === 0) return Promise.reject(new ZkError('BAD_ARGUMENTS', path, `ZooKeeper setAcl ${path}: an empty ACL would lock everyone out`));
    return this.request<void>('setAcl', path, (client, reply) => {
      const native = acl.map((e) => new zookeeper.ACL(e.perms, new zookeeper.Id(e.scheme, e.id)));
      client.setACL(path, native, -1, (err) => {
        if (err) reply.fail(err);
        else reply.ok(undefined);
      });
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
      const timer = this.clock.setTimeout(
        () => finish(new ZkError('TIMEOUT', '', `ZooKeeper at ${this.connectString}: not connected within ${timeoutMs} ms (state ${this.currentState})`)),
        timeoutMs,
      );
    });
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  // ---- internals --------------------------------------------------------------------

  private acl(): zookeeper.ACL[] {
    return this.auth ? zookeeper.ACL.CREATOR_ALL_ACL : zookeeper.ACL.OPEN_ACL_UNSAFE;
  }

  private closedError(path: string): ZkError {
    return new ZkError('CLOSED', path, `ZooKeeper session to ${this.connectString} is closed`);
  }

  /** Why a request must not be sent now, or null when it may. */
  private refusal(op: string, path: string): ZkError | null {
    if (this.currentState === 'connected') return null;
    if (this.currentState === 'closed') return this.closedError(path);
    return new ZkError('NOT_CONNECTED', path, `ZooKeeper ${op} ${path || '(multi)'}: not connected (${this.currentState}); the request was not sent`);
  }

  /**
   * Sends one request through the library, unless not connected (NOT_CONNECTED, not
   * sent). Settles once: with the reply, with CONNECTION_LOSS / SESSION_EXPIRED when the
   * connection or session is lost first, or with TIMEOUT after requestTimeoutMs.
   */
  private request<T>(op: string, path: string, send: (client: zookeeper.Client, reply: Reply<T>) => void): Promise<T> {
    const refused = this.refusal(op, path);
    if (refused !== null) return Promise.reject(refused);
    const connection = this.connection;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        timer.cancel();
        this.inFlight.delete(entry);
        return true;
      };
      const entry: InFlight = {
        fail: (err) => {
          if (settle()) reject(err);
        },
      };
      const timer = this.clock.setTimeout(() => {
        entry.fail(new ZkError('TIMEOUT', path, `ZooKeeper ${op} ${path || '(multi)'}: no reply within ${this.requestTimeoutMs} ms; it may or may not have taken effect`));
      }, this.requestTimeoutMs);
      this.inFlight.add(entry);
      const heard = (err: unknown): void => {
        if (connection.generation === this.generation && !isLocallyGenerated(err)) this.watchdog.heard();
      };
      const reply: Reply<T> = {
        ok: (value) => {
          heard(null);
          if (!settle()) return false;
          resolve(value);
          return true;
        },
        fail: (err) => {
          heard(err);
          entry.fail(zkErrorFromNative(err, path, op));
        },
      };
      try {
        send(connection.client, reply);
      } catch (err) {
        // The library validates paths and sizes synchronously, before queueing anything.
        const detail = err instanceof Error ? err.message : String(err);
        entry.fail(new ZkError('BAD_ARGUMENTS', path, `ZooKeeper ${op} ${path || '(multi)'}: ${detail}`));
      }
    });
  }

  /**
   * Wraps a one-shot watcher: delivered only if a read that set it succeeded, on the
   * session it was set on, while open. The wrapper is reused while pending (zk-watch-registry.ts).
   */
  private nativeWatcher(watcher: ZkWatcher | undefined, kind: WatchKind, path: string): { armed: { on: boolean }; native: zookeeper.Watcher | undefined } {
    if (watcher === undefined) return { armed: { on: false }, native: undefined };
    const generation = this.generation;
    return this.watchRegistry.wrapperFor(watcher, kind, path, generation, (armed, fired) => (event) => {
      fired();
      if (!armed.on || generation !== this.generation || this.currentState === 'closed') return;
      this.watchdog.heard();
      const type = watchTypes.get(event.type);
      if (type === undefined) {
        this.logger.warn({ event: event.name, path: event.path }, 'ZooKeeper: unknown watch event type ignored');
        return;
      }
      try {
        watcher({ type, path: event.path });
      } catch (err) {
        // A throwing watcher must not break the library's socket handling.
        this.logger.error({ err, path: event.path, type }, 'ZooKeeper watcher threw');
      }
    });
  }

  private startClient(): Connection {
    this.generation += 1;
    const generation = this.generation;
    const client = zookeeper.createClient(this.connectString, {
      sessionTimeout: this.requestedSessionTimeoutMs,
      spinDelay: this.spinDelayMs,
      retries: 0,
    });
    if (this.auth) client.addAuthInfo('digest', Buffer.from(`${this.auth.user}:${this.auth.password}`, 'utf8'));
    const onState = (state: zookeeper.State): void => this.onNativeState(generation, state);
    client.on('state', onState);
    client.connect();
    return { client, generation, onState };
  }

  private onNativeState(generation: number, state: zookeeper.State): void {
    if (generation !== this.generation || this.currentState === 'closed') return;
    switch (state.code) {
      case nativeStates.SYNC_CONNECTED.code:
        this.onConnected();
        return;
      case nativeStates.DISCONNECTED.code:
        this.onDisconnected('the connection to ZooKeeper was lost');
        return;
      case nativeStates.EXPIRED.code:
        this.onExpired('server');
        return;
      case nativeStates.AUTH_FAILED.code:
        this.onAuthFailed();
        return;
      default:
        // CONNECTED_READ_ONLY is never offered: the library does not ask for read-only mode.
        this.logger.warn({ state: state.name }, 'ZooKeeper: unexpected client state ignored');
    }
  }

  private onConnected(): void {
    const client = this.connection.client;
    this.currentSessionId = sessionIdHex(client.getSessionId());
    this.negotiatedTimeoutMs = client.getSessionTimeout();
    this.watchdog.sessionConnected();
    this.logger.info({ sessionId: this.currentSessionId, sessionTimeoutMs: this.negotiatedTimeoutMs }, 'ZooKeeper session connected');
    this.setState('connected');
  }

  private onDisconnected(reason: string): void {
    const wasConnected = this.currentState === 'connected';
    this.watchdog.connectionLost(wasConnected);
    if (!wasConnected) return;
    this.logger.warn({ sessionId: this.currentSessionId, reason }, 'ZooKeeper disconnected');
    this.failAll('CONNECTION_LOSS', `${reason} before the reply; the request may or may not have taken effect`);
    this.setState('disconnected');
  }

  /** The session is gone: the server said so, or the watchdog gave it up (see retireExpiredClient). */
  private onExpired(foundBy: ExpiryFinder): void {
    this.watchdog.sessionExpired();
    const old = this.connection;
    this.logger.warn({ sessionId: this.currentSessionId }, 'ZooKeeper session expired; starting a new session');
    this.failAll('SESSION_EXPIRED', 'the session expired before the reply; the request may or may not have taken effect');
    this.setState('expired');
    if (this.currentState !== 'expired') return; // a listener closed us
    retireExpiredClient(this.clock, this.logger, old.client, old.onState, foundBy);
    this.connection = this.startClient();
  }

  private onAuthFailed(): void {
    this.logger.error({ sessionId: this.currentSessionId }, 'ZooKeeper authentication failed; closing the session');
    this.failAll('AUTH_FAILED', 'authentication failed');
    void this.close();
  }

  private failAll(code: 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'AUTH_FAILED', why: string): void {
    for (const entry of [...this.inFlight]) entry.fail(new ZkError(code, '', `ZooKeeper: ${why}`));
  }

  private setState(state: ZkConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state);
      } catch (err) {
        this.logger.error({ err, state }, 'ZooKeeper state listener threw');
      }
    }
  }

  // ---- the watchdog's view of this session (zk-connection-watchdog.ts) ----------------

  private watchdogTarget(): WatchdogTarget {
    // Inside the getters `this` is the returned object, so they read the session through a name.
    const session = this;
    return {
      get state() {
        return session.currentState;
      },
      get sessionId() {
        return session.currentSessionId;
      },
      get sessionTimeoutMs() {
        return session.negotiatedTimeoutMs;
      },
      establishedSocket: () => establishedSocket(this.connection.client.connectionManager),
      dropEstablishedConnection: () => dropEstablishedConnection(this.connection.client.connectionManager),
      probe: (answered) => {
        const generation = this.generation;
        this.connection.client.exists('/', (err) => answered(generation === this.generation && !isLocallyGenerated(err)));
      },
      treatAsDisconnected: (reason) => this.onDisconnected(reason),
      treatAsExpired: () => this.onExpired('watchdog'),
    };
  }

  // ---- closing (zk-native-retire.ts ends the library client) ---------------------------

  private async closeNow(): Promise<void> {
    const connection = this.connection;
    const wasConnected = this.currentState === 'connected';
    this.setState('closed');
    this.watchdog.stop();
    if (wasConnected) {
      // Graceful: CLOSE_SESSION goes after the requests already sent, the server answers
      // them, ends the session (its ephemerals go) and closes the socket.
      await awaitNativeDisconnect(this.clock, connection.client, () => connection.client.close(), this.requestTimeoutMs);
    }
    this.failAll('CONNECTION_LOSS', 'the session was closed before the reply; the request may or may not have taken effect');
    retireNativeClient(this.clock, this.logger, connection.client, connection.onState, !wasConnected);
    this.logger.info({ sessionId: this.currentSessionId }, 'ZooKeeper session closed');
  }
}

function badVersionArgument(op: string, path: string, version: number): ZkError {
  return new ZkError('BAD_ARGUMENTS', path, `ZooKeeper ${op} ${path}: version must be -1 or a non-negative integer, got ${version}`);
}

/** Starts connecting at once; use waitConnected to wait for the session. */
export function connectZk(options: ZkClientOptions): NodeZkSession {
  return new NodeZkSession(options);
}

/**
 * Closes a session from a second connection: connects with the session's id and
 * password (the server moves the session to this connection and drops the owner's)
 * and closes it. The owner then learns on its next reconnect that the session expired.
 * For tests; resolves once the close was sent and the server dropped the connection.
 */
export function closeSessionFromElsewhere(connectString: string, credentials: ZkSessionCredentials, timeoutMs: number): Promise<void> {
  const client = zookeeper.createClient(connectString, {
    sessionTimeout: credentials.sessionTimeoutMs,
    spinDelay: 50,
    retries: 0,
    sessionId: credentials.sessionId,
    sessionPassword: credentials.password,
  });
  return new Promise<void>((resolve, reject) => {
    let closing = false;
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (!closing) {
        try {
          client.close();
        } catch {
          // no socket yet; it closes at its next attempt
        }
      }
      const socket = liveSocket(client.connectionManager);
      if (err) socket?.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = realClock.setTimeout(
      () => finish(new Error(`closing session ${sessionIdHex(credentials.sessionId)} from elsewhere: no result within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('state', (state) => {
      if (state.code === nativeStates.SYNC_CONNECTED.code && !closing) {
        closing = true;
        client.close();
      } else if (state.code === nativeStates.DISCONNECTED.code && closing) {
        finish(null);
      } else if (state.code === nativeStates.EXPIRED.code) {
        // Already gone.
        closing = true;
        finish(null);
      }
    });
    client.connect();
  });
}
