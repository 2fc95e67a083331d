// Client sessions of the state machine: the results of writes a client may still retry,
// and expiry in log time. Part of the replicated state (and of snapshots).
import type { KvResult } from './kv-store.js';

/** Bound on results kept per session (a client bounds its outstanding writes well below). */
export const MAX_RESULTS_PER_SESSION = 4096;
/** Bound on expiries remembered for inspection. */
const EXPIRY_HISTORY = 1024;

export class Session {
  private readonly results = new Map<number, KvResult>();
  /** Sequences below this were answered and forgotten. */
  private forgottenBelow = 1;

  constructor(
    readonly id: number,
    readonly timeoutMs: number,
    public lastActive: number,
    /** The registration's nonce, hex ('' for none). */
    readonly nonce = '',
  ) {}

  touch(stamp: number, firstOutstanding: number): void {
    if (stamp > this.lastActive) this.lastActive = stamp;
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
    return this.lastActive + this.timeoutMs;
  }
}

export class SessionTable {
  private readonly live = new Map<number, Session>();
  /** A lower bound of every live session's expiry time: no scan is needed before it. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private readonly expired = new Map<number, number>();

  /** Live sessions by their registration nonce (hex). */
  private readonly nonces = new Map<string, Session>();

  open(id: number, timeoutMs: number, stamp: number, nonce?: Uint8Array): Session {
    const hex = nonce && nonce.length > 0 ? Buffer.from(nonce).toString('hex') : '';
    const s = new Session(id, timeoutMs, stamp, hex);
    this.live.set(id, s);
    if (hex) this.nonces.set(hex, s);
    this.nextExpiry = Math.min(this.nextExpiry, s.expiresAfter());
    return s;
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

  ids(): number[] {
    return [...this.live.keys()];
  }
}
