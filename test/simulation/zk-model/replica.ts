// One server of the model ensemble: its own copy of the tree (as of the last transaction
// it applied), its own watches, and the client connections attached to it.
//
// What a real server does with a session's requests, and so this one:
// - it handles them in the order they came (one FIFO per connection);
// - a read is answered from this server's own state when its turn comes: on a follower
//   that lags, that state is stale;
// - a write is forwarded to the leader at once, and answered only once this server
//   applied the transaction the leader made of it; the session's later requests wait
//   behind it (so a session always sees its own writes);
// - watches fire when this server applies a change, on the connections attached here;
// - a session resuming here is refused (the connection closed) while this server is
//   behind the last zxid the client saw: the client must try another server.
import type { ZkWatchEvent } from '../../../src/coordination/zk-api.js';
import type { Link, LinkServerEnd } from './link.js';
import { requestPacketBytes, serverPacketLimitBytes } from './request-size.js';
import type { ModelRequest, ReplyOutcome } from './requests.js';
import { ZnodeTree, type TreeChange } from './tree.js';
import type { Txn } from './txn.js';
import { WatchTable, type WatchPaths } from './watch-table.js';

/** What a server asks of the ensemble (its leader). */
export interface ReplicaEnsemble {
  /** Forwards a session's write to the leader; the transaction comes back with `key` as its origin. */
  forward(from: Replica, sessionId: string, key: number, request: ModelRequest): void;
  /** A handshake for a new session reached `from`; `key` names it in the createSession transaction. */
  createSession(from: Replica, link: Link, clientName: string, key: number): void;
  /** A handshake resuming `sessionId` reached `from`. */
  resumeSession(from: Replica, link: Link, sessionId: string, watches: WatchPaths, lastZxidSeen: bigint): void;
}

type ReadRequest = Extract<ModelRequest, { kind: 'getData' | 'exists' | 'getChildren' }>;

interface Queued {
  readonly requestId: number;
  /** A read, answered when it reaches the head; null for a write. */
  readonly read: ReadRequest | null;
  /** A write's key (0 for a read). */
  readonly key: number;
  /** A write's outcome, once this server applied its transaction. */
  outcome: ReplyOutcome | null;
  /** closeSession: the server closes the connection after its reply. */
  readonly closes: boolean;
}

function failure(code: 'NO_NODE'): ReplyOutcome {
  return { ok: false, code, failedOp: -1 };
}

function isRead(request: ModelRequest): request is ReadRequest {
  return request.kind === 'getData' || request.kind === 'exists' || request.kind === 'getChildren';
}

export class Replica implements LinkServerEnd {
  readonly tree = new ZnodeTree();
  private readonly watches = new WatchTable();
  /** Connections attached here, by session id. */
  private readonly connections = new Map<string, Link>();
  private readonly queues = new Map<Link, Queued[]>();
  /** Writes forwarded from here and not yet applied here, by key: the connection waiting for each. */
  private readonly forwarded = new Map<number, Link>();
  /** New sessions whose handshake waits here for their createSession transaction, by key. */
  private readonly handshakes = new Map<number, Link>();
  private keys = 0;

  constructor(
    readonly index: number,
    private readonly ensemble: ReplicaEnsemble,
  ) {}

  /** The zxid of the last transaction this server applied. */
  lastZxid(): bigint {
    return this.tree.lastZxid();
  }

  // ---- handshakes ---------------------------------------------------------------------

  /** A connection's handshake arrived: a new session (resumeId ''), or one resuming. */
  handshake(link: Link, clientName: string, resumeId: string, watches: WatchPaths, lastZxidSeen: bigint): void {
    if (!link.open) return;
    if (lastZxidSeen > this.tree.lastZxid()) {
      // ZooKeeper: "Refusing session request for client as it has seen zxid ... our last
      // zxid is ... client must try another server".
      link.closeFromServer();
      return;
    }
    if (resumeId === '') {
      const key = ++this.keys;
      this.handshakes.set(key, link);
      this.ensemble.createSession(this, link, clientName, key);
      return;
    }
    this.ensemble.resumeSession(this, link, resumeId, watches, lastZxidSeen);
  }

  /** The session on `link` starts (or resumes) here: the client is told it is connected. */
  attach(link: Link, sessionId: string): void {
    if (!link.open) return;
    this.connections.set(sessionId, link);
    link.answer({ kind: 'connected', sessionId });
  }

  /** A resumed session: attached, and its watches restored against this server's tree. */
  resumed(link: Link, sessionId: string, watches: WatchPaths, lastZxidSeen: bigint): void {
    if (!link.open) return;
    this.attach(link, sessionId);
    for (const n of this.watches.restore(sessionId, watches, lastZxidSeen, this.tree)) link.notify(n.event);
  }

  /** The session the client tried to resume has ended. */
  refuseExpired(link: Link): void {
    if (!link.open) return;
    link.answer({ kind: 'expired' });
    link.closeFromServer();
  }

  /** The client dropped `link`: the connection and the watches set through it go. */
  detach(link: Link): void {
    const queued = this.queues.get(link);
    if (queued) for (const q of queued) if (q.key !== 0) this.forwarded.delete(q.key);
    this.queues.delete(link);
    if (this.connections.get(link.sessionId) !== link) return;
    this.connections.delete(link.sessionId);
    this.watches.removeSession(link.sessionId);
  }

  /** The session moved to another server: its connection here is closed. */
  moveAway(link: Link): void {
    this.detach(link);
    link.closeFromServer();
  }

  // ---- requests -----------------------------------------------------------------------

  receive(link: Link, requestId: number, request: ModelRequest): void {
    // A closed connection, or one not (or no longer) attached here, carries nothing more.
    if (!link.open || this.connections.get(link.sessionId) !== link) return;
    if (requestPacketBytes(request) > serverPacketLimitBytes) {
      // The real server refuses to read the packet and closes the connection; the
      // session lives on and the client reconnects.
      link.closeFromServer();
      return;
    }
    let queue = this.queues.get(link);
    if (!queue) {
      queue = [];
      this.queues.set(link, queue);
    }
    if (isRead(request)) {
      queue.push({ requestId, read: request, key: 0, outcome: null, closes: false });
    } else {
      const key = ++this.keys;
      queue.push({ requestId, read: null, key, outcome: null, closes: request.kind === 'closeSession' });
      this.forwarded.set(key, link);
      this.ensemble.forward(this, link.sessionId, key, request);
    }
    this.drain(link);
  }

  // ---- transactions -------------------------------------------------------------------

  /** Applies the next transaction of the leader's order. */
  apply(txn: Txn): void {
    const zxid = this.tree.nextZxid();
    if (zxid !== txn.zxid) throw new Error(`zk model: server ${this.index} applied zxid ${zxid}, the leader's was ${txn.zxid}`);
    let changes: readonly TreeChange[] = [];
    const change = txn.change;
    if (change.kind === 'ops') {
      const applied = this.tree.apply(change.ops, change.owner, zxid);
      if (!applied.ok) throw new Error(`zk model: server ${this.index} could not replay zxid ${zxid}: ${applied.code}`);
      changes = applied.changes;
    } else if (change.kind === 'closeSession') {
      this.watches.removeSession(change.sessionId);
      changes = this.tree.deleteEphemerals(change.sessionId, zxid);
    }
    // Watches fire before the reply, as the real server notifies while it applies.
    this.notify(changes);
    if (txn.origin !== null && txn.origin.server === this.index) this.answerOrigin(txn);
    if (change.kind === 'closeSession') {
      const link = this.connections.get(change.sessionId);
      if (link) this.moveAway(link);
    }
  }

  private answerOrigin(txn: Txn): void {
    const key = txn.origin!.key;
    if (txn.change.kind === 'createSession') {
      const link = this.handshakes.get(key);
      this.handshakes.delete(key);
      if (link) this.attach(link, txn.change.sessionId);
      return;
    }
    const link = this.forwarded.get(key);
    if (!link) return;
    this.forwarded.delete(key);
    const waiting = this.queues.get(link)?.find((q) => q.key === key);
    if (!waiting) return;
    waiting.outcome = txn.outcome;
    this.drain(link);
  }

  /** Answers the connection's requests in order, as far as they can be answered now. */
  private drain(link: Link): void {
    const queue = this.queues.get(link);
    if (!queue) return;
    while (queue.length > 0) {
      const head = queue[0]!;
      const outcome = head.read !== null ? this.read(link.sessionId, head.read) : head.outcome;
      if (outcome === null) return;
      queue.shift();
      link.reply(head.requestId, { zxid: this.tree.lastZxid(), outcome });
      if (head.closes) {
        this.moveAway(link);
        return;
      }
    }
  }

  private read(sessionId: string, request: ReadRequest): ReplyOutcome {
    switch (request.kind) {
      case 'getData': {
        const found = this.tree.data(request.path);
        if (!found) return failure('NO_NODE');
        if (request.watch) this.watches.add('data', request.path, sessionId);
        return { ok: true, value: { kind: 'data', data: found.data, stat: found.stat } };
      }
      case 'exists': {
        // exists sets a data watch whether or not the znode exists (it then fires on creation).
        if (request.watch) this.watches.add('data', request.path, sessionId);
        return { ok: true, value: { kind: 'stat', stat: this.tree.stat(request.path) } };
      }
      case 'getChildren': {
        const children = this.tree.children(request.path);
        if (!children) return failure('NO_NODE');
        if (request.watch) this.watches.add('child', request.path, sessionId);
        return { ok: true, value: { kind: 'children', children } };
      }
    }
  }

  /** Sends the notifications `changes` trigger here, each down its session's connection, in order. */
  private notify(changes: readonly TreeChange[]): void {
    for (const change of changes) {
      for (const n of this.watches.trigger(change)) this.notifySession(n.sessionId, n.event);
    }
  }

  private notifySession(sessionId: string, event: ZkWatchEvent): void {
    this.connections.get(sessionId)?.notify(event);
  }
}
