// Client sessions of the state machine: the results of writes a client may still retry,
// and expiry in log time. Part of the replicated state (and of snapshots).
//
// Snapshots: a session changes in place, so a snapshot view (openView) is told before
// each change, and the first change of a session after the view opened saves an
// immutable image of it (copy-on-write, see copy-on-write.ts).
import { ABSENT, CopyOnWriteView } from './copy-on-write.js';
import type { KvResult } from './kv-store.js';

/** Bound on results kept per session (a client bounds its outstanding writes well below). */
export const MAX_RESULTS_PER_SESSION = 4096;
/** Bound on expiries remembered for inspection. */
export const EXPIRY_HISTORY = 1024;

/** An immutable copy of a session: what a snapshot holds. */
export interface SessionImage {
  readonly id: number;
  readonly timeoutMs: number;
  readonly lastActive: number;
  /** Hex ('' for none). */
  readonly nonce: string;
  readonly forgottenBelow: number;
  /** (sequence, result), in the order they were remembered. */
  readonly results: ReadonlyArray<readonly [number, KvResult]>;
}

export class Session {
  private readonly results = new Map<number, KvResult>();
  /** Sequences below this were answered and forgotten. */
  private forgottenBelow = 1;
  private active: number;
  /** Called before any change (the table's snapshot view, if one is open). */
  private beforeChange: ((s: Session) => void) | null = null;

  constructor(
    readonly id: number,
    readonly timeoutMs: number,
    lastActive: number,
    /** The registration's nonce, hex ('' for none). */
    readonly nonce = '',
  ) {
    this.active = lastActive;
  }

  /** A session as a snapshot image describes it (for the snapshot loader). */
  static fromImage(image: SessionImage): Session {
    const s = new Session(image.id, image.timeoutMs, image.lastActive, image.nonce);
    s.forgottenBelow = image.forgottenBelow;
    for (const [sequence, result] of image.results) s.results.set(sequence, result);
    return s;
  }

  get lastActive(): number {
    return this.active;
  }

  touch(stamp: number, firstOutstanding: number): void {
    if (stamp <= this.active && firstOutstanding <= this.forgottenBelow) return;
    this.beforeChange?.(this);
    if (stamp > this.active) this.active = stamp;
    if (firstOutstanding > this.forgottenBelow) {
      for (const seq of this.results.keys()) if (seq < firstOutstanding) this.results.delete(seq);
      this.forgottenBelow = firstOutstanding;
    }
  }

  /** The stored result of `sequence`, 'forgotten' if the client already acknowledged it, or undefined. */
  resultOf(sequence: number): KvResult | 'forgotten' | undefined {
    if (sequence < this.forgottenBelow) return 'forgotten';
    return this.results.get(sequence);
  }

  remember(sequence: number, result: KvResult): void {
    this.beforeChange?.(this);
    this.results.set(sequence, result);
    if (this.results.size > MAX_RESULTS_PER_SESSION) {
      // A client that never says what it got: forget the oldest (its retry then gets stale_sequence).
      let oldest = Number.POSITIVE_INFINITY;
      for (const seq of this.results.keys()) oldest = Math.min(oldest, seq);
      this.results.delete(oldest);
      this.forgottenBelow = Math.max(this.forgottenBelow, oldest + 1);
    }
  }

  resultCount(): number {
    return this.results.size;
  }

  expiresAfter(): number {
    return this.active + this.timeoutMs;
  }

  /** An immutable copy of the session as it is now. KvResults are immutable, so they are shared. */
  image(): SessionImage {
    return {
      id: this.id,
      timeoutMs: this.timeoutMs,
      lastActive: this.active,
      nonce: this.nonce,
      forgottenBelow: this.forgottenBelow,
      results: [...this.results],
    };
  }

  /** Installs the hook called before every change (by the table that holds the session). */
  watchChanges(hook: ((s: Session) => void) | null): void {
    this.beforeChange = hook;
  }
}

/** A frozen view of the session table, for a snapshot. */
export interface SessionTableView {
  /** Live sessions when the view opened. */
  readonly sessionCount: number;
  /** The remembered expiries (session id, index), oldest first, when the view opened. */
  readonly expiries: ReadonlyArray<readonly [number, number]>;
  /** Hands out every session of the view once (see CopyOnWriteView.take). */
  readonly sessions: CopyOnWriteView<number, Session, SessionImage>;
}

export class SessionTable {
  private readonly live = new Map<number, Session>();
  /** A lower bound of every live session's expiry time: no scan is needed before it. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private readonly expired = new Map<number, number>();

  /** Live sessions by their registration nonce (hex). */
  private readonly nonces = new Map<string, Session>();

  /** The open snapshot view, if any. */
  private view: CopyOnWriteView<number, Session, SessionImage> | null = null;
  private readonly saveBeforeChange = (s: Session): void => {
    const view = this.openViewOrNull();
    if (view?.wants(s.id)) view.save(s.id, s.image());
  };

  open(id: number, timeoutMs: number, stamp: number, nonce?: Uint8Array): Session {
    const hex = nonce && nonce.length > 0 ? Buffer.from(nonce).toString('hex') : '';
    const view = this.openViewOrNull();
    if (view?.wants(id)) view.save(id, ABSENT);
    const s = new Session(id, timeoutMs, stamp, hex);
    this.add(s);
    return s;
  }

  /**
   * A frozen view of the table as it is now. Costs O(1) plus a copy of the remembered
   * expiries (at most EXPIRY_HISTORY); sessions are copied only when they change while
   * the view is open. One view at a time: close it (view.sessions.close()) when done.
   */
  openView(): SessionTableView {
    if (this.openViewOrNull()) throw new Error('session table: a snapshot view is already open');
    const view = new CopyOnWriteView<number, Session, SessionImage>(this.live, (_, s) => s.image());
    this.view = view;
    return { sessionCount: this.live.size, expiries: [...this.expired], sessions: view };
  }

  /** Adds a session from a snapshot. Only on a table nobody else uses yet (the snapshot loader's). */
  restoreSession(image: SessionImage): void {
    if (this.live.has(image.id)) throw new Error(`session table: session ${image.id} restored twice`);
    this.add(Session.fromImage(image));
  }

  /** Adds a remembered expiry from a snapshot (oldest first). Only on the snapshot loader's table. */
  restoreExpiry(id: number, index: number): void {
    this.expired.set(id, index);
    if (this.expired.size > EXPIRY_HISTORY) this.expired.delete(this.expired.keys().next().value as number);
  }

  private add(s: Session): void {
    this.live.set(s.id, s);
    if (s.nonce) this.nonces.set(s.nonce, s);
    s.watchChanges(this.saveBeforeChange);
    this.nextExpiry = Math.min(this.nextExpiry, s.expiresAfter());
  }

  /** The open view; forgets one its reader has closed. */
  private openViewOrNull(): CopyOnWriteView<number, Session, SessionImage> | null {
    if (this.view?.isClosed()) this.view = null;
    return this.view;
  }

  get(id: number): Session | undefined {
    return this.live.get(id);
  }

  /** The live session a registration with this nonce opened, if any. */
  byNonce(nonce: Uint8Array): Session | undefined {
    return this.nonces.get(Buffer.from(nonce).toString('hex'));
  }

  /** Expires every session idle for longer than its timeout at log time `stamp` (entry `index`). */
  expireAt(stamp: number, index: number): void {
    if (stamp <= this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, s] of this.live) {
      if (stamp > s.expiresAfter()) {
        this.saveBeforeChange(s);
        this.live.delete(id);
        if (s.nonce) this.nonces.delete(s.nonce);
        this.expired.set(id, index);
        if (this.expired.size > EXPIRY_HISTORY) this.expired.delete(this.expired.keys().next().value as number);
      } else {
        next = Math.min(next, s.expiresAfter());
      }
    }
    this.nextExpiry = next;
  }

  /** The index at which session `id` expired (if it did, and is still remembered). */
  expiredAt(id: number): number | undefined {
    return this.expired.get(id);
  }

  size(): number {
    return this.live.size;
  }

  /** The remembered expiries (session id, index), oldest first. */
  expiryHistory(): Array<[number, number]> {
    return [...this.expired];
  }

  ids(): number[] {
    return [...this.live.keys()];
  }
}
