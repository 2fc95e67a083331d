// Splits a history by key. Keys are independent in the model, and linearizability is
// compositional (a history is linearizable iff each key's sub-history is), so each
// key is checked on its own: many small searches instead of one hopeless big one.

import { type Operation, isUnknownOutcome } from './history.js';

/**
 * Each key's operations in invocation order, keys in sorted order (so results are
 * deterministic). A get with an unknown outcome constrains nothing and is dropped.
 */
export function partitionByKey(history: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (op.input.kind === 'get' && isUnknownOutcome(op)) continue;
    let ops = byKey.get(op.key);
    if (ops === undefined) {
      ops = [];
      byKey.set(op.key, ops);
    }
    ops.push(op);
  }
  const keys = [...byKey.keys()].sort();
  const sorted = new Map<string, Operation[]>();
  for (const key of keys) {
    const ops = byKey.get(key) ?? [];
    sorted.set(key, ops.sort(byCallTime));
  }
  return sorted;
}

export function byCallTime(a: Operation, b: Operation): number {
  return a.call - b.call || a.id - b.id;
}
