// Helpers for the snapshot tests: a seeded writer of log entries against a KvStore, a
// canonical fingerprint of a store's whole state, and in-memory byte sinks and sources.
import { EntryType, type Entry } from '../../../src/core/types.js';
import { zeroChain, type SnapshotPoint } from '../../../src/common/snapshot-point.js';
import { encodeCommand, type KvCommand, type WriteContext } from '../../../src/statemachine/command.js';
import type { KvStore } from '../../../src/statemachine/kv-store.js';
import type { ByteSink } from '../../../src/statemachine/snapshot-writer.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Applies commands to a store as the next log entries, with a log time that moves forward. */
export class Writer {
  stampMs = 1_000;
  constructor(readonly store: KvStore) {}

  apply(c: KvCommand, ctx?: WriteContext, advanceMs = 1): ReturnType<KvStore['apply']> {
    this.stampMs += advanceMs;
    const entry: Entry = { index: this.store.applied() + 1, term: 1, type: EntryType.Normal, data: encodeCommand(c, this.stampMs, ctx) };
    return this.store.apply(entry);
  }

  noop(): void {
    this.store.apply({ index: this.store.applied() + 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) });
  }

  /** Opens a session; returns its id. */
  session(timeoutMs = 5_000, nonce?: Uint8Array): number {
    const r = this.apply({ kind: 'registerSession', timeoutMs, ...(nonce ? { nonce } : {}) });
    if (!r.ok || r.kind !== 'session') throw new Error(`registration failed: ${JSON.stringify(r)}`);
    return r.sessionId;
  }
}

/** Every part of a store's state, in a canonical form that toEqual can compare. */
export function fingerprint(store: KvStore): unknown {
  const keys = [...store.entries()].map(([k, v]) => [k, Buffer.from(v).toString('hex')] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sessions = store.sessions
    .ids()
    .sort((a, b) => a - b)
    .map((id) => {
      const image = store.sessions.get(id)!.image();
      return { ...image, results: image.results.map(([seq, r]) => [seq, normalizeResult(r)]) };
    });
  return { applied: store.applied(), lastStampMs: store.lastStampMs(), keys, sessions, expiries: store.sessions.expiryHistory() };
}

/** Bytes as hex (a Buffer and a Uint8Array of the same bytes are the same value here). */
export function normalizeResult(r: unknown): unknown {
  if (r instanceof Uint8Array) return `bytes:${Buffer.from(r).toString('hex')}`;
  if (r === null || typeof r !== 'object') return r;
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, normalizeResult(v)]));
}

export class MemorySink implements ByteSink {
  readonly parts: Uint8Array[] = [];
  async write(bytes: Uint8Array): Promise<void> {
    this.parts.push(new Uint8Array(bytes));
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

/** The bytes as a stream of chunks of `size` bytes. */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(bytes.length, at + size));
}

export function pointAt(index: number, term = 1): SnapshotPoint {
  const chain = zeroChain();
  chain[0] = index & 0xff; // not all zeros, so a lost chain shows
  return { index, term, chain };
}
