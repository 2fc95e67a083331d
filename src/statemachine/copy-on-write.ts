// A frozen view of a Map that goes on changing: what a snapshot serializer reads while the
// state machine keeps applying entries.
//
// Opening the view costs nothing. Afterwards the owner of the map calls beforeChange()
// before it changes an entry; the first change of each key saves what the view saw (the
// old value, or "absent"). The serializer walks the live map in slices and then the saved
// values: take() hands out every (key, value) of the map as it was when the view opened,
// each exactly once.
//
// Why the `emitted` set: a key the walk has already handed out may change (or be deleted
// and added again at the end of the map) later; saving its old value then would hand it
// out twice. Keys handed out are never saved again and never handed out again. The set
// grows to the map's size while a snapshot is taken (pointers to existing keys, a few
// megabytes for 100,000 keys) and goes when the view is closed.

/** "The key did not exist when the view was opened." */
export const ABSENT: unique symbol = Symbol('absent');
export type Saved<V> = V | typeof ABSENT;

/** K: keys; V: the live map's values; Out: what the view hands out and saves (V itself for immutable values). */
export class CopyOnWriteView<K, V, Out = V> {
  private readonly saved = new Map<K, Saved<Out>>();
  private readonly emitted = new Set<K>();
  private live: IterableIterator<[K, V]> | null;
  private savedWalk: IterableIterator<[K, Saved<Out>]> | null = null;
  private closed = false;

  /**
   * @param map the live map (iterated lazily, never changed by the view)
   * @param snapshotOf what the view hands out for a live value it reads directly (for
   *   mutable values: an immutable copy made now, while it still equals the view's)
   */
  constructor(
    map: Map<K, V>,
    private readonly snapshotOf: (key: K, value: V) => Out,
  ) {
    this.live = map.entries();
  }

  /** Whether the owner must save `key` before changing it (then call save()). */
  wants(key: K): boolean {
    return !this.closed && !this.emitted.has(key) && !this.saved.has(key);
  }

  /** Saves what the view sees for `key` (its current value, or ABSENT). Call only when wants(key). */
  save(key: K, value: Saved<Out>): void {
    this.saved.set(key, value);
  }

  /**
   * Up to `max` more (key, value) pairs of the view, fewer if `budget` says stop (it is
   * called with each pair handed out, and returns false to end this slice). Empty when
   * every pair has been handed out.
   */
  take(max: number, budget: (key: K, value: Out) => boolean = () => true): Array<[K, Out]> {
    const out: Array<[K, Out]> = [];
    while (out.length < max) {
      const next = this.nextPair();
      if (next === null) break;
      out.push(next);
      if (!budget(next[0], next[1])) break;
    }
    return out;
  }

  /** Stops saving; frees what the view holds. Idempotent. */
  close(): void {
    this.closed = true;
    this.saved.clear();
    this.emitted.clear();
    this.live = null;
    this.savedWalk = null;
  }

  isClosed(): boolean {
    return this.closed;
  }

  private nextPair(): [K, Out] | null {
    if (this.closed) return null;
    // First the live map: every key the view saw is either still in it (unchanged, or
    // changed with its old value saved) or deleted with its old value saved.
    while (this.live !== null) {
      const step = this.live.next();
      if (step.done) {
        this.live = null;
        this.savedWalk = this.saved.entries();
        break;
      }
      const [key, value] = step.value;
      if (this.emitted.has(key)) continue; // deleted and added again after it was handed out
      this.emitted.add(key);
      if (this.saved.has(key)) {
        const old = this.saved.get(key) as Saved<Out>;
        this.saved.delete(key);
        if (old === ABSENT) continue; // added after the view opened
        return [key, old];
      }
      return [key, this.snapshotOf(key, value)];
    }
    // Then what was deleted before the walk reached it. Keys saved from now on are keys
    // the view never saw (ABSENT): everything it saw is handed out or saved by now.
    while (this.savedWalk !== null) {
      const step = this.savedWalk.next();
      if (step.done) {
        this.savedWalk = null;
        break;
      }
      const [key, old] = step.value;
      if (this.emitted.has(key)) continue;
      this.emitted.add(key);
      if (old === ABSENT) continue;
      return [key, old];
    }
    return null;
  }
}
