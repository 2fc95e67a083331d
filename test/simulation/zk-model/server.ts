// The model ZooKeeper server: one linearizable point that applies requests in the
// order they arrive, owns the sessions and their timers, and sends replies and watch
// notifications down each session's connection.
//
// Sessions, as on the real server: created by a handshake (a transaction: it takes a
// zxid), kept alive while connected, and given the session timeout from the last time
// the server heard from the client once its connection closes. When that passes, or
// when the session is closed or expired on purpose, the session ends: one transaction
// deletes its ephemeral znodes (firing other sessions' watches), its watches go, and a
// client that comes back is told it expired.
import type { TimerHandle } from '../../../src/common/clock.js';
import type { ZkErrorCode } from '../../../src/coordination/zk-api.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { Link } from './link.js';
import { requestPacketBytes, serverPacketLimitBytes } from './request-size.js';
import type { ModelRequest, ReplyOutcome } from './requests.js';
import { ZnodeTree, type TreeChange } from './tree.js';
import { WatchTable, type WatchPaths } from './watch-table.js';

interface ServerSession {
  readonly id: string;
  readonly clientName: string;
  link: Link | null;
  /** Runs out the session timeout while the server hears nothing from the client. */
  expiry: TimerHandle | null;
}

/** Session ids look like the real server's: 16 hex digits, the server id in the top byte. */
const sessionIdBase = 0x0100_0000_0000_0000n;

function failure(code: ZkErrorCode, failedOp = -1): ReplyOutcome {
  return { ok: false, code, failedOp };
}

export class ModelServer {
  readonly tree = new ZnodeTree();
  private readonly watches = new WatchTable();
  /** Live sessions only: an id missing here has expired (or was closed). */
  private readonly sessions = new Map<string, ServerSession>();
  private sessionsCreated = 0n;

  constructor(
    private readonly sched: SimScheduler,
    readonly sessionTimeoutMs: number,
  ) {}

  /** Ids of the live sessions of the client called `clientName`. */
  sessionsOf(clientName: string): string[] {
    return [...this.sessions.values()].filter((s) => s.clientName === clientName).map((s) => s.id);
  }

  /** A connection's handshake reached the server: a new session (resumeId ''), the same one again, or 'expired'. */
  handshake(link: Link, clientName: string, resumeId: string, watches: WatchPaths, lastZxidSeen: bigint): void {
    if (resumeId === '') {
      this.tree.nextZxid(); // createSession is a transaction
      this.sessionsCreated += 1n;
      const id = (sessionIdBase + this.sessionsCreated).toString(16).padStart(16, '0');
      this.sessions.set(id, { id, clientName, link, expiry: null });
      link.sessionId = id;
      link.answer({ kind: 'connected', sessionId: id });
      return;
    }
    const session = this.sessions.get(resumeId);
    if (!session) {
      link.answer({ kind: 'expired' });
      link.closeFromServer();
      return;
    }
    session.expiry?.cancel();
    session.expiry = null;
    session.link?.closeFromServer(); // a client has one connection; an older one is stale
    session.link = link;
    link.sessionId = resumeId;
    link.answer({ kind: 'connected', sessionId: resumeId });
    for (const n of this.watches.restore(resumeId, watches, lastZxidSeen, this.tree)) link.notify(n.event);
  }

  /** A request reached the server on `link`: apply it, notify watchers, reply. */
  receive(link: Link, requestId: number, request: ModelRequest): void {
    const session = this.sessions.get(link.sessionId);
    // A closed connection, or one of an ended session, carries nothing more.
    if (!link.open || !session || session.link !== link) return;
    if (requestPacketBytes(request) > serverPacketLimitBytes) {
      // The real server refuses to read the packet and closes the connection; the
      // session lives on and the client reconnects to it.
      link.closeFromServer();
      return;
    }
    const outcome = this.execute(session, request);
    link.reply(requestId, { zxid: this.tree.lastZxid(), outcome });
    if (request.kind === 'closeSession') link.closeFromServer();
  }

  /** The client dropped `link`: the session's watches go and its timeout runs from when the server last heard from it. */
  linkClosed(link: Link): void {
    const session = this.sessions.get(link.sessionId);
    if (!session || session.link !== link) return;
    session.link = null;
    this.watches.removeSession(session.id);
    this.startExpiry(session, link);
  }

  /**
   * `link` went silent (a blackhole). The server is not told; it just stops hearing
   * pings, so the session's timeout runs while the connection still looks open to it.
   */
  linkSilenced(link: Link): void {
    const session = this.sessions.get(link.sessionId);
    if (!session || session.link !== link) return;
    this.startExpiry(session, link);
  }

  /** Ends a session now (a fault, or its timeout): its ephemerals go; its connection, if any, is closed. */
  expire(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    const link = session.link;
    session.link = null;
    this.end(session);
    link?.closeFromServer();
  }

  /** Runs out the session timeout from the last time the server heard from the client on `link`. */
  private startExpiry(session: ServerSession, link: Link): void {
    session.expiry?.cancel();
    const now = this.sched.now();
    const lastHeard = link.lastHeardByServer(now, Math.floor(this.sessionTimeoutMs / 3));
    session.expiry = this.sched.schedule(Math.max(0, lastHeard + this.sessionTimeoutMs - now), () => {
      session.expiry = null;
      this.expire(session.id);
    });
  }

  private execute(session: ServerSession, request: ModelRequest): ReplyOutcome {
    switch (request.kind) {
      case 'getData': {
        const found = this.tree.data(request.path);
        if (!found) return failure('NO_NODE');
        if (request.watch) this.watches.add('data', request.path, session.id);
        return { ok: true, value: { kind: 'data', data: found.data, stat: found.stat } };
      }
      case 'exists': {
        // exists sets a data watch whether or not the znode exists (it then fires on creation).
        if (request.watch) this.watches.add('data', request.path, session.id);
        return { ok: true, value: { kind: 'stat', stat: this.tree.stat(request.path) } };
      }
      case 'getChildren': {
        const children = this.tree.children(request.path);
        if (!children) return failure('NO_NODE');
        if (request.watch) this.watches.add('child', request.path, session.id);
        return { ok: true, value: { kind: 'children', children } };
      }
      case 'create':
      case 'setData':
      case 'delete':
        return this.single(session, request);
      case 'multi': {
        const outcome = this.tree.apply(request.ops, session.id, this.tree.nextZxid());
        if (!outcome.ok) return failure(outcome.code, outcome.failedOp);
        this.notify(outcome.changes);
        return { ok: true, value: { kind: 'multi', results: outcome.results } };
      }
      case 'closeSession':
        this.end(session);
        return { ok: true, value: { kind: 'done' } };
    }
  }

  private single(session: ServerSession, request: Extract<ModelRequest, { kind: 'create' | 'setData' | 'delete' }>): ReplyOutcome {
    const op =
      request.kind === 'create'
        ? { type: 'create' as const, path: request.path, data: request.data, mode: request.mode }
        : request.kind === 'setData'
          ? { type: 'setData' as const, path: request.path, data: request.data, version: request.version }
          : { type: 'delete' as const, path: request.path, version: request.version };
    const outcome = this.tree.apply([op], session.id, this.tree.nextZxid());
    if (!outcome.ok) return failure(outcome.code);
    this.notify(outcome.changes);
    const result = outcome.results[0];
    switch (result?.type) {
      case 'create':
        return { ok: true, value: { kind: 'created', path: result.path } };
      case 'setData':
        return { ok: true, value: { kind: 'stat', stat: result.stat } };
      default:
        return { ok: true, value: { kind: 'done' } };
    }
  }

  /** The session ends (closed or expired): one transaction removes its ephemerals. */
  private end(session: ServerSession): void {
    this.sessions.delete(session.id);
    session.expiry?.cancel();
    session.expiry = null;
    this.watches.removeSession(session.id);
    this.notify(this.tree.deleteEphemerals(session.id, this.tree.nextZxid()));
  }

  /** Sends the notifications `changes` trigger, each down its session's connection, in the order of the changes. */
  private notify(changes: readonly TreeChange[]): void {
    for (const change of changes) {
      for (const n of this.watches.trigger(change)) this.sessions.get(n.sessionId)?.link?.notify(n.event);
    }
  }
}
