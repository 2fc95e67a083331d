// Work is measured in search steps, not wall time, so these hold on any machine.
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/harness/checker/linearizability.js';
import { type Kind, simulateHistory } from './simulate.js';

const ALL: Kind[] = ['put', 'get', 'del', 'incr', 'cas'];

describe('checker effort', () => {
  it('checks a 2,000-operation key with 10 concurrent clients well within budget', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const registers = simulateHistory({ seed, clients: 10, opsPerClient: 200, keys: 1, kinds: ['put', 'get'] });
      const r1 = checkLinearizable(registers, { stepBudgetPerKey: 200_000 });
      expect(r1).toMatchObject({ ok: true, unknown: false, partitions: 1 });
      expect(r1.maxStepsPerKey).toBeLessThan(50_000);

      const mixed = simulateHistory({ seed, clients: 10, opsPerClient: 200, keys: 1, kinds: ALL, valuePool: 5, pUnknown: 0.02 });
      const r2 = checkLinearizable(mixed, { stepBudgetPerKey: 1_000_000 });
      expect(r2).toMatchObject({ ok: true, unknown: false, partitions: 1 });
      expect(r2.maxStepsPerKey).toBeLessThan(300_000);

      const counter = simulateHistory({ seed, clients: 10, opsPerClient: 200, keys: 1, kinds: ['incr', 'get'], incrDeltas: [1], pUnknown: 0.05 });
      const r3 = checkLinearizable(counter, { stepBudgetPerKey: 100_000 });
      expect(r3).toMatchObject({ ok: true, unknown: false });
      expect(r3.maxStepsPerKey).toBeLessThan(20_000);
    }
  });

  it('checks 20,000 operations from 100 clients over 100 keys', () => {
    const history = simulateHistory({ seed: 9, clients: 100, opsPerClient: 200, keys: 100, kinds: ALL, valuePool: 10, pUnknown: 0.02 });
    expect(history.length).toBe(20_000);
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: true, unknown: false, partitions: 100 });
    expect(result.maxStepsPerKey).toBeLessThan(10_000);
    expect(result.steps).toBeLessThan(200_000);
  });

  it('finds a violation in a 2,000-operation key and shrinks it within bounds', () => {
    const history = simulateHistory({ seed: 4, clients: 10, opsPerClient: 200, keys: 1, kinds: ['put', 'get'] });
    const late = history.filter((op) => op.input.kind === 'get' && op.output !== null)[700];
    if (late === undefined) throw new Error('too few reads');
    const corrupted = history.map((op) => (op === late ? { ...op, output: { kind: 'get' as const, found: true as const, value: 'v0' } } : op));
    const result = checkLinearizable(corrupted);
    expect(result.ok).toBe(false);
    expect(result.violation?.ops.map((op) => op.id)).toContain(late.id);
    expect(result.violation?.ops.length).toBeLessThanOrEqual(4);
  });
});
