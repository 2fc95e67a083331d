// The ZooKeeper session as duoraft uses it: promises, typed errors, and the
// distinction between a request that was never sent (its outcome is known: it did
// not happen) and one whose reply was lost (its outcome is unknown).
//
// Two implementations: zk-client.ts over node-zookeeper-client (the only importer of
// that package), and the simulator's in-memory model. One contract test suite runs
// against both.

export type ZkCreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

export interface ZkStat {
  /** Data version: +1 per setData. A fresh znode has version 0. */
  readonly version: number;
  /** Child version: +1 per child created or deleted. */
  readonly cversion: number;
  /** Session id (hex) of the owner of an ephemeral znode, '' for persistent ones. */
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
  /** zxid of the last modification, as a bigint. */
  readonly mzxid: bigint;
}

export type ZkOp =
  | { readonly type: 'check'; readonly path: string; readonly version: number }
  | { readonly type: 'create'; readonly path: string; readonly data: Uint8Array; readonly mode: ZkCreateMode }
  | { readonly type: 'setData'; readonly path: string; readonly data: Uint8Array; readonly version: number }
  | { readonly type: 'delete'; readonly path: string; readonly version: number };

export type ZkOpResult =
  | { readonly type: 'check' }
  | { readonly type: 'create'; readonly path: string }
  | { readonly type: 'setData'; readonly stat: ZkStat }
  | { readonly type: 'delete' };

export type ZkErrorCode =
  | 'NO_NODE'
  | 'NODE_EXISTS'
  | 'BAD_VERSION'
  | 'NOT_EMPTY'
  | 'NO_CHILDREN_FOR_EPHEMERALS'
  | 'BAD_ARGUMENTS'
  | 'NO_AUTH'
  | 'AUTH_FAILED'
  /** Not connected: the request was NOT sent. It did not happen. */
  | 'NOT_CONNECTED'
  /** Sent, but the connection was lost before the reply: it may or may not have happened. */
  | 'CONNECTION_LOSS'
  /** Sent, no reply within the request timeout: it may or may not have happened. */
  | 'TIMEOUT'
  | 'SESSION_EXPIRED'
  | 'CLOSED'
  | 'OTHER';

/** Whether a failed request might still have taken effect. */
export function outcomeUnknown(code: ZkErrorCode): boolean {
  return code === 'CONNECTION_LOSS' || code === 'TIMEOUT' || code === 'SESSION_EXPIRED';
}

export class ZkError extends Error {
  readonly code: ZkErrorCode;
  readonly path: string;
  /** For a failed multi: the index of the op that failed, when known (-1 otherwise). */
  readonly failedOp: number;

  constructor(code: ZkErrorCode, path: string, message?: string, failedOp = -1) {
    super(message ?? `ZooKeeper ${code} at ${path || '(multi)'}`);
    this.name = 'ZkError';
    this.code = code;
    this.path = path;
    this.failedOp = failedOp;
  }
}

export type ZkWatchEventType = 'created' | 'deleted' | 'dataChanged' | 'childrenChanged';

export interface ZkWatchEvent {
  readonly type: ZkWatchEventType;
  readonly path: string;
}

/** One-shot, as in ZooKeeper: fires at most once, then must be set again by reading. */
export type ZkWatcher = (event: ZkWatchEvent) => void;

export type ZkConnectionState =
  /** Connected with a live session. */
  | 'connected'
  /** The connection dropped; the session may still be alive on the server. */
  | 'disconnected'
  /**
   * The session expired: every ephemeral znode of it is gone and its watches are lost.
   * The implementation immediately starts a new session; 'connected' follows when it is up.
   */
  | 'expired'
  | 'closed';

export interface ZkSession {
  readonly state: ZkConnectionState;
  /** Hex id of the current session ('' before the first connect). Changes after expiry. */
  readonly sessionId: string;
  /** Negotiated session timeout in ms. */
  readonly sessionTimeoutMs: number;

  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }>;
  /** null when the znode does not exist (a watcher then fires on its creation). */
  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null>;
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]>;
  /** Returns the created path (with the sequence suffix for sequential modes). */
  create(path: string, data: Uint8Array, mode: ZkCreateMode): Promise<string>;
  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat>;
  delete(path: string, version: number): Promise<void>;
  /**
   * All ops or none. Versions in check/setData/delete must be -1 (any) or >= 1: see
   * notes/zookeeper.md on why version 0 is refused (node-zookeeper-client turns 0 into -1).
   */
  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]>;
  /** Flushes the channel between the server this session is on and the leader. */
  sync(path: string): Promise<void>;

  /** Listens to state changes. Returns a function that removes the listener. */
  onStateChange(listener: (state: ZkConnectionState) => void): () => void;
  /** Resolves once connected, or rejects with ZkError('TIMEOUT') after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
