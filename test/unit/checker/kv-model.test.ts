import { describe, expect, it } from 'vitest';
import type { KvInput, KvOutput, Operation } from '../../../src/harness/checker/history.js';
import { type KeyState, applyKv, outputMatches, parseKvInteger } from '../../../src/harness/checker/kv-model.js';
import { FAIL, StateTable, compileStep } from '../../../src/harness/checker/compiled-model.js';
import { Prng } from '../../../src/harness/checker/prng.js';

describe('the reference model', () => {
  it('parses decimal integers only', () => {
    expect(parseKvInteger('42')).toBe(42n);
    expect(parseKvInteger('-7')).toBe(-7n);
    expect(parseKvInteger('007')).toBe(7n);
    expect(parseKvInteger('99999999999999999999')).toBe(99999999999999999999n);
    for (const bad of ['', '+1', ' 1', '1.0', '1e3', 'abc', '-']) expect(parseKvInteger(bad)).toBeNull();
  });

  it('runs every operation kind', () => {
    expect(applyKv(null, { kind: 'put', value: 'a' })).toEqual({ next: 'a', output: { kind: 'put' } });
    expect(applyKv('a', { kind: 'get' })).toEqual({ next: 'a', output: { kind: 'get', found: true, value: 'a' } });
    expect(applyKv(null, { kind: 'get' })).toEqual({ next: null, output: { kind: 'get', found: false } });
    expect(applyKv('a', { kind: 'del' })).toEqual({ next: null, output: { kind: 'del', deleted: true } });
    expect(applyKv(null, { kind: 'del' })).toEqual({ next: null, output: { kind: 'del', deleted: false } });
    expect(applyKv(null, { kind: 'incr', delta: 3 })).toEqual({ next: '3', output: { kind: 'incr', value: 3n } });
    expect(applyKv('007', { kind: 'incr', delta: -10 })).toEqual({ next: '-3', output: { kind: 'incr', value: -3n } });
    expect(applyKv('x', { kind: 'incr', delta: 1 })).toEqual({ next: 'x', output: { kind: 'incr', error: 'not_integer' } });
    expect(applyKv(null, { kind: 'cas', expected: null, next: 'n' })).toEqual({ next: 'n', output: { kind: 'cas', ok: true } });
    expect(applyKv('a', { kind: 'cas', expected: null, next: 'n' })).toEqual({
      next: 'a',
      output: { kind: 'cas', ok: false, current: 'a' },
    });
  });

  it('matches outputs, with an unreported cas current matching any failure', () => {
    const failed: KvOutput = { kind: 'cas', ok: false, current: 'a' };
    expect(outputMatches(failed, { kind: 'cas', ok: false })).toBe(true);
    expect(outputMatches(failed, { kind: 'cas', ok: false, current: 'a' })).toBe(true);
    expect(outputMatches(failed, { kind: 'cas', ok: false, current: null })).toBe(false);
    expect(outputMatches(failed, { kind: 'cas', ok: true })).toBe(false);
    expect(outputMatches({ kind: 'incr', value: 5n }, { kind: 'incr', value: 5 })).toBe(true);
    expect(outputMatches({ kind: 'incr', value: 5n }, { kind: 'incr', error: 'not_integer' })).toBe(false);
    expect(outputMatches({ kind: 'get', found: false }, { kind: 'get', found: true, value: '' })).toBe(false);
  });
});

describe('the compiled model', () => {
  const states: KeyState[] = [null, '', 'a', 'b', '0', '1', '2', '007', '-1', 'x1'];
  const inputs: KvInput[] = [
    { kind: 'put', value: 'a' },
    { kind: 'put', value: '1' },
    { kind: 'get' },
    { kind: 'del' },
    { kind: 'incr', delta: 1 },
    { kind: 'incr', delta: -2 },
    { kind: 'incr', delta: 0 },
    { kind: 'cas', expected: null, next: 'a' },
    { kind: 'cas', expected: 'a', next: 'b' },
    { kind: 'cas', expected: '1', next: '1' },
  ];
  const outputsFor = (input: KvInput): (KvOutput | null)[] => {
    const observed = states.map((s) => applyKv(s, input).output);
    const extra: KvOutput[] =
      input.kind === 'cas' ? [{ kind: 'cas', ok: false }] : input.kind === 'incr' ? [{ kind: 'incr', value: 99 }] : [];
    return [null, ...observed, ...extra];
  };

  it('agrees with the reference model on every state, input and observed output', () => {
    let id = 0;
    for (const input of inputs) {
      for (const output of outputsFor(input)) {
        const op: Operation = { id: id++, client: 0, key: 'k', call: 0, ret: output === null ? null : 1, input, output };
        const table = new StateTable();
        const step = compileStep(op, table);
        for (const state of states) {
          const { next, output: expected } = applyKv(state, input);
          const want = output === null || outputMatches(expected, output) ? table.intern(next) : FAIL;
          expect(step(table.intern(state)), `${JSON.stringify(input)} ${JSON.stringify(output, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} on ${String(state)}`).toBe(want);
        }
      }
    }
  });

  it('interns equal values to equal ids and parses integers once', () => {
    const table = new StateTable();
    const prng = new Prng(3);
    for (let i = 0; i < 100; i++) {
      const v = String(prng.int(10));
      expect(table.value(table.intern(v))).toBe(v);
      expect(table.intern(v)).toBe(table.intern(`${v}`));
      expect(table.integer(table.intern(v))).toBe(BigInt(v));
    }
    expect(table.integer(table.intern(null))).toBe(0n);
    expect(table.integer(table.intern('z'))).toBeNull();
  });
});
