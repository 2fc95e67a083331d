// Test oracles, independent of the search: a brute-force linearizability check for
// tiny histories, and a witness checker for the search's answers. Both use the plain
// reference model (kv-model.ts), not the compiled one the search runs.

import { type Operation, isUnknownOutcome } from '../../../src/harness/checker/history.js';
import { type KeyState, applyKv, outputMatches } from '../../../src/harness/checker/kv-model.js';

/** Tries every order (exponential: keep histories to a handful of operations per key). */
export function bruteForceLinearizable(history: readonly Operation[]): boolean {
  const keys = new Set(history.map((op) => op.key));
  for (const key of keys) {
    if (!bruteForceKey(history.filter((op) => op.key === key))) return false;
  }
  return true;
}

function bruteForceKey(ops: readonly Operation[]): boolean {
  const placed = new Array<boolean>(ops.length).fill(false);
  const search = (state: KeyState): boolean => {
    let deadline = Number.POSITIVE_INFINITY;
    let left = 0;
    ops.forEach((op, i) => {
      if (placed[i] || isUnknownOutcome(op)) return;
      left++;
      deadline = Math.min(deadline, op.ret ?? Number.POSITIVE_INFINITY);
    });
    if (left === 0) return true; // unknown-outcome operations may never take effect
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation;
      if (placed[i] || op.call > deadline) continue;
      const { next, output } = applyKv(state, op.input);
      if (!isUnknownOutcome(op) && op.output !== null && !outputMatches(output, op.output)) continue;
      placed[i] = true;
      const found = search(next);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(null);
}

/**
 * Why `order` (indexes into ops, one key) is not a linearization, or null if it is:
 * outputs must match the model, real-time order must hold, and every completed
 * operation must appear exactly once.
 */
export function witnessProblem(ops: readonly Operation[], order: readonly number[]): string | null {
  const seen = new Set<number>();
  let state: KeyState = null;
  for (let pos = 0; pos < order.length; pos++) {
    const i = order[pos] as number;
    const op = ops[i];
    if (op === undefined || seen.has(i)) return `bad index ${i} at ${pos}`;
    seen.add(i);
    const { next, output } = applyKv(state, op.input);
    if (!isUnknownOutcome(op) && op.output !== null && !outputMatches(output, op.output)) {
      return `#${op.id} at ${pos}: model output differs`;
    }
    state = next;
    for (let later = pos + 1; later < order.length; later++) {
      const other = ops[order[later] as number] as Operation;
      if (other.ret !== null && other.output !== null && other.ret < op.call) {
        return `#${other.id} returned before #${op.id} was called but comes after it`;
      }
    }
  }
  for (let i = 0; i < ops.length; i++) {
    if (!seen.has(i) && !isUnknownOutcome(ops[i] as Operation)) return `completed #${(ops[i] as Operation).id} missing`;
  }
  return null;
}
