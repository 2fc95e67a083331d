// The key-value state machine. It changes only by apply(), in log order, from committed
// entries, so every replica that applied the same prefix holds the same map and the same
// sessions.
//
// Sessions (exactly-once, PROTOCOL.md section 10): a RegisterSession entry opens a session
// whose id is its index. A write tagged (session, sequence) is executed once; a retry of
// it (same sequence) gets the first result back without executing again. The client says
// which sequences it no longer waits for (first_outstanding), and their results are
// dropped. A session expires when log time (the stamps the leader puts on commands) has
// moved past its last activity by its timeout: every replica sees the same stamps at the
// same indexes, so every replica expires it at the same index.
import { type Entry, EntryType } from '../core/types.js';
import { decodeCommand, type KvCommand, type StampedCommand } from './command.js';
import { ABSENT, CopyOnWriteView } from './copy-on-write.js';
import { SessionTable, type SessionTableView } from './sessions.js';

export type KvResult =
  | { readonly ok: true; readonly kind: 'put' }
  | { readonly ok: true; readonly kind: 'delete'; readonly deleted: boolean }
  | { readonly ok: true; readonly kind: 'incr'; readonly value: number }
  | { readonly ok: true; readonly kind: 'cas'; readonly succeeded: boolean; readonly current: Uint8Array | null }
  | { readonly ok: true; readonly kind: 'session'; readonly sessionId: number; readonly timeoutMs: number }
  | { readonly ok: true; readonly kind: 'keepAlive' }
  | { readonly ok: true; readonly kind: 'noop' }
  | {
      readonly ok: false;
      readonly code: 'not_integer' | 'overflow' | 'bad_command' | 'session_expired' | 'stale_sequence';
      readonly message: string;
    };

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** The integers incr accepts; the linearizability checker's model uses the same rule. */
const INTEGER = /^-?[0-9]+$/;

/**
 * A frozen view of the whole state machine as of one applied index, while applying goes
 * on (copy-on-write): what a snapshot is serialized from. Opening it costs O(1) (plus a
 * copy of at most 1,024 remembered expiries); the first change of each key or session
 * afterwards saves the view's value. Close it when done (the snapshot writer does), or
 * every later change keeps saving old values.
 */
export interface StateView {
  /** The applied index the view shows. */
  readonly index: number;
  readonly lastStampMs: number;
  readonly keyCount: number;
  /** Hands out every (key, value) of the view once, in slices. Values are never changed in place. */
  readonly keys: CopyOnWriteView<string, Uint8Array>;
  readonly sessions: SessionTableView;
  close(): void;
}

/** What a snapshot loader hands to KvStore.restore: parts nobody else holds. */
export interface RestoredState {
  readonly data: Map<string, Uint8Array>;
  readonly sessions: SessionTable;
  readonly appliedIndex: number;
  readonly lastStampMs: number;
}

export class KvStore {
  private readonly data: Map<string, Uint8Array>;
  readonly sessions: SessionTable;
  private appliedIndex: number;
  /** The log time of the last applied command: a new leader stamps at or after it. */
  private lastStamp: number;
  /** The open snapshot view's key part, if any. */
  private view: CopyOnWriteView<string, Uint8Array> | null = null;

  /** An empty store, or (from KvStore.restore) one holding a loaded snapshot's state. */
  constructor(restored?: RestoredState) {
    this.data = restored?.data ?? new Map();
    this.sessions = restored?.sessions ?? new SessionTable();
    this.appliedIndex = restored?.appliedIndex ?? 0;
    this.lastStamp = restored?.lastStampMs ?? 0;
  }

  /** A store holding a loaded snapshot's state (the loader built `state` for it alone). */
  static restore(state: RestoredState): KvStore {
    return new KvStore(state);
  }

  /**
   * Opens a frozen view of the state as of now (the applied index), for a snapshot. One
   * at a time: throws if one is open. The caller closes it (writeSnapshot and
   * LocalSnapshotStore.save do, when done or failed).
   */
  openView(): StateView {
    if (this.viewOpen()) throw new Error('state machine: a snapshot view is already open');
    const keys = new CopyOnWriteView<string, Uint8Array>(this.data, (_, value) => value);
    const sessions = this.sessions.openView();
    this.view = keys;
    return {
      index: this.appliedIndex,
      lastStampMs: this.lastStamp,
      keyCount: this.data.size,
      keys,
      sessions,
      close: () => {
        keys.close();
        sessions.sessions.close();
      },
    };
  }

  /** Whether a snapshot view is open (it makes every first change of a key save the old value). */
  viewOpen(): boolean {
    return this.view !== null && !this.view.isClosed();
  }

  /** Applies the next committed entry. Entries must come in index order. */
  apply(entry: Entry): KvResult {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`state machine: applying ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    if (entry.type === EntryType.Noop) return { ok: true, kind: 'noop' };
    const decoded = decodeCommand(entry.data);
    if (!decoded) return { ok: false, code: 'bad_command', message: `entry ${entry.index} holds no valid command` };
    if (decoded.stampMs > this.lastStamp) this.lastStamp = decoded.stampMs;
    // Expire by log time before anything else, so an expired session cannot act at this index.
    this.sessions.expireAt(this.lastStamp, entry.index);
    return this.applyStamped(decoded, entry.index);
  }

  private applyStamped(s: StampedCommand, index: number): KvResult {
    const c = s.command;
    if (c.kind === 'registerSession') {
      // A retried registration whose first attempt took effect: the same session again.
      const earlier = c.nonce ? this.sessions.byNonce(c.nonce) : undefined;
      if (earlier) {
        earlier.touch(this.lastStamp, 0);
        return { ok: true, kind: 'session', sessionId: earlier.id, timeoutMs: earlier.timeoutMs };
      }
      this.sessions.open(index, c.timeoutMs, this.lastStamp, c.nonce);
      return { ok: true, kind: 'session', sessionId: index, timeoutMs: c.timeoutMs };
    }
    if (!s.ctx) {
      if (c.kind === 'keepAlive') return { ok: false, code: 'session_expired', message: 'keep-alive without a session' };
      return this.execute(c);
    }
    const session = this.sessions.get(s.ctx.sessionId);
    if (!session) {
      return { ok: false, code: 'session_expired', message: `session ${s.ctx.sessionId} is unknown or expired; open a new one` };
    }
    session.touch(this.lastStamp, s.ctx.firstOutstanding);
    if (c.kind === 'keepAlive') return { ok: true, kind: 'keepAlive' };
    const earlier = session.resultOf(s.ctx.sequence);
    if (earlier === 'forgotten') {
      return { ok: false, code: 'stale_sequence', message: `sequence ${s.ctx.sequence} of session ${s.ctx.sessionId} was already answered` };
    }
    if (earlier) return earlier; // a retry: the first result, not a second application
    const result = this.execute(c);
    session.remember(s.ctx.sequence, result);
    return result;
  }

  get(key: string): Uint8Array | undefined {
    return this.data.get(key);
  }

  applied(): number {
    return this.appliedIndex;
  }

  lastStampMs(): number {
    return this.lastStamp;
  }

  /** Sets the applied index without applying (after restoring a snapshot or at an empty start). */
  resetApplied(index: number): void {
    this.appliedIndex = index;
  }

  size(): number {
    return this.data.size;
  }

  entries(): IterableIterator<[string, Uint8Array]> {
    return this.data.entries();
  }

  /** Every change of the map goes through here and remove(), so an open view sees it first. */
  private set(key: string, value: Uint8Array): void {
    this.saveForView(key);
    this.data.set(key, value);
  }

  private remove(key: string): boolean {
    if (!this.data.has(key)) return false;
    this.saveForView(key);
    return this.data.delete(key);
  }

  private saveForView(key: string): void {
    const view = this.view;
    if (view === null) return;
    if (view.isClosed()) {
      this.view = null;
      return;
    }
    if (view.wants(key)) view.save(key, this.data.get(key) ?? ABSENT);
  }

  private execute(c: Exclude<KvCommand, { kind: 'registerSession' } | { kind: 'keepAlive' }>): KvResult {
    switch (c.kind) {
      case 'put':
        this.set(c.key, c.value);
        return { ok: true, kind: 'put' };
      case 'delete':
        return { ok: true, kind: 'delete', deleted: this.remove(c.key) };
      case 'cas': {
        const current = this.data.get(c.key) ?? null;
        const matches = c.expected === null ? current === null : current !== null && equalBytes(current, c.expected);
        if (!matches) return { ok: true, kind: 'cas', succeeded: false, current };
        this.set(c.key, c.value);
        return { ok: true, kind: 'cas', succeeded: true, current: null };
      }
      case 'incr': {
        const current = this.data.get(c.key);
        let base = 0;
        if (current !== undefined) {
          const text = decoder.decode(current);
          if (!INTEGER.test(text) || !Number.isSafeInteger(Number(text))) {
            return { ok: false, code: 'not_integer', message: `value of ${JSON.stringify(c.key)} is not an integer` };
          }
          base = Number(text);
        }
        const next = base + c.delta;
        if (!Number.isSafeInteger(next)) {
          return { ok: false, code: 'overflow', message: `incr of ${JSON.stringify(c.key)} leaves the safe integer range` };
        }
        this.set(c.key, encoder.encode(String(next)));
        return { ok: true, kind: 'incr', value: next };
      }
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
