import { describe, expect, it } from 'vitest';
import { CorruptSnapshotError, InvalidArgumentError } from '../../../src/common/errors.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { loadSnapshot } from '../../../src/statemachine/snapshot-loader.js';
import { writeSnapshot, type SnapshotSliceOptions } from '../../../src/statemachine/snapshot-writer.js';
import { chunked, enc, fingerprint, MemorySink, normalizeResult, pointAt, prng, Writer } from './snapshot-helpers.js';

const immediate = async (): Promise<void> => undefined;

async function snapshotBytes(store: KvStore, options: SnapshotSliceOptions = {}): Promise<Uint8Array> {
  const view = store.openView();
  const sink = new MemorySink();
  await writeSnapshot(view, pointAt(view.index, 3), 'test-cluster', sink, { yieldTurn: immediate, ...options });
  return sink.bytes();
}

async function load(bytes: Uint8Array, chunkBytes = 4096): Promise<KvStore> {
  const { store } = await loadSnapshot('mem.snap', chunked(bytes, chunkBytes), { cluster: 'test-cluster', yieldTurn: immediate });
  return store;
}

/** A state with every kind of thing a snapshot must carry. */
function richStore(): { store: KvStore; w: Writer; sids: number[] } {
  const store = new KvStore();
  const w = new Writer(store);
  w.noop();
  w.apply({ kind: 'put', key: 'plain', value: enc('v') });
  w.apply({ kind: 'put', key: 'empty', value: new Uint8Array(0) });
  w.apply({ kind: 'put', key: 'ünï©ødé ☃', value: new Uint8Array(20_000).fill(7) });
  w.apply({ kind: 'incr', key: 'counter', delta: -12 });
  const a = w.session(60_000, enc('nonce-a'));
  const b = w.session(2_000);
  const doomed = w.session(1_000, enc('nonce-doomed'));
  // Results of every kind, remembered by session a; the first two acknowledged (forgotten).
  const ctx = (sequence: number, firstOutstanding = 1): { sessionId: number; sequence: number; firstOutstanding: number } => ({ sessionId: a, sequence, firstOutstanding });
  w.apply({ kind: 'put', key: 's1', value: enc('x') }, ctx(1));
  w.apply({ kind: 'put', key: 's2', value: enc('y') }, ctx(2));
  w.apply({ kind: 'delete', key: 's2' }, ctx(3, 3));
  w.apply({ kind: 'delete', key: 'nothing' }, ctx(4, 3));
  w.apply({ kind: 'incr', key: 'counter', delta: 5 }, ctx(5, 3));
  w.apply({ kind: 'cas', key: 'plain', expected: enc('wrong'), value: enc('z') }, ctx(6, 3));
  w.apply({ kind: 'cas', key: 'absent', expected: enc('wrong'), value: enc('z') }, ctx(7, 3));
  w.apply({ kind: 'cas', key: 'plain', expected: enc('v'), value: enc('w') }, ctx(8, 3));
  w.apply({ kind: 'incr', key: 'plain', delta: 1 }, ctx(9, 3)); // not_integer
  w.apply({ kind: 'keepAlive' }, { sessionId: b, sequence: 0, firstOutstanding: 0 });
  // Let `doomed` expire (idle past 1 s of log time), keep a and b alive.
  w.apply({ kind: 'keepAlive' }, { sessionId: b, sequence: 0, firstOutstanding: 0 }, 900);
  w.apply({ kind: 'keepAlive' }, { sessionId: b, sequence: 0, firstOutstanding: 0 }, 900);
  expect(store.sessions.get(doomed)).toBeUndefined();
  expect(store.sessions.expiredAt(doomed)).toBeDefined();
  return { store, w, sids: [a, b] };
}

describe('snapshot round trip', () => {
  it('a loaded snapshot holds exactly the state: keys, sessions with their results, expiries, log time, index', async () => {
    const { store } = richStore();
    const bytes = await snapshotBytes(store);
    for (const chunk of [1, 13, 4096, bytes.length]) {
      const loaded = await load(bytes, chunk);
      expect(fingerprint(loaded)).toEqual(fingerprint(store));
    }
  });

  it('a loaded store behaves like the original: retries, forgotten sequences, nonces, expiry in log time', async () => {
    const { store, sids } = richStore();
    const [a, b] = sids as [number, number];
    const loaded = await load(await snapshotBytes(store, { sliceKeys: 1 }));
    const twins = [new Writer(store), new Writer(loaded)];
    for (const t of twins) t.stampMs = 10_000;
    const results = twins.map((t) => [
      t.apply({ kind: 'put', key: 's1', value: enc('retry') }, { sessionId: a, sequence: 5, firstOutstanding: 3 }), // a retry: the remembered incr
      t.apply({ kind: 'put', key: 's1', value: enc('late') }, { sessionId: a, sequence: 2, firstOutstanding: 3 }), // acknowledged: stale
      t.apply({ kind: 'cas', key: 'plain', expected: enc('v'), value: enc('q') }, { sessionId: a, sequence: 6, firstOutstanding: 3 }),
      t.apply({ kind: 'registerSession', timeoutMs: 60_000, nonce: enc('nonce-a') }),
      t.apply({ kind: 'incr', key: 'counter', delta: 1 }),
      // b (2 s timeout) has been idle since the snapshot: it expires at this index on both.
      t.apply({ kind: 'keepAlive' }, { sessionId: b, sequence: 0, firstOutstanding: 0 }, 5_000),
    ]);
    expect(normalizeResult(results[1])).toEqual(normalizeResult(results[0]));
    expect(results[0]![0]).toEqual({ ok: true, kind: 'incr', value: -7 });
    expect(results[0]![1]).toMatchObject({ ok: false, code: 'stale_sequence' });
    expect(results[0]![3]).toMatchObject({ kind: 'session', sessionId: a });
    expect(results[0]![5]).toMatchObject({ ok: false, code: 'session_expired' });
    expect(fingerprint(loaded)).toEqual(fingerprint(store));
  });

  it('an empty state round trips', async () => {
    const store = new KvStore();
    new Writer(store).noop();
    const loaded = await load(await snapshotBytes(store));
    expect(fingerprint(loaded)).toEqual(fingerprint(store));
    expect(loaded.applied()).toBe(1);
  });

  it('refuses a point that is not the view index, and closes the view either way', async () => {
    const { store } = richStore();
    const view = store.openView();
    await expect(writeSnapshot(view, pointAt(view.index + 1), 'c', new MemorySink(), { yieldTurn: immediate })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(store.viewOpen()).toBe(false);
    const again = store.openView();
    await writeSnapshot(again, pointAt(again.index), 'c', new MemorySink(), { yieldTurn: immediate });
    expect(store.viewOpen()).toBe(false);
  });

  it('one view at a time', () => {
    const store = new KvStore();
    const view = store.openView();
    expect(() => store.openView()).toThrow(/already open/);
    view.close();
    store.openView().close();
  });

  it('refuses a snapshot of another cluster or of another point', async () => {
    const { store } = richStore();
    const bytes = await snapshotBytes(store);
    await expect(loadSnapshot('x.snap', chunked(bytes, 512), { cluster: 'other', yieldTurn: immediate })).rejects.toThrow(/cluster "test-cluster", not "other"/);
    await expect(loadSnapshot('x.snap', chunked(bytes, 512), { expectedPoint: pointAt(store.applied() - 1, 3), yieldTurn: immediate })).rejects.toBeInstanceOf(CorruptSnapshotError);
  });
});

describe('copy-on-write: the file equals the state at the view index while writes go on', () => {
  /** Applies a few random writes of every kind: the load a snapshot is taken under. */
  function mutate(w: Writer, rnd: () => number, sids: number[], seq: Map<number, number>): void {
    const n = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) {
      const key = `k${Math.floor(rnd() * 60)}`;
      const pick = rnd();
      const sid = sids[Math.floor(rnd() * sids.length)];
      const ctx = sid !== undefined && rnd() < 0.5 && w.store.sessions.get(sid) ? nextCtx(sid, seq) : undefined;
      if (pick < 0.3) w.apply({ kind: 'put', key, value: enc(`v${rnd()}`) }, ctx);
      else if (pick < 0.5) w.apply({ kind: 'delete', key }, ctx);
      else if (pick < 0.65) w.apply({ kind: 'incr', key: `n${Math.floor(rnd() * 10)}`, delta: 1 + Math.floor(rnd() * 5) }, ctx);
      else if (pick < 0.75) w.apply({ kind: 'cas', key, expected: rnd() < 0.5 ? null : enc('v'), value: enc('c') }, ctx);
      else if (pick < 0.82) sids.push(w.session(1_000 + Math.floor(rnd() * 3_000)));
      else if (pick < 0.9 && sid !== undefined) w.apply({ kind: 'keepAlive' }, { sessionId: sid, sequence: 0, firstOutstanding: 0 }, Math.floor(rnd() * 400));
      else w.apply({ kind: 'put', key: `fresh${w.store.applied()}`, value: enc('new') }, undefined, Math.floor(rnd() * 300));
    }
  }

  function nextCtx(sid: number, seq: Map<number, number>): { sessionId: number; sequence: number; firstOutstanding: number } {
    const next = (seq.get(sid) ?? 0) + 1;
    seq.set(sid, next);
    return { sessionId: sid, sequence: next, firstOutstanding: Math.max(1, next - 3) };
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}`, async () => {
      const rnd = prng(seed);
      const store = new KvStore();
      const w = new Writer(store);
      const sids: number[] = [];
      const seq = new Map<number, number>();
      w.noop();
      for (let i = 0; i < 80; i++) mutate(w, rnd, sids, seq);
      const expected = fingerprint(store);
      const view = store.openView();
      mutate(w, rnd, sids, seq);
      const sink = new MemorySink();
      // Between every slice (a few keys, or one session), more writes land.
      await writeSnapshot(view, pointAt(view.index), 'test-cluster', sink, {
        sliceKeys: 1 + Math.floor(rnd() * 4),
        yieldTurn: async () => mutate(w, rnd, sids, seq),
      });
      expect(store.applied()).toBeGreaterThan(view.index);
      const loaded = await load(sink.bytes(), 1 + Math.floor(rnd() * 300));
      expect(fingerprint(loaded)).toEqual(expected);
      expect(fingerprint(loaded)).not.toEqual(fingerprint(store));
    });
  }
});

describe('corruption is refused with the name, never loaded', () => {
  it('a flipped bit at any offset', async () => {
    const { store } = richStore();
    const bytes = await snapshotBytes(store, { sliceKeys: 2 });
    // Every byte of the small parts; every 97th byte inside the 20 KB value.
    const offsets = [...Array(bytes.length).keys()].filter((i) => i < 400 || i > bytes.length - 3000 || i % 97 === 0);
    for (const offset of offsets) {
      const bad = new Uint8Array(bytes);
      bad[offset]! ^= 1 << (offset % 8);
      const err = await loadSnapshot('flipped.snap', chunked(bad, 4096), { yieldTurn: immediate }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `flip at ${offset}`).toBeInstanceOf(CorruptSnapshotError);
      expect((err as CorruptSnapshotError).file).toBe('flipped.snap');
      expect((err as CorruptSnapshotError).code).toBe('CORRUPT_SNAPSHOT');
      expect((err as Error).message).toMatch(/^corrupt snapshot flipped\.snap/);
    }
  });

  it('cut short at any length, or with bytes after the footer', async () => {
    const { store } = richStore();
    const bytes = await snapshotBytes(store, { sliceKeys: 2 });
    for (let length = 0; length < bytes.length; length += length < 300 ? 1 : 211) {
      await expect(loadSnapshot('cut.snap', chunked(bytes.subarray(0, length), 100), { yieldTurn: immediate }), `length ${length}`).rejects.toBeInstanceOf(CorruptSnapshotError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    await expect(loadSnapshot('long.snap', chunked(longer, 100), { yieldTurn: immediate })).rejects.toThrow(/after the footer/);
  });
});
