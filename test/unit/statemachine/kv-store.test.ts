import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '../../../src/core/types.js';
import { encodeCommand, type KvCommand, type WriteContext } from '../../../src/statemachine/command.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined | null): string | undefined => (b ? new TextDecoder().decode(b) : undefined);

/** Builds a log: each call appends one entry at the next index with the given stamp. */
class Log {
  readonly entries: Entry[] = [];
  add(c: KvCommand, stampMs: number, ctx?: WriteContext): number {
    const index = this.entries.length + 1;
    this.entries.push({ index, term: 1, type: EntryType.Normal, data: encodeCommand(c, stampMs, ctx) });
    return index;
  }
  noop(): number {
    const index = this.entries.length + 1;
    this.entries.push({ index, term: 1, type: EntryType.Noop, data: new Uint8Array(0) });
    return index;
  }
}

function applyAll(log: Log): { store: KvStore; results: ReturnType<KvStore['apply']>[] } {
  const store = new KvStore();
  const results = log.entries.map((e) => store.apply(e));
  return { store, results };
}

describe('key-value commands', () => {
  it('put, get, delete and incr', () => {
    const log = new Log();
    log.add({ kind: 'put', key: 'a', value: enc('1') }, 1);
    log.add({ kind: 'incr', key: 'a', delta: 41 }, 2);
    log.add({ kind: 'incr', key: 'fresh', delta: -3 }, 3);
    log.add({ kind: 'delete', key: 'a' }, 4);
    log.add({ kind: 'delete', key: 'a' }, 5);
    const { store, results } = applyAll(log);
    expect(results.slice(1)).toEqual([
      { ok: true, kind: 'incr', value: 42 },
      { ok: true, kind: 'incr', value: -3 },
      { ok: true, kind: 'delete', deleted: true },
      { ok: true, kind: 'delete', deleted: false },
    ]);
    expect(store.get('a')).toBeUndefined();
    expect(dec(store.get('fresh'))).toBe('-3');
  });

  it('incr refuses a non-integer value and leaves it alone', () => {
    const log = new Log();
    log.add({ kind: 'put', key: 'k', value: enc('abc') }, 1);
    log.add({ kind: 'incr', key: 'k', delta: 1 }, 2);
    const { store, results } = applyAll(log);
    expect(results[1]).toMatchObject({ ok: false, code: 'not_integer' });
    expect(dec(store.get('k'))).toBe('abc');
  });

  it('cas sets only when the current value matches, and "create if absent" only when absent', () => {
    const log = new Log();
    log.add({ kind: 'cas', key: 'k', expected: null, value: enc('v1') }, 1);
    log.add({ kind: 'cas', key: 'k', expected: null, value: enc('v2') }, 2);
    log.add({ kind: 'cas', key: 'k', expected: enc('nope'), value: enc('v3') }, 3);
    log.add({ kind: 'cas', key: 'k', expected: enc('v1'), value: enc('v4') }, 4);
    const { store, results } = applyAll(log);
    expect(results[0]).toMatchObject({ kind: 'cas', succeeded: true });
    expect(results[1]).toMatchObject({ kind: 'cas', succeeded: false });
    expect(dec((results[1] as { current: Uint8Array }).current)).toBe('v1');
    expect(results[2]).toMatchObject({ kind: 'cas', succeeded: false });
    expect(results[3]).toMatchObject({ kind: 'cas', succeeded: true });
    expect(dec(store.get('k'))).toBe('v4');
  });

  it('a noop and an undecodable entry change nothing', () => {
    const store = new KvStore();
    expect(store.apply({ index: 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) })).toEqual({ ok: true, kind: 'noop' });
    expect(store.apply({ index: 2, term: 1, type: EntryType.Normal, data: new Uint8Array([0xff, 0xff]) })).toMatchObject({ ok: false, code: 'bad_command' });
    expect(store.size()).toBe(0);
  });
});

describe('sessions: exactly-once', () => {
  it('a retried write (same session and sequence) returns the first result without applying twice', () => {
    const log = new Log();
    const sid = log.add({ kind: 'registerSession', timeoutMs: 10_000 }, 1_000);
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 1_001, { sessionId: sid, sequence: 1, firstOutstanding: 1 });
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 1_002, { sessionId: sid, sequence: 1, firstOutstanding: 1 }); // retry
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 1_003, { sessionId: sid, sequence: 2, firstOutstanding: 1 });
    const { store, results } = applyAll(log);
    expect(results[0]).toEqual({ ok: true, kind: 'session', sessionId: 1, timeoutMs: 10_000 });
    expect(results[1]).toEqual({ ok: true, kind: 'incr', value: 1 });
    expect(results[2]).toEqual({ ok: true, kind: 'incr', value: 1 });
    expect(results[3]).toEqual({ ok: true, kind: 'incr', value: 2 });
    expect(dec(store.get('c'))).toBe('2');
  });

  it('pipelined writes of one session are each applied once, and acknowledged results are forgotten', () => {
    const log = new Log();
    const sid = log.add({ kind: 'registerSession', timeoutMs: 10_000 }, 0);
    for (let seq = 1; seq <= 5; seq++) log.add({ kind: 'incr', key: 'c', delta: 1 }, seq, { sessionId: sid, sequence: seq, firstOutstanding: 1 });
    // Retries of 3 and 5 arrive after the client learned 1..2 (first outstanding 3).
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 6, { sessionId: sid, sequence: 3, firstOutstanding: 3 });
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 7, { sessionId: sid, sequence: 5, firstOutstanding: 3 });
    // A very late duplicate of 1 is recognized as already answered.
    log.add({ kind: 'incr', key: 'c', delta: 1 }, 8, { sessionId: sid, sequence: 1, firstOutstanding: 1 });
    const { store, results } = applyAll(log);
    expect(dec(store.get('c'))).toBe('5');
    expect(results[6]).toEqual({ ok: true, kind: 'incr', value: 3 });
    expect(results[7]).toEqual({ ok: true, kind: 'incr', value: 5 });
    expect(results[8]).toMatchObject({ ok: false, code: 'stale_sequence' });
    expect(store.sessions.get(sid)!.resultCount()).toBe(3);
  });

  it('a write under an unknown session is refused', () => {
    const log = new Log();
    log.add({ kind: 'put', key: 'k', value: enc('v') }, 1, { sessionId: 99, sequence: 1, firstOutstanding: 1 });
    const { store, results } = applyAll(log);
    expect(results[0]).toMatchObject({ ok: false, code: 'session_expired' });
    expect(store.get('k')).toBeUndefined();
  });
});

describe('sessions: expiry in log time', () => {
  it('expires a session idle past its timeout at the first entry stamped past it, and refuses it afterwards', () => {
    const log = new Log();
    const sid = log.add({ kind: 'registerSession', timeoutMs: 5_000 }, 10_000);
    log.add({ kind: 'put', key: 'k', value: enc('1') }, 12_000, { sessionId: sid, sequence: 1, firstOutstanding: 1 });
    log.noop();
    log.add({ kind: 'put', key: 'other', value: enc('x') }, 16_999); // idle 4,999 ms: still alive
    const expireIndex = log.add({ kind: 'put', key: 'other', value: enc('y') }, 17_001);
    log.add({ kind: 'put', key: 'k', value: enc('2') }, 17_002, { sessionId: sid, sequence: 2, firstOutstanding: 2 });
    const { store, results } = applyAll(log);
    expect(store.sessions.get(sid)).toBeUndefined();
    expect(store.sessions.expiredAt(sid)).toBe(expireIndex);
    expect(results[5]).toMatchObject({ ok: false, code: 'session_expired' });
    expect(dec(store.get('k'))).toBe('1');
  });

  it('keep-alives hold a session open', () => {
    const log = new Log();
    const sid = log.add({ kind: 'registerSession', timeoutMs: 2_000 }, 0);
    for (let t = 1_000; t <= 20_000; t += 1_000) log.add({ kind: 'keepAlive' }, t, { sessionId: sid, sequence: 0 + 1, firstOutstanding: 1 });
    const { store } = applyAll(log);
    expect(store.sessions.get(sid)).toBeDefined();
  });

  it('replicas applying the same log expire the same sessions at the same index', () => {
    const log = new Log();
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(log.add({ kind: 'registerSession', timeoutMs: 1_000 + 100 * i }, i * 10));
    for (let t = 0; t < 200; t++) log.add({ kind: 'put', key: `k${t}`, value: enc('v') }, 200 + t * 17);
    const a = applyAll(log).store;
    const b = applyAll(log).store;
    for (const id of ids) {
      expect(a.sessions.expiredAt(id)).toBeDefined();
      expect(a.sessions.expiredAt(id)).toBe(b.sessions.expiredAt(id));
    }
  });

  it('a retried registration (same nonce) gets the same session, not a second one (issue 9, hole 7)', () => {
    const log = new Log();
    const nonce = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = log.add({ kind: 'registerSession', timeoutMs: 10_000, nonce }, 0);
    log.add({ kind: 'registerSession', timeoutMs: 10_000, nonce }, 10); // the retry after an unknown outcome
    log.add({ kind: 'registerSession', timeoutMs: 10_000, nonce: new Uint8Array([9]) }, 20);
    log.add({ kind: 'registerSession', timeoutMs: 10_000 }, 30); // no nonce: never deduplicated
    const { store, results } = applyAll(log);
    expect(results[0]).toEqual({ ok: true, kind: 'session', sessionId: first, timeoutMs: 10_000 });
    expect(results[1]).toEqual({ ok: true, kind: 'session', sessionId: first, timeoutMs: 10_000 });
    expect(results[2]).toMatchObject({ sessionId: 3 });
    expect(results[3]).toMatchObject({ sessionId: 4 });
    expect(store.sessions.size()).toBe(3);
  });

  it('a nonce is forgotten with its expired session: a registration after that opens a new one', () => {
    const log = new Log();
    const nonce = new Uint8Array([7]);
    log.add({ kind: 'registerSession', timeoutMs: 1_000, nonce }, 0);
    log.add({ kind: 'put', key: 'x', value: enc('1') }, 5_000); // log time passes: the session expires
    const again = log.add({ kind: 'registerSession', timeoutMs: 1_000, nonce }, 5_001);
    const { results } = applyAll(log);
    expect(results[2]).toMatchObject({ sessionId: again });
  });
});
