// One native watcher per (watcher, kind, path) while it is pending.
//
// node-zookeeper-client keeps, per path, an emitter of the watcher functions handed to it
// and skips a function it already holds, but every read through ZkClient wrapped the
// caller's watcher in a fresh closure, so each read of a znode that did not change added a
// listener until the znode changed. A watch that retries a read (a corrupt member znode
// whose decode fails is read again every second) leaked one listener per retry, without
// bound, and Node warned of an emitter leak in the fuzz run. Reusing the wrapper while it
// is pending lets the library's own check hold the list to one per caller.
import type { ZkWatcher } from './zk-api.js';

/**
 * A getData watch and an exists watch of an existing znode land in the same list of the
 * library (its data watchers), so they share a wrapper; children watches have their own.
 */
export type WatchKind = 'node' | 'children';

export interface PendingWatch<N> {
  /** The wrapper handed to the library. */
  readonly native: N;
  /** Set once a read that set this watch succeeded: only then is an event delivered. */
  readonly armed: { on: boolean };
}

export class ZkWatchRegistry<N> {
  private readonly pending = new WeakMap<ZkWatcher, Map<string, { generation: number; watch: PendingWatch<N> }>>();

  /**
   * The pending wrapper of this watcher on this path and connection generation, or a new
   * one made by `wrap`. `wrap` receives `fired`, to call when the library delivers the
   * event (the library drops a one-shot listener then, so the next read needs a new one).
   */
  wrapperFor(watcher: ZkWatcher, kind: WatchKind, path: string, generation: number, wrap: (armed: { on: boolean }, fired: () => void) => N): PendingWatch<N> {
    let byPath = this.pending.get(watcher);
    if (byPath === undefined) {
      byPath = new Map();
      this.pending.set(watcher, byPath);
    }
    const key = `${kind}\u0000${path}`;
    const held = byPath.get(key);
    if (held !== undefined && held.generation === generation) return held.watch;
    const armed = { on: false };
    const entry = {
      generation,
      watch: {
        armed,
        native: wrap(armed, () => {
          if (byPath.get(key) === entry) byPath.delete(key);
        }),
      },
    };
    byPath.set(key, entry);
    return entry.watch;
  }
}
