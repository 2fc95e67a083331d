// A quick static test before the search: a completed operation that no state the
// key could ever hold would satisfy (a read of a value nobody wrote, say) makes the
// history non-linearizable outright. Without it, the search would have to rule out
// every way of placing every unknown-outcome write first, which can take long.

import type { Operation } from './history.js';
import { ABSENT, type StateTable } from './compiled-model.js';
import { isUnknownOutcome } from './history.js';

/** The states some operation could leave (plus the initial absent state). */
interface Producible {
  readonly states: Set<number>;
  readonly integers: Set<bigint>;
  /** Some unknown-outcome incr could leave any integer. */
  readonly anyInteger: boolean;
  readonly anyNonInteger: boolean;
  readonly anyPresent: boolean;
}

function producible(ops: readonly Operation[], table: StateTable): Producible {
  const states = new Set<number>([ABSENT]);
  let anyInteger = false;
  for (const op of ops) {
    const input = op.input;
    if (input.kind === 'put') states.add(table.intern(input.value));
    else if (input.kind === 'cas') states.add(table.intern(input.next));
    else if (input.kind === 'incr') {
      const out = isUnknownOutcome(op) ? null : op.output;
      if (out === null || out.kind !== 'incr') anyInteger = true;
      else if (out.error === undefined) states.add(table.intern(BigInt(out.value).toString()));
    }
  }
  const integers = new Set<bigint>();
  let anyNonInteger = false;
  for (const s of states) {
    const n = table.integer(s);
    if (n === null) anyNonInteger = true;
    else if (s !== ABSENT) integers.add(n);
  }
  return { states, integers, anyInteger, anyNonInteger, anyPresent: states.size > 1 || anyInteger };
}

/** Whether some producible state could satisfy op as recorded (op must be completed). */
function satisfiable(op: Operation, p: Producible, table: StateTable): boolean {
  const out = op.output;
  const input = op.input;
  const canHold = (value: string | null): boolean => {
    if (value === null) return true;
    if (p.states.has(table.intern(value))) return true;
    const n = table.integer(table.intern(value));
    return p.anyInteger && n !== null && n.toString() === value;
  };
  if (out === null) return true;
  switch (out.kind) {
    case 'get':
      return canHold(out.found ? out.value : null);
    case 'del':
      return !out.deleted || p.anyPresent;
    case 'incr': {
      if (out.error !== undefined) return p.anyNonInteger;
      if (input.kind !== 'incr') return true;
      const before = BigInt(out.value) - BigInt(input.delta);
      return before === 0n || p.anyInteger || p.integers.has(before);
    }
    case 'cas':
      if (input.kind !== 'cas') return true;
      if (out.ok) return canHold(input.expected);
      if (out.current === undefined) return p.states.size > 1 || p.anyInteger || !p.states.has(table.intern(input.expected));
      return out.current !== input.expected && canHold(out.current);
    case 'put':
      return true;
  }
}

/** The first completed operation (by number) that nothing could satisfy, or -1. */
export function findUnsatisfiable(ops: readonly Operation[], completed: number, table: StateTable): number {
  const p = producible(ops, table);
  for (let b = 0; b < completed; b++) if (!satisfiable(ops[b], p, table)) return b;
  return -1;
}
