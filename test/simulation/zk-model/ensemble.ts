// The model ZooKeeper ensemble: servers (replicas) that each apply the leader's
// transactions in the leader's order, the followers later than the leader by a seeded,
// variable lag, and the sessions, which the leader owns.
//
// Server 0 leads for good (the model has no election inside the ensemble). Every write,
// whichever server it came in through, is decided by the leader in arrival order
// (ZooKeeper's checks, the zxid) and becomes a transaction; the leader applies it at once,
// each follower when it arrives over its link (leader-channel.ts), which may lag or be
// held. A follower answers from what it has applied, so:
// - reads on a lagging follower are stale, and watches fire there late;
// - sync() (the wrapper sends a one-op multi) returns only once the session's server
//   applied everything the leader had decided before it;
// - a session always sees its own writes (its server answers one only once it applied it).
//
// Sessions, as on the real server:
// - a new session is a transaction (createSession): the server answers the handshake once
//   it applied it, so the new session's first read is no older than its creation. With
//   localSessions (ZooKeeper's localSessionsEnabled), the server answers at once and the
//   session is known to that server only, until it creates an ephemeral (the upgrade, a
//   createSession transaction): its first reads can then be older than anything the
//   client saw before, and it cannot move to another server (it is told it expired);
// - a session resuming on another server is checked by the leader (over that server's
//   link, so a held link holds it), then moves: its old connection is closed, and a write
//   forwarded through the old server that reaches the leader after the move is never
//   applied (ZooKeeper's SessionMovedException);
// - kept alive while connected; the session timeout runs from the last time its server
//   heard from the client once its connection is gone (or silent); when it passes, or
//   the session is closed or expired on purpose, one closeSession transaction deletes its
//   ephemerals. Its connection is closed when its own server applies that transaction.
import type { TimerHandle } from '../../../src/common/clock.js';
import type { ZkCreateMode, ZkErrorCode, ZkOp } from '../../../src/coordination/zk-api.js';
import type { SimScheduler } from '../sim-scheduler.js';
import { LeaderChannel } from './leader-channel.js';
import type { Link } from './link.js';
import { Replica, type ReplicaEnsemble } from './replica.js';
import type { ModelRequest, ReplyOutcome } from './requests.js';
import { ZnodeTree } from './tree.js';
import type { Txn, TxnChange, TxnOrigin } from './txn.js';
import type { WatchPaths } from './watch-table.js';

interface EnsembleSession {
  readonly id: string;
  readonly clientName: string;
  /** The server the session is attached to (the owner of its requests). */
  server: number;
  link: Link | null;
  /** Runs out the session timeout while the server hears nothing from the client. */
  expiry: TimerHandle | null;
  /** A local session (never upgraded): the one server that knows it; -1 for a global session. */
  localTo: number;
}

export interface EnsembleOptions {
  readonly servers: number;
  readonly sessionTimeoutMs: number;
  /** One message's latency between a follower and the leader, in virtual ms. */
  readonly followerLag: () => number;
  readonly localSessions: boolean;
}

/** Session ids look like the real server's: 16 hex digits, the server id in the top byte. */
const sessionIdBase = 0x0100_0000_0000_0000n;

function failure(code: ZkErrorCode, failedOp = -1): ReplyOutcome {
  return { ok: false, code, failedOp };
}

const done: ReplyOutcome = { ok: true, value: { kind: 'done' } };

function createsEphemeral(request: ModelRequest): boolean {
  const ephemeral = (mode: ZkCreateMode): boolean => mode === 'ephemeral' || mode === 'ephemeral_sequential';
  if (request.kind === 'create') return ephemeral(request.mode);
  if (request.kind === 'multi') return request.ops.some((op) => op.type === 'create' && ephemeral(op.mode));
  return false;
}

export class Ensemble implements ReplicaEnsemble {
  /** The leader's state: every transaction decided so far. */
  readonly tree = new ZnodeTree();
  readonly servers: readonly Replica[];
  /** Link of each follower to the leader (null for the leader itself). */
  private readonly channels: ReadonlyArray<LeaderChannel | null>;
  /** Live sessions only: an id missing here has expired (or was closed). */
  private readonly sessions = new Map<string, EnsembleSession>();
  private sessionsCreated = 0n;
  /**
   * Told of every client write the leader decides, before it applies it (the tree still
   * shows what the write replaces); what it returns is told whether the write succeeded.
   * For invariant checks (what compaction deletes, what a manifest claims).
   */
  writeObserver: ((ops: readonly ZkOp[]) => ((ok: boolean) => void) | void) | null = null;

  constructor(
    private readonly sched: SimScheduler,
    private readonly o: EnsembleOptions,
  ) {
    if (!Number.isInteger(o.servers) || o.servers < 1) throw new Error(`ZkModel: servers must be a positive integer, got ${o.servers}`);
    this.servers = Array.from({ length: o.servers }, (_, i) => new Replica(i, this));
    this.channels = this.servers.map((_, i) => (i === 0 ? null : new LeaderChannel({ sched, lag: o.followerLag })));
  }

  get sessionTimeoutMs(): number {
    return this.o.sessionTimeoutMs;
  }

  /** The client name of a live session, or null when `sessionId` is not live. */
  clientOf(sessionId: string): string | null {
    return this.sessions.get(sessionId)?.clientName ?? null;
  }

  /** Ids of the live sessions of the client called `clientName`. */
  sessionsOf(clientName: string): string[] {
    return [...this.sessions.values()].filter((s) => s.clientName === clientName).map((s) => s.id);
  }

  /** Holds follower `server`'s link to the leader (nothing either way, nothing closed) until release(). */
  hold(server: number): void {
    this.channel(server).hold();
  }

  release(server: number): void {
    this.channel(server).release();
  }

  isHeld(server: number): boolean {
    return this.channels[server]?.isHeld ?? false;
  }

  // ---- from the servers (ReplicaEnsemble) ---------------------------------------------

  forward(from: Replica, sessionId: string, key: number, request: ModelRequest): void {
    this.toLeader(from.index, () => this.execute({ server: from.index, key }, sessionId, request));
  }

  createSession(from: Replica, link: Link, clientName: string, key: number): void {
    if (this.o.localSessions) {
      const session = this.register(clientName, from.index, link, from.index);
      from.attach(link, session.id);
      return;
    }
    this.toLeader(from.index, () => {
      const session = this.register(clientName, from.index, link, -1);
      this.decide({ kind: 'createSession', sessionId: session.id }, { server: from.index, key }, done);
    });
  }

  resumeSession(from: Replica, link: Link, sessionId: string, watches: WatchPaths, lastZxidSeen: bigint): void {
    const local = this.sessions.get(sessionId);
    if (local !== undefined && local.localTo === from.index) {
      // A local session back on its own server: that server alone knows it.
      this.reattach(local, from, link);
      from.resumed(link, sessionId, watches, lastZxidSeen);
      return;
    }
    this.toLeader(from.index, () => {
      const session = this.sessions.get(sessionId);
      if (session === undefined || session.localTo !== -1) {
        this.toServer(from.index, () => from.refuseExpired(link));
        return;
      }
      // The client gave up on this connection meanwhile: the session keeps its timer.
      if (!link.open) return;
      this.reattach(session, from, link);
      this.toServer(from.index, () => from.resumed(link, sessionId, watches, lastZxidSeen));
    });
  }

  // ---- from the clients ---------------------------------------------------------------

  /** The client dropped `link`: its server forgets it, and the session's timeout runs from when the server last heard from it. */
  linkClosed(link: Link): void {
    this.servers[link.server.index]?.detach(link);
    const session = this.sessions.get(link.sessionId);
    if (!session || session.link !== link) return;
    session.link = null;
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

  /** Ends a session now (a fault, or its timeout): one transaction deletes its ephemerals. */
  expire(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session) this.end(session, null);
  }

  // ---- the leader ---------------------------------------------------------------------

  private register(clientName: string, server: number, link: Link, localTo: number): EnsembleSession {
    this.sessionsCreated += 1n;
    const id = (sessionIdBase + this.sessionsCreated).toString(16).padStart(16, '0');
    const session: EnsembleSession = { id, clientName, server, link: link.open ? link : null, expiry: null, localTo };
    this.sessions.set(id, session);
    // Named now, so that a connection dropped before its answer still ends the session's life.
    link.sessionId = id;
    if (session.link === null) this.startExpiry(session, link);
    return session;
  }

  private reattach(session: EnsembleSession, server: Replica, link: Link): void {
    session.expiry?.cancel();
    session.expiry = null;
    const previous = session.link;
    if (previous !== null && previous !== link) this.servers[previous.server.index]?.moveAway(previous);
    session.link = link;
    session.server = server.index;
    link.sessionId = session.id;
  }

  /** A write reached the leader: ZooKeeper's checks, a zxid, a transaction. */
  private execute(origin: TxnOrigin, sessionId: string, request: ModelRequest): void {
    const session = this.sessions.get(sessionId);
    // Ended, or moved to another server since: the real leader refuses it (session
    // expired, or moved) and the client never hears back on that connection.
    if (!session || session.server !== origin.server) return;
    if (session.localTo !== -1 && createsEphemeral(request)) {
      // A local session that creates an ephemeral is upgraded first: a createSession.
      session.localTo = -1;
      this.decide({ kind: 'createSession', sessionId }, null, done);
    }
    switch (request.kind) {
      case 'getData':
      case 'exists':
      case 'getChildren':
        throw new Error(`zk model: a ${request.kind} was forwarded to the leader`);
      case 'closeSession':
        this.end(session, origin);
        return;
      case 'multi': {
        const zxid = this.tree.nextZxid();
        const observed = this.writeObserver?.(request.ops);
        const outcome = this.tree.apply(request.ops, sessionId, zxid);
        if (observed) observed(outcome.ok);
        if (!outcome.ok) this.record(zxid, { kind: 'error' }, origin, failure(outcome.code, outcome.failedOp));
        else this.record(zxid, { kind: 'ops', ops: request.ops, owner: sessionId }, origin, { ok: true, value: { kind: 'multi', results: outcome.results } });
        return;
      }
      case 'create':
      case 'setData':
      case 'delete': {
        const op: ZkOp =
          request.kind === 'create'
            ? { type: 'create', path: request.path, data: request.data, mode: request.mode }
            : request.kind === 'setData'
              ? { type: 'setData', path: request.path, data: request.data, version: request.version }
              : { type: 'delete', path: request.path, version: request.version };
        const zxid = this.tree.nextZxid();
        const observed = this.writeObserver?.([op]);
        const outcome = this.tree.apply([op], sessionId, zxid);
        if (observed) observed(outcome.ok);
        if (!outcome.ok) {
          this.record(zxid, { kind: 'error' }, origin, failure(outcome.code));
          return;
        }
        const result = outcome.results[0];
        const reply: ReplyOutcome =
          result?.type === 'create'
            ? { ok: true, value: { kind: 'created', path: result.path } }
            : result?.type === 'setData'
              ? { ok: true, value: { kind: 'stat', stat: result.stat } }
              : done;
        this.record(zxid, { kind: 'ops', ops: [op], owner: sessionId }, origin, reply);
        return;
      }
    }
  }

  /** The session ends (closed, or expired): one transaction removes its ephemerals. */
  private end(session: EnsembleSession, origin: TxnOrigin | null): void {
    this.sessions.delete(session.id);
    session.expiry?.cancel();
    session.expiry = null;
    session.link = null;
    this.decide({ kind: 'closeSession', sessionId: session.id }, origin, done);
  }

  /** Decides a transaction that is not a client's ops (a session starting or ending). */
  private decide(change: TxnChange, origin: TxnOrigin | null, outcome: ReplyOutcome): void {
    const zxid = this.tree.nextZxid();
    if (change.kind === 'closeSession') this.tree.deleteEphemerals(change.sessionId, zxid);
    this.record(zxid, change, origin, outcome);
  }

  /** Sends a decided transaction to every server: the leader applies it now, the followers when it arrives. */
  private record(zxid: bigint, change: TxnChange, origin: TxnOrigin | null, outcome: ReplyOutcome): void {
    const txn: Txn = { zxid, change, origin, outcome };
    for (const server of this.servers) this.toServer(server.index, () => server.apply(txn));
  }

  /** Runs out the session timeout from the last time the server heard from the client on `link`. */
  private startExpiry(session: EnsembleSession, link: Link): void {
    session.expiry?.cancel();
    const now = this.sched.now();
    const lastHeard = link.lastHeardByServer(now, Math.floor(this.o.sessionTimeoutMs / 3));
    session.expiry = this.sched.schedule(Math.max(0, lastHeard + this.o.sessionTimeoutMs - now), () => {
      session.expiry = null;
      this.expire(session.id);
    });
  }

  private channel(server: number): LeaderChannel {
    const channel = this.channels[server];
    if (!channel) throw new Error(`ZkModel: server ${server} is not a follower (the leader is 0, followers 1..${this.servers.length - 1})`);
    return channel;
  }

  private toLeader(from: number, arrive: () => void): void {
    const channel = this.channels[from];
    if (channel) channel.toLeader(arrive);
    else arrive();
  }

  private toServer(to: number, arrive: () => void): void {
    const channel = this.channels[to];
    if (channel) channel.toFollower(arrive);
    else arrive();
  }
}
