import { describe, expect, it } from 'vitest';
import { type Operation, isUnknownOutcome, validateHistory } from '../../../src/harness/checker/history.js';
import { HistoryBuilder, historyFromEvents } from '../../../src/harness/checker/history-builder.js';
import { checkLinearizable } from '../../../src/harness/checker/linearizability.js';
import { partitionByKey } from '../../../src/harness/checker/partition.js';
import { Hist } from './history-dsl.js';

describe('validateHistory', () => {
  it('accepts a well-formed history', () => {
    const h = new Hist();
    h.put(1, 0, 1, 'a');
    h.get(2, 0, null, null);
    h.incr(3, 2, 3, 1, 'not_integer');
    expect(validateHistory(h.ops)).toEqual([]);
  });

  it('reports duplicate ids, bad times, mismatched kinds and non-integers', () => {
    const ops: Operation[] = [
      { id: 1, client: 1, key: 'k', call: 5, ret: 4, input: { kind: 'get' }, output: { kind: 'get', found: false } },
      { id: 1, client: 1, key: 'k', call: Number.NaN, ret: null, input: { kind: 'del' }, output: null },
      { id: 2, client: 1, key: 'k', call: 0, ret: 1, input: { kind: 'put', value: 'a' }, output: { kind: 'del', deleted: true } },
      { id: 3, client: 1, key: 'k', call: 0, ret: null, input: { kind: 'put', value: 'a' }, output: { kind: 'put' } },
      { id: 4, client: 1, key: 'k', call: 0, ret: 1, input: { kind: 'incr', delta: 0.5 }, output: { kind: 'incr', value: 1.5 } },
    ];
    const problems = validateHistory(ops).join('\n');
    expect(problems).toContain('#1: return time 4');
    expect(problems).toContain('#1: duplicate id');
    expect(problems).toContain('call time NaN');
    expect(problems).toContain("#2: output kind 'del' does not match input kind 'put'");
    expect(problems).toContain('#3: has an output but no return time');
    expect(problems).toContain('#4: incr delta 0.5');
    expect(() => checkLinearizable(ops)).toThrow(/malformed history/);
  });

  it('treats a missing response and an error response alike as unknown outcomes', () => {
    const h = new Hist();
    const none = h.put(1, 0, null, 'a');
    const error = h.put(1, 0, 5, 'a', { unknown: true });
    const ok = h.put(1, 0, 5, 'a');
    expect([none, error, ok].map(isUnknownOutcome)).toEqual([true, true, false]);
  });
});

describe('partitionByKey', () => {
  it('groups by key in sorted key order, sorts by call time, and drops unknown reads', () => {
    const h = new Hist();
    const b2 = h.put(1, 5, 6, 'x', { key: 'b' });
    const a1 = h.put(1, 0, 1, 'x', { key: 'a' });
    const b1 = h.get(2, 1, 2, null, { key: 'b' });
    h.get(3, 1, null, null, { key: 'a' });
    h.get(3, 1, 9, 'x', { key: 'c', unknown: true });
    const parts = partitionByKey(h.ops);
    expect([...parts.keys()]).toEqual(['a', 'b']);
    expect(parts.get('a')).toEqual([a1]);
    expect(parts.get('b')).toEqual([b1, b2]);
  });
});

describe('HistoryBuilder', () => {
  it('turns invoke/complete events into operations', () => {
    const history = historyFromEvents([
      { type: 'invoke', id: 1, client: 7, key: 'k', time: 10, input: { kind: 'put', value: 'a' } },
      { type: 'invoke', id: 2, client: 8, key: 'k', time: 11, input: { kind: 'get' } },
      { type: 'ok', id: 1, time: 20, output: { kind: 'put' } },
      { type: 'ok', id: 2, time: 21, output: { kind: 'get', found: true, value: 'a' } },
      { type: 'invoke', id: 3, client: 7, key: 'k', time: 30, input: { kind: 'del' } },
      { type: 'info', id: 3, time: 40 },
      { type: 'invoke', id: 4, client: 8, key: 'k', time: 31, input: { kind: 'incr', delta: 1 } },
      { type: 'fail', id: 4, time: 32 },
      { type: 'invoke', id: 5, client: 9, key: 'k', time: 33, input: { kind: 'put', value: 'b' } },
    ]);
    expect(history).toEqual([
      { id: 1, client: 7, key: 'k', call: 10, ret: 20, input: { kind: 'put', value: 'a' }, output: { kind: 'put' } },
      {
        id: 2,
        client: 8,
        key: 'k',
        call: 11,
        ret: 21,
        input: { kind: 'get' },
        output: { kind: 'get', found: true, value: 'a' },
      },
      { id: 3, client: 7, key: 'k', call: 30, ret: 40, input: { kind: 'del' }, output: null },
      { id: 5, client: 9, key: 'k', call: 33, ret: null, input: { kind: 'put', value: 'b' }, output: null },
    ]);
    expect(validateHistory(history)).toEqual([]);
    expect(checkLinearizable(history).ok).toBe(true);
  });

  it('rejects inconsistent event streams', () => {
    const b = new HistoryBuilder().invoke(1, 1, 'k', 10, { kind: 'get' });
    expect(() => b.invoke(1, 1, 'k', 11, { kind: 'get' })).toThrow(/invoked twice/);
    expect(() => b.complete(2, 12, { kind: 'put' })).toThrow(/never invoked/);
    expect(() => b.complete(1, 12, { kind: 'put' })).toThrow(/put response to a get/);
    const c = new HistoryBuilder().invoke(1, 1, 'k', 10, { kind: 'get' });
    expect(() => c.fail(1, 5)).toThrow(/before its call/);
    const d = new HistoryBuilder().invoke(1, 1, 'k', 10, { kind: 'del' }).indeterminate(1, 12);
    expect(() => d.complete(1, 13, { kind: 'del', deleted: true })).toThrow(/completed twice/);
  });
});
