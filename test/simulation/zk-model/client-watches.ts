// The client side of watches, as node-zookeeper-client keeps them (WatcherManager):
// watchers registered per path in three lists, data (getData, or exists on a present
// znode), exist (exists on a missing znode) and child (getChildren), each only once its
// read succeeded. A notification fires and clears the lists it concerns: created and
// dataChanged the data and exist lists, childrenChanged the child list, deleted the data
// and child lists. The real wrapper hands the library a new function per call, so a
// watcher passed to two reads fires twice; so here.
import type { ZkWatchEvent, ZkWatcher } from '../../../src/coordination/zk-api.js';
import type { WatchPaths } from './watch-table.js';

export type ClientWatchKind = 'data' | 'exist' | 'child';

const firedBy: Readonly<Record<ZkWatchEvent['type'], readonly ClientWatchKind[]>> = {
  created: ['data', 'exist'],
  dataChanged: ['data', 'exist'],
  childrenChanged: ['child'],
  deleted: ['data', 'child'],
};

export class ClientWatches {
  private readonly lists: Record<ClientWatchKind, Map<string, ZkWatcher[]>> = { data: new Map(), exist: new Map(), child: new Map() };

  register(kind: ClientWatchKind, path: string, watcher: ZkWatcher): void {
    const list = this.lists[kind].get(path);
    if (list) list.push(watcher);
    else this.lists[kind].set(path, [watcher]);
  }

  /** Removes and returns the watchers `event` fires, in the library's order. */
  take(event: ZkWatchEvent): ZkWatcher[] {
    const out: ZkWatcher[] = [];
    for (const kind of firedBy[event.type]) {
      const list = this.lists[kind].get(event.path);
      if (!list) continue;
      this.lists[kind].delete(event.path);
      out.push(...list);
    }
    return out;
  }

  /** The paths to restore after a reconnect (what the library sends in SetWatches). */
  paths(): WatchPaths {
    return { data: [...this.lists.data.keys()], exist: [...this.lists.exist.keys()], child: [...this.lists.child.keys()] };
  }

  /** The session expired: its watches are lost. */
  clear(): void {
    for (const kind of ['data', 'exist', 'child'] as const) this.lists[kind].clear();
  }
}
