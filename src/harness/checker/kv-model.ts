// The sequential specification of one key: what each operation returns and leaves
// behind when it runs alone. The search uses a compiled, faster form of the same rules
// (compiled-model.ts); this plain form explains violations and serves as the tests' oracle.

import type { KvInput, KvOutput } from './history.js';

/** The value of one key: a string, or null when the key is absent. */
export type KeyState = string | null;

const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * The integer a stored value stands for, or null when incr must refuse it.
 * Must agree with the state machine's rule: an optional minus sign and decimal digits.
 */
export function parseKvInteger(value: string): bigint | null {
  return DECIMAL_INTEGER.test(value) ? BigInt(value) : null;
}

export interface Transition {
  readonly next: KeyState;
  readonly output: KvOutput;
}

/** Runs one operation on a key in the given state. */
export function applyKv(state: KeyState, input: KvInput): Transition {
  switch (input.kind) {
    case 'put':
      return { next: input.value, output: { kind: 'put' } };
    case 'get':
      return {
        next: state,
        output: state === null ? { kind: 'get', found: false } : { kind: 'get', found: true, value: state },
      };
    case 'del':
      return { next: null, output: { kind: 'del', deleted: state !== null } };
    case 'incr': {
      const current = state === null ? 0n : parseKvInteger(state);
      if (current === null) return { next: state, output: { kind: 'incr', error: 'not_integer' } };
      const sum = current + BigInt(input.delta);
      return { next: sum.toString(), output: { kind: 'incr', value: sum } };
    }
    case 'cas':
      if (state === input.expected) return { next: input.next, output: { kind: 'cas', ok: true } };
      return { next: state, output: { kind: 'cas', ok: false, current: state } };
  }
}

/**
 * Whether what a client observed agrees with what the model says the operation returns.
 * A failed cas that did not report the current value agrees with any failure.
 */
export function outputMatches(expected: KvOutput, observed: KvOutput): boolean {
  switch (expected.kind) {
    case 'put':
      return observed.kind === 'put';
    case 'get':
      return (
        observed.kind === 'get' &&
        observed.found === expected.found &&
        (!expected.found || observed.value === expected.value)
      );
    case 'del':
      return observed.kind === 'del' && observed.deleted === expected.deleted;
    case 'incr':
      if (observed.kind !== 'incr') return false;
      if (expected.error !== undefined || observed.error !== undefined) return expected.error === observed.error;
      return BigInt(expected.value) === BigInt(observed.value);
    case 'cas':
      if (observed.kind !== 'cas' || observed.ok !== expected.ok) return false;
      return observed.ok || observed.current === undefined || observed.current === expected.current;
  }
}
