import { describe, expect, it } from 'vitest';
import { type CheckResult, checkLinearizable } from '../../../src/harness/checker/linearizability.js';
import { searchLinearization } from '../../../src/harness/checker/wgl-search.js';
import { asUnknown, violationHistory } from '../../../src/harness/checker/violation.js';
import type { Operation } from '../../../src/harness/checker/history.js';
import { Hist } from './history-dsl.js';
import { bruteForceLinearizable } from './oracle.js';

/**
 * Asserts a violation on `key` shrunk to at most maxOps operations that still fail
 * (by the search and by brute force), with an explanation naming each of them.
 */
function expectViolation(ops: readonly Operation[], key: string, maxOps: number): CheckResult {
  const result = checkLinearizable(ops);
  expect(result.ok).toBe(false);
  expect(result.unknown).toBe(false);
  expect(result.failingKeys).toContain(key);
  const violation = result.violation;
  if (violation === undefined) throw new Error('no violation reported');
  expect(violation.key).toBe(key);
  expect(violation.ops.length).toBeGreaterThan(0);
  expect(violation.ops.length).toBeLessThanOrEqual(maxOps);
  expect(violation.minimal).toBe(true);
  expect([...violation.ops, ...violation.context].every((op) => op.key === key && ops.includes(op))).toBe(true);
  // The core fails alone, with its context, and even with every other write's outcome ignored.
  const others = ops.filter((op) => op.key === key && op.input.kind !== 'get' && !violation.ops.includes(op));
  for (const history of [violation.ops, violationHistory(violation), [...violation.ops, ...others.map(asUnknown)]]) {
    expect(searchLinearization(history, { budget: 100_000 }).verdict).toBe('violation');
    if (history.length <= 9) expect(bruteForceLinearizable(history)).toBe(false);
  }
  for (const op of [...violation.ops, ...violation.context]) expect(violation.explanation).toContain(`#${op.id} `);
  expect(violation.explanation).toContain(JSON.stringify(key));
  if (ops.length <= 9) expect(bruteForceLinearizable(ops.filter((op) => op.key === key))).toBe(false);
  return result;
}

/** Unrelated, linearizable traffic on other keys, so the checker must find the failing one. */
function noise(h: Hist): void {
  for (let k = 0; k < 5; k++) {
    const key = `other${k}`;
    h.put(10 + k, 0, 3, 'x', { key });
    h.get(20 + k, 1, 4, 'x', { key });
    h.incr(30 + k, 5, 6, 1, 'not_integer', { key });
  }
}

describe('checkLinearizable rejects violating histories', () => {
  it('a stale read after a completed write', () => {
    const h = new Hist();
    noise(h);
    h.put(1, 0, 1, 'a');
    h.put(1, 2, 3, 'b');
    const stale = h.get(2, 4, 5, 'a');
    h.get(2, 6, 7, 'b');
    const result = expectViolation(h.ops, 'k', 3);
    expect(result.violation?.ops).toContain(stale);
    expect(result.violation?.explanation).toContain('get()');
  });

  it('a read observing a value never written', () => {
    const h = new Hist();
    noise(h);
    h.put(1, 0, 10, 'a');
    h.get(2, 1, 9, 'a');
    const bogus = h.get(3, 2, 8, 'zzz');
    const result = expectViolation(h.ops, 'k', 1);
    expect(result.violation?.ops).toEqual([bogus]);
    expect(result.violation?.explanation).toContain('"zzz"');
  });

  it('two incrs returning the same value', () => {
    const h = new Hist();
    noise(h);
    h.incr(1, 0, 10, 1, 1);
    h.incr(2, 1, 11, 1, 1);
    h.incr(3, 12, 13, 1, 3);
    expectViolation(h.ops, 'k', 2);
  });

  it('an incr result inconsistent with the acknowledged incrs before it', () => {
    const h = new Hist();
    noise(h);
    h.incr(1, 0, 1, 1, 1);
    h.incr(1, 2, 3, 1, 2);
    h.incr(2, 4, 5, 1, 3);
    h.incr(2, 6, 7, 1, 3);
    expectViolation(h.ops, 'k', 2);
  });

  it('a lost acknowledged write', () => {
    const h = new Hist();
    noise(h);
    h.put(1, 0, 1, 'old');
    h.get(2, 2, 3, 'old');
    h.put(1, 4, 5, 'new');
    h.get(2, 20, 21, 'old');
    expectViolation(h.ops, 'k', 3);
  });

  it('cas succeeding twice from the same expected value', () => {
    const h = new Hist();
    noise(h);
    h.put(1, 0, 1, 'a');
    h.cas(2, 2, 10, 'a', 'b', true);
    h.cas(3, 3, 11, 'a', 'c', true);
    expectViolation(h.ops, 'k', 3);
  });

  it('a read that travels back in time', () => {
    const h = new Hist();
    noise(h);
    h.put(1, 0, 1, 'old');
    h.put(1, 2, 30, 'new');
    h.get(2, 3, 4, 'new');
    h.get(3, 5, 6, 'old');
    expectViolation(h.ops, 'k', 4);
  });

  it('a failed cas that reports a current value the key never had then', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.cas(2, 2, 3, 'b', 'c', false, 'b');
    expectViolation(h.ops, 'k', 1);
  });

  it('a del that claims to delete an absent key', () => {
    const h = new Hist();
    h.del(1, 0, 1, true);
    expectViolation(h.ops, 'k', 1);
  });

  it('an incr on a non-integer that claims success', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'abc');
    h.incr(1, 2, 3, 1, 1);
    expectViolation(h.ops, 'k', 2);
  });

  it('an unknown-outcome write cannot explain a read before it was invoked', () => {
    const h = new Hist();
    const read = h.get(1, 0, 1, 'late');
    const write = h.put(2, 5, null, 'late');
    const result = expectViolation(h.ops, 'k', 1);
    expect(result.violation?.ops).toEqual([read]);
    expect(result.violation?.context).toEqual([write]);
    expect(result.violation?.explanation).toContain('(outcome ignored');
  });

  it('reports the failing key with the fewest operations when several fail', () => {
    const h = new Hist();
    for (let i = 0; i < 6; i++) h.put(1, 10 * i, 10 * i + 1, `v${i}`, { key: 'big' });
    h.get(2, 100, 101, 'v0', { key: 'big' });
    h.get(3, 0, 1, 'nope', { key: 'small' });
    const result = checkLinearizable(h.ops);
    expect(result.failingKeys).toEqual(['big', 'small']);
    expect(result.violation?.key).toBe('small');
  });

  it('shrinks a violation buried in a long history', () => {
    const h = new Hist();
    for (let i = 0; i < 300; i++) {
      h.put(i % 3, 10 * i, 10 * i + 5, `v${i}`);
      h.get(3, 10 * i + 6, 10 * i + 8, `v${i}`);
    }
    const stale = h.get(4, 2000, 2001, 'v100');
    for (let i = 300; i < 400; i++) h.put(i % 3, 10 * i, 10 * i + 5, `v${i}`);
    const result = expectViolation(h.ops, 'k', 4);
    expect(result.violation?.ops).toContain(stale);
    expect(result.violation?.originalOps).toBe(h.ops.length);
    expect(result.violation?.explanation).toContain(`shrunk from ${h.ops.length} operations`);
  });

  it('explains the longest prefix and the operation that could not be placed', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.put(1, 2, 3, 'b');
    h.get(2, 4, 5, 'a');
    const explanation = checkLinearizable(h.ops).violation?.explanation ?? '';
    expect(explanation).toContain('Longest linearizable prefix (2 operations)');
    expect(explanation).toContain('#3 get() must take effect before its response at 5, with the key "b"');
    expect(explanation).toContain('#3 get(): would return "b", but the client saw "a"');
  });
});

describe('search shortcuts', () => {
  it('rejects a read of a value no operation could produce without searching', () => {
    const h = new Hist();
    for (let i = 0; i < 40; i++) h.incr(i, i, null, (i % 7) - 3, 0); // 40 timed-out incrs
    h.put(50, 0, null, '5');
    h.get(60, 100, 101, 'five');
    const result = searchLinearization(h.ops, { budget: 1_000 });
    expect(result).toMatchObject({ verdict: 'violation', steps: 1 });
  });
});

describe('budget', () => {
  it('answers unknown, not ok, when the step budget runs out', () => {
    const h = new Hist();
    for (let i = 0; i < 30; i++) h.put(i, 0, 100, `v${i}`);
    h.get(99, 101, 102, 'v7');
    const result = checkLinearizable(h.ops, { stepBudgetPerKey: 10 });
    expect(result).toMatchObject({ ok: false, unknown: true, unknownKeys: ['k'], failingKeys: [] });
    expect(result.violation).toBeUndefined();
    expect(result.maxStepsPerKey).toBe(10);
    expect(checkLinearizable(h.ops).ok).toBe(true);
  });
});
