import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/harness/checker/linearizability.js';
import { searchLinearization } from '../../../src/harness/checker/wgl-search.js';
import type { Operation } from '../../../src/harness/checker/history.js';
import { Hist } from './history-dsl.js';
import { bruteForceLinearizable, witnessProblem } from './oracle.js';

/** Asserts linearizable, cross-checked by the brute-force oracle and by the search's witness. */
function expectLinearizable(ops: readonly Operation[]): void {
  const result = checkLinearizable(ops);
  expect(result.violation?.explanation).toBeUndefined();
  expect(result).toMatchObject({ ok: true, unknown: false, failingKeys: [], unknownKeys: [] });
  if (ops.length <= 9) expect(bruteForceLinearizable(ops)).toBe(true);
  const keys = new Set(ops.map((op) => op.key));
  for (const key of keys) {
    const keyOps = ops.filter((op) => op.key === key);
    const search = searchLinearization(keyOps, { budget: 1_000_000 });
    expect(search.verdict).toBe('linearizable');
    if (search.verdict === 'linearizable') expect(witnessProblem(keyOps, search.order)).toBeNull();
  }
}

describe('checkLinearizable accepts linearizable histories', () => {
  it('accepts an empty history', () => {
    expect(checkLinearizable([])).toMatchObject({ ok: true, unknown: false, partitions: 0 });
  });

  it('accepts a sequential history over every operation kind', () => {
    const h = new Hist();
    h.get(1, 0, 1, null);
    h.put(1, 2, 3, 'a');
    h.get(1, 4, 5, 'a');
    h.cas(1, 6, 7, 'a', 'b', true);
    h.cas(1, 8, 9, 'a', 'c', false, 'b');
    h.del(1, 10, 11, true);
    h.del(1, 12, 13, false);
    h.incr(1, 14, 15, 5, 5);
    h.incr(1, 16, 17, -2, 3);
    h.get(1, 18, 19, '3');
    h.put(1, 20, 21, 'x');
    h.incr(1, 22, 23, 1, 'not_integer');
    h.get(1, 24, 25, 'x');
    h.cas(1, 26, 27, null, 'y', false);
    expectLinearizable(h.ops);
  });

  it('accepts a read concurrent with a write seeing either the old or the new value', () => {
    for (const seen of [null, 'a']) {
      const h = new Hist();
      h.put(1, 0, 10, 'a');
      h.get(2, 5, 15, seen);
      expectLinearizable(h.ops);
    }
  });

  it('accepts overlapping puts read in either order', () => {
    for (const [first, second] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const h = new Hist();
      h.put(1, 0, 10, 'a');
      h.put(2, 0, 10, 'b');
      h.get(3, 1, 9, first);
      h.get(3, 11, 12, second);
      expectLinearizable(h.ops);
    }
  });

  it('counts touching intervals (return time equals call time) as concurrent', () => {
    const h = new Hist();
    h.put(1, 0, 5, 'a');
    h.get(2, 5, 6, null);
    expectLinearizable(h.ops);
  });

  it('accepts concurrent incrs returning distinct values in any order', () => {
    const h = new Hist();
    h.incr(1, 0, 10, 1, 2);
    h.incr(2, 1, 11, 1, 3);
    h.incr(3, 2, 12, 1, 1);
    h.get(1, 13, 14, '3');
    expectLinearizable(h.ops);
  });

  it('accepts concurrent cas where exactly one wins', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.cas(1, 2, 10, 'a', 'b', false, 'c');
    h.cas(2, 3, 11, 'a', 'c', true);
    h.get(3, 12, 13, 'c');
    expectLinearizable(h.ops);
  });

  it('accepts del racing a put', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.del(1, 2, 10, true);
    h.put(2, 3, 9, 'b');
    h.get(3, 11, 12, 'b');
    h.del(3, 13, 14, true);
    h.get(3, 15, 16, null);
    expectLinearizable(h.ops);
  });

  it('accepts an unknown-outcome write that took effect, even after the client gave up', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.put(2, 2, null, 'b');
    h.get(3, 10, 11, 'a');
    h.get(3, 50, 51, 'b');
    expectLinearizable(h.ops);
  });

  it('accepts an unknown-outcome write that never took effect', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.put(2, 2, null, 'b');
    h.incr(2, 3, null, 1, 0);
    h.del(2, 4, 5, false, { unknown: true });
    h.get(3, 10, 11, 'a');
    h.get(3, 50, 51, 'a');
    expectLinearizable(h.ops);
  });

  it('accepts error responses whose write took effect later', () => {
    const h = new Hist();
    h.incr(1, 0, 1, 1, 1);
    h.incr(2, 2, 3, 10, 0, { unknown: true });
    h.incr(1, 4, 5, 1, 2);
    h.incr(1, 6, 7, 1, 13);
    expectLinearizable(h.ops);
  });

  it('drops reads with unknown outcome', () => {
    const h = new Hist();
    h.get(1, 0, null, null);
    h.get(2, 0, 1, 'never-written', { unknown: true });
    expect(checkLinearizable(h.ops)).toMatchObject({ ok: true, partitions: 0 });
  });

  it('checks many keys independently', () => {
    const h = new Hist();
    for (let k = 0; k < 50; k++) {
      const key = `key${k}`;
      h.put(k, 0, 10, `a${k}`, { key });
      h.get(k + 100, 5, 15, k % 2 === 0 ? `a${k}` : null, { key });
      h.incr(k + 200, 20, 30, k, 'not_integer', { key });
    }
    const result = checkLinearizable(h.ops);
    expect(result).toMatchObject({ ok: true, partitions: 50 });
  });
});
