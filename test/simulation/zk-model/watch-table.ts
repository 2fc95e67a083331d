// The server's watches, as ZooKeeper keeps them: per path, the sessions with a data
// watch (set by getData, and by exists whether or not the znode exists) and those with
// a child watch (getChildren). A change fires and removes them, one notification per
// session and path: a deleted znode notifies a session once even when it held both kinds.
// Watches belong to the connection: the server drops a session's watches when its
// connection closes, and the client restores them after reconnecting (see restore()).
import type { ZkWatchEvent } from '../../../src/coordination/zk-api.js';
import type { TreeChange } from './tree.js';

export interface Notification {
  readonly sessionId: string;
  readonly event: ZkWatchEvent;
}

/** The watches a client holds, as node-zookeeper-client re-sends them on reconnect (SetWatches). */
export interface WatchPaths {
  readonly data: readonly string[];
  readonly exist: readonly string[];
  readonly child: readonly string[];
}

/** What restoring watches needs to know about the tree. */
export interface WatchedTree {
  mzxid(path: string): bigint | null;
  pzxid(path: string): bigint | null;
}

type Kind = 'data' | 'child';

export class WatchTable {
  private readonly byPath: Record<Kind, Map<string, Set<string>>> = { data: new Map(), child: new Map() };
  /** The same watches indexed by session, so a session's can be dropped without a scan. */
  private readonly bySession = new Map<string, Record<Kind, Set<string>>>();

  add(kind: Kind, path: string, sessionId: string): void {
    let sessions = this.byPath[kind].get(path);
    if (!sessions) {
      sessions = new Set();
      this.byPath[kind].set(path, sessions);
    }
    sessions.add(sessionId);
    let own = this.bySession.get(sessionId);
    if (!own) {
      own = { data: new Set(), child: new Set() };
      this.bySession.set(sessionId, own);
    }
    own[kind].add(path);
  }

  /** Fires (and removes) the watches `change` triggers. */
  trigger(change: TreeChange): Notification[] {
    const event: ZkWatchEvent = { type: change.type, path: change.path };
    const fired: string[] = [];
    switch (change.type) {
      case 'created':
      case 'dataChanged':
        fired.push(...this.take('data', change.path));
        break;
      case 'childrenChanged':
        fired.push(...this.take('child', change.path));
        break;
      case 'deleted':
        fired.push(...this.take('data', change.path));
        for (const sessionId of this.take('child', change.path)) if (!fired.includes(sessionId)) fired.push(sessionId);
        break;
    }
    return fired.map((sessionId) => ({ sessionId, event }));
  }

  /** Drops every watch of a session (its connection closed, or it ended). */
  removeSession(sessionId: string): void {
    const own = this.bySession.get(sessionId);
    if (!own) return;
    this.bySession.delete(sessionId);
    for (const kind of ['data', 'child'] as const) {
      for (const path of own[kind]) {
        const sessions = this.byPath[kind].get(path);
        sessions?.delete(sessionId);
        if (sessions?.size === 0) this.byPath[kind].delete(path);
      }
    }
  }

  /**
   * Restores a reconnected client's watches the way ZooKeeper handles SetWatches: a
   * watch whose znode changed after the last zxid the client saw fires at once (deleted,
   * dataChanged, created, childrenChanged); the others are set again.
   */
  restore(sessionId: string, paths: WatchPaths, lastZxidSeen: bigint, tree: WatchedTree): Notification[] {
    const fired: Notification[] = [];
    const fire = (type: ZkWatchEvent['type'], path: string): void => {
      fired.push({ sessionId, event: { type, path } });
    };
    for (const path of paths.data) {
      const mzxid = tree.mzxid(path);
      if (mzxid === null) fire('deleted', path);
      else if (mzxid > lastZxidSeen) fire('dataChanged', path);
      else this.add('data', path, sessionId);
    }
    for (const path of paths.exist) {
      if (tree.mzxid(path) !== null) fire('created', path);
      else this.add('data', path, sessionId);
    }
    for (const path of paths.child) {
      const pzxid = tree.pzxid(path);
      if (pzxid === null) fire('deleted', path);
      else if (pzxid > lastZxidSeen) fire('childrenChanged', path);
      else this.add('child', path, sessionId);
    }
    return fired;
  }

  private take(kind: Kind, path: string): string[] {
    const sessions = this.byPath[kind].get(path);
    if (!sessions) return [];
    this.byPath[kind].delete(path);
    for (const sessionId of sessions) this.bySession.get(sessionId)?.[kind].delete(path);
    return [...sessions];
  }
}
