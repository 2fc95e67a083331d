import { describe, expect, it } from 'vitest';
import { LinearizedSet } from '../../../src/harness/checker/linearized-set.js';
import { VisitedCache } from '../../../src/harness/checker/visited-cache.js';
import { Prng } from '../../../src/harness/checker/prng.js';

describe('LinearizedSet', () => {
  it('tracks membership, hashes and exact snapshots through random adds and removes', () => {
    const prng = new Prng(11);
    const completed = 150;
    const pending = 40;
    const set = new LinearizedSet(completed, pending);
    const members = new Set<number>();
    const seen = new Map<string, { hashA: number; hashB: number; snapshot: ReturnType<LinearizedSet['snapshot']> }>();
    const keys: string[] = [];
    for (let i = 0; i < 5000; i++) {
      // Bias towards a growing prefix, as along a search path.
      const op = prng.chance(0.2) ? completed + prng.int(pending) : Math.min(completed - 1, prng.int(Math.min(completed, 20 + (i >> 4))));
      if (members.has(op)) {
        set.remove(op);
        members.delete(op);
      } else {
        set.add(op);
        members.add(op);
      }
      for (const probe of [op, prng.int(completed + pending)]) expect(set.has(probe)).toBe(members.has(probe));
      const key = [...members].sort((a, b) => a - b).join(',');
      const completedKey = [...members].filter((m) => m < completed).sort((a, b) => a - b).join(',');
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        expect(set.hashA).toBe(earlier.hashA);
        expect(set.hashB).toBe(earlier.hashB);
        expect(set.sameCompleted(earlier.snapshot)).toBe(true);
        expect(set.pendingIncludes(earlier.snapshot, false)).toBe(true);
      }
      for (let probe = 0; probe < 5 && keys.length > 0; probe++) {
        const otherKey = prng.pick(keys);
        const other = seen.get(otherKey);
        if (other === undefined) continue;
        const otherCompleted = otherKey.split(',').filter((m) => m !== '' && Number(m) < completed).join(',');
        expect(set.sameCompleted(other.snapshot)).toBe(otherCompleted === completedKey);
      }
      if (!seen.has(key)) keys.push(key);
      seen.set(key, { hashA: set.hashA, hashB: set.hashB, snapshot: set.snapshot() });
    }
  });

  it('compares unknown-outcome members by inclusion', () => {
    const set = new LinearizedSet(4, 40);
    set.add(0);
    set.add(5);
    const small = set.snapshot();
    set.add(40);
    expect(set.pendingIncludes(small, true)).toBe(true);
    expect(set.pendingIncludes(small, false)).toBe(false);
    const large = set.snapshot();
    set.remove(5);
    expect(set.pendingIncludes(large, true)).toBe(false);
    set.remove(40);
    expect(set.pendingIncludes(large, true)).toBe(false);
    expect(set.pendingIncludes(set.snapshot(), true)).toBe(true);
  });
});

const UNRESTRICTED = -2;
const RESTRICTED = -1;

describe('VisitedCache', () => {
  it('prunes a node already explored, and nodes it dominates', () => {
    const set = new LinearizedSet(8, 8);
    const cache = new VisitedCache();
    set.add(0);
    const node = cache.visit(set, 3, UNRESTRICTED, 10);
    expect(node).toBeDefined();
    if (node === undefined) return;
    // Still being explored: it cannot dominate yet (the search never revisits it exactly).
    expect(cache.visit(set, 3, RESTRICTED, 10)).toBeDefined();
    node.done = true;
    expect(cache.visit(set, 3, UNRESTRICTED, 10)).toBeUndefined();
    expect(cache.visit(set, 3, RESTRICTED, 10)).toBeUndefined(); // fewer options after it
    expect(cache.visit(set, 3, 5, 10)).toBeUndefined(); // only incrs numbered above 5 may follow
    expect(cache.visit(set, 3, UNRESTRICTED, 9)).toBeUndefined(); // fewer absorptions possible
    expect(cache.visit(set, 4, UNRESTRICTED, 10)).toBeDefined(); // another state
    expect(cache.visit(set, 3, UNRESTRICTED, 11)).toBeDefined(); // more absorptions possible
    set.add(9); // one more unknown-outcome operation used
    expect(cache.visit(set, 3, UNRESTRICTED, 10)).toBeUndefined();
    set.add(1); // another completed set
    expect(cache.visit(set, 3, UNRESTRICTED, 10)).toBeDefined();
  });
});
