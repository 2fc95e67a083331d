import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/harness/checker/linearizability.js';
import { searchLinearization } from '../../../src/harness/checker/wgl-search.js';
import { type KvOutput, type Operation, isUnknownOutcome } from '../../../src/harness/checker/history.js';
import { partitionByKey } from '../../../src/harness/checker/partition.js';
import { Prng } from '../../../src/harness/checker/prng.js';
import { type Kind, type SimulationOptions, simulateHistory } from './simulate.js';
import { bruteForceLinearizable, witnessProblem } from './oracle.js';

const ALL: Kind[] = ['put', 'get', 'del', 'incr', 'cas'];

function expectLinearizableWithWitnesses(history: readonly Operation[]): void {
  const result = checkLinearizable(history);
  expect(result.violation?.explanation).toBeUndefined();
  expect(result).toMatchObject({ ok: true, unknown: false });
  for (const ops of partitionByKey(history).values()) {
    const search = searchLinearization(ops, { budget: 2_000_000 });
    if (search.verdict !== 'linearizable') throw new Error(`expected a witness, got ${search.verdict}`);
    expect(witnessProblem(ops, search.order)).toBeNull();
  }
}

/** Replaces one operation's output. */
function withOutput(history: readonly Operation[], target: Operation, output: KvOutput): Operation[] {
  return history.map((op) => (op === target ? { ...op, output } : op));
}

function completedGets(history: readonly Operation[]): Operation[] {
  return history.filter((op) => op.input.kind === 'get' && !isUnknownOutcome(op));
}

describe('histories of a simulated atomic store', () => {
  const workloads: [string, Omit<SimulationOptions, 'seed'>][] = [
    ['registers', { clients: 8, opsPerClient: 60, keys: 3, kinds: ['put', 'get'] }],
    ['registers with timeouts', { clients: 8, opsPerClient: 60, keys: 3, kinds: ['put', 'get', 'cas'], pUnknown: 0.1 }],
    ['everything, small values', { clients: 8, opsPerClient: 60, keys: 2, kinds: ALL, valuePool: 4, pUnknown: 0.05 }],
    ['counters', { clients: 8, opsPerClient: 60, keys: 2, kinds: ['incr', 'get'], incrDeltas: [1], pUnknown: 0.1 }],
    ['many keys', { clients: 30, opsPerClient: 30, keys: 40, kinds: ALL, valuePool: 6, pUnknown: 0.05 }],
  ];
  for (const [name, workload] of workloads) {
    it(`accepts ${name}`, () => {
      for (let seed = 1; seed <= 5; seed++) expectLinearizableWithWitnesses(simulateHistory({ seed, ...workload }));
    });
  }

  it('rejects a read corrupted to a value nobody wrote, and shrinks to that read', () => {
    const prng = new Prng(5);
    for (let seed = 1; seed <= 10; seed++) {
      const history = simulateHistory({ seed, clients: 6, opsPerClient: 50, keys: 3, kinds: ALL, valuePool: 4, pUnknown: 0.05 });
      const target = prng.pick(completedGets(history));
      const corrupted = withOutput(history, target, { kind: 'get', found: true, value: 'never-written' });
      const result = checkLinearizable(corrupted);
      expect(result.ok).toBe(false);
      expect(result.failingKeys).toEqual([target.key]);
      expect(result.violation?.key).toBe(target.key);
      expect(result.violation?.ops.map((op) => op.id)).toEqual([target.id]);
    }
  });

  it('rejects a read corrupted to a value written only after it returned', () => {
    const prng = new Prng(6);
    let checked = 0;
    for (let seed = 1; checked < 10; seed++) {
      // Unique values, so the later put is the only possible writer.
      const history = simulateHistory({ seed, clients: 6, opsPerClient: 50, keys: 2, kinds: ['put', 'get', 'del'], pUnknown: 0.05 });
      const read = prng.pick(completedGets(history));
      const later = history.find((op) => op.key === read.key && op.input.kind === 'put' && op.call > (read.ret ?? Infinity));
      if (later === undefined || later.input.kind !== 'put') continue;
      checked++;
      const corrupted = withOutput(history, read, { kind: 'get', found: true, value: later.input.value });
      const result = checkLinearizable(corrupted);
      expect(result.ok).toBe(false);
      expect(result.violation?.key).toBe(read.key);
      const ids = result.violation?.ops.map((op) => op.id) ?? [];
      expect(ids).toContain(read.id);
      expect(ids.length).toBeLessThanOrEqual(3);
    }
  });

  it('rejects a counter where two incrs return the same value', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const history = simulateHistory({ seed, clients: 6, opsPerClient: 40, keys: 1, kinds: ['incr', 'get'], incrDeltas: [1] });
      const incrs = history.filter((op) => op.input.kind === 'incr');
      const [first, second] = [incrs[10], incrs[20]];
      if (first === undefined || second === undefined || first.output === null) throw new Error('too few incrs');
      const result = checkLinearizable(withOutput(history, second, first.output));
      expect(result.ok).toBe(false);
      expect(result.violation?.ops.length).toBeLessThanOrEqual(4);
    }
  });

  it('agrees with brute force on small random histories, corrupted or not', () => {
    const prng = new Prng(2024);
    const values = ['0', '1', '2', 'a'];
    const corrupt = (op: Operation): Operation => {
      const out = op.output;
      if (out === null) return op;
      switch (out.kind) {
        case 'get':
          return { ...op, output: prng.chance(0.3) ? { kind: 'get', found: false } : { kind: 'get', found: true, value: prng.pick(values) } };
        case 'del':
          return { ...op, output: { kind: 'del', deleted: !out.deleted } };
        case 'incr':
          return { ...op, output: { kind: 'incr', value: prng.range(-2, 6) } };
        case 'cas':
          return { ...op, output: prng.chance(0.5) ? { kind: 'cas', ok: !out.ok } : { kind: 'cas', ok: false, current: prng.pick(values) } };
        case 'put':
          return op;
      }
    };
    let linearizable = 0;
    let violating = 0;
    for (let i = 0; i < 1500; i++) {
      const kinds = ALL.filter(() => prng.chance(0.6));
      let history = simulateHistory({
        seed: prng.nextUint32(),
        clients: prng.range(2, 6),
        opsPerClient: prng.range(1, 4),
        keys: 1,
        kinds: kinds.length > 0 ? kinds : ['put', 'get'],
        pUnknown: prng.next() * 0.4,
        valuePool: prng.range(2, 4),
        incrDeltas: [-1, 0, 1, 2],
        maxDuration: 10,
      });
      // A random sub-history of at most 8 operations keeps brute force cheap.
      history = history
        .map((op) => ({ op, r: prng.next() }))
        .sort((a, b) => a.r - b.r)
        .slice(0, prng.range(4, 8))
        .map(({ op }) => op);
      if (prng.chance(0.5)) {
        history = history.map((op) => ({ ...op, call: Math.round(op.call), ret: op.ret === null ? null : Math.max(Math.round(op.call), Math.round(op.ret)) }));
      }
      for (let c = prng.int(3); c > 0; c--) {
        const j = prng.int(history.length);
        history[j] = corrupt(history[j] as Operation);
      }
      const expected = bruteForceLinearizable(history);
      const search = searchLinearization(history, { budget: 1_000_000 });
      const context = JSON.stringify(history, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      expect(search.verdict, context).toBe(expected ? 'linearizable' : 'violation');
      if (search.verdict === 'linearizable') expect(witnessProblem(history, search.order), context).toBeNull();
      if (expected) linearizable++;
      else violating++;
    }
    // Both outcomes are well represented.
    expect(linearizable).toBeGreaterThan(300);
    expect(violating).toBeGreaterThan(300);
  });
});
