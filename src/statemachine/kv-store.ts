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
import { SessionTable } from './sessions.js';

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

export class KvStore {
  private readonly data = new Map<string, Uint8Array>();
  readonly sessions = new SessionTable();
  private appliedIndex = 0;
  /** The log time of the last applied command: a new leader stamps at or after it. */
  private lastStamp = 0;

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

  private execute(c: Exclude<KvCommand, { kind: 'registerSession' } | { kind: 'keepAlive' }>): KvResult {
    switch (c.kind) {
      case 'put':
        this.data.set(c.key, c.value);
        return { ok: true, kind: 'put' };
      case 'delete':
        return { ok: true, kind: 'delete', deleted: this.data.delete(c.key) };
      case 'cas': {
        const current = this.data.get(c.key) ?? null;
        const matches = c.expected === null ? current === null : current !== null && equalBytes(current, c.expected);
        if (!matches) return { ok: true, kind: 'cas', succeeded: false, current };
        this.data.set(c.key, c.value);
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
        this.data.set(c.key, encoder.encode(String(next)));
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
