// The key-value model compiled for the search: states are small integers (interned
// strings), and each operation becomes a function from state to next state that also
// checks the observed output. The search runs millions of steps, so a step must not
// build strings or compare outputs field by field. Same rules as kv-model.ts.

import { type Operation, isUnknownOutcome } from './history.js';
import { parseKvInteger } from './kv-model.js';

/** The state id of an absent key. */
export const ABSENT = 0;
/** What a step returns when the operation cannot run in this state with the observed output. */
export const FAIL = -1;

/** next state id, or FAIL. */
export type Step = (state: number) => number;

/** Interns key values, so a state is a number and equal states have equal ids. */
export class StateTable {
  private readonly ids = new Map<string, number>();
  private readonly values: (string | null)[] = [null];
  /** Parsed integers by state id; undefined = not parsed yet, null = not an integer. */
  private readonly integers: (bigint | null | undefined)[] = [0n];

  intern(value: string | null): number {
    if (value === null) return ABSENT;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(value, id);
      this.values.push(value);
      this.integers.push(undefined);
    }
    return id;
  }

  value(id: number): string | null {
    const value = this.values[id];
    if (value === undefined) throw new RangeError(`unknown state id ${id}`);
    return value;
  }

  /** The integer incr sees in this state (absent counts as 0), or null when incr must refuse. */
  integer(id: number): bigint | null {
    let parsed = this.integers[id];
    if (parsed === undefined) {
      parsed = parseKvInteger(this.value(id) ?? '0');
      this.integers[id] = parsed;
    }
    return parsed;
  }
}

/**
 * The step function of one operation. With an unknown outcome the output is
 * unconstrained, so the step never fails: the operation simply takes effect.
 */
export function compileStep(op: Operation, table: StateTable): Step {
  const input = op.input;
  const output = isUnknownOutcome(op) ? null : op.output;
  switch (input.kind) {
    case 'put': {
      const next = table.intern(input.value);
      return () => next;
    }
    case 'get': {
      if (output === null || output.kind !== 'get') return (state) => state;
      const seen = output.found ? table.intern(output.value) : ABSENT;
      return (state) => (state === seen ? state : FAIL);
    }
    case 'del': {
      if (output === null || output.kind !== 'del') return () => ABSENT;
      const deleted = output.deleted;
      return (state) => ((state !== ABSENT) === deleted ? ABSENT : FAIL);
    }
    case 'incr': {
      const delta = BigInt(input.delta);
      if (output === null || output.kind !== 'incr') {
        return (state) => {
          const current = table.integer(state);
          return current === null ? state : table.intern((current + delta).toString());
        };
      }
      if (output.error !== undefined) return (state) => (table.integer(state) === null ? state : FAIL);
      const result = BigInt(output.value);
      const next = table.intern(result.toString());
      return (state) => {
        const current = table.integer(state);
        return current !== null && current + delta === result ? next : FAIL;
      };
    }
    case 'cas': {
      const expected = table.intern(input.expected);
      const next = table.intern(input.next);
      if (output === null || output.kind !== 'cas') return (state) => (state === expected ? next : state);
      if (output.ok) return (state) => (state === expected ? next : FAIL);
      if (output.current === undefined) return (state) => (state !== expected ? state : FAIL);
      const current = table.intern(output.current);
      // A server that reports current === expected on a failed cas contradicts itself: never matches.
      return (state) => (state !== expected && state === current ? state : FAIL);
    }
  }
}
