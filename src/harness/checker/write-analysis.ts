// Static facts about writes that let the search skip most of the ways to place them.
// An unknown-outcome operation may take effect at any moment after its call, and a
// put concurrent with many others may take effect in many orders; without these the
// search would try each of them at every node.

import type { KvInput, Operation } from './history.js';
import { ABSENT, FAIL, type StateTable, type Step } from './compiled-model.js';
import { BLIND, NONE } from './search-traits.js';

/** Beyond this many possible followers the search just tries the operation. */
const MAX_TRACKED_FOLLOWERS = 16;

export interface WriteAnalysis {
  /**
   * Per operation number: the unknown-outcome operation with the identical input
   * invoked just before it, or NONE. Identical unknown operations are
   * interchangeable, so the search uses them in invocation order only.
   */
  readonly twinBefore: Int32Array;
  /**
   * Per blind write and per unknown-outcome operation that sets a fixed state (put,
   * cas, del): the operations that could come right after it and look at that state
   * (non-blind ones that accept it); null when there are too many to be worth
   * tracking, or the state is not fixed.
   */
  readonly followers: readonly (Int32Array | null)[];
  /** 1 for unknown-outcome operations that can never help: nothing could follow them, or a read. */
  readonly useless: Uint8Array;
}

/**
 * ops: by operation number; numbers below `completed` are completed operations, the
 * rest unknown-outcome ones in call order. callTime / retTime per operation number
 * (retTime is Infinity for unknown outcomes).
 */
export function analyzeWrites(
  ops: readonly Operation[],
  completed: number,
  steps: readonly Step[],
  traits: Uint8Array,
  callTime: (b: number) => number,
  retTime: (b: number) => number,
  table: StateTable,
): WriteAnalysis {
  const size = ops.length;
  const twinBefore = new Int32Array(size).fill(NONE);
  const lastByInput = new Map<string, number>();
  // Unknown-outcome operations are numbered in call order (search-layout.ts).
  for (let b = completed; b < size; b++) {
    const key = inputKey(ops[b].input);
    twinBefore[b] = lastByInput.get(key) ?? NONE;
    lastByInput.set(key, b);
  }

  const followers: (Int32Array | null)[] = new Array<Int32Array | null>(size).fill(null);
  const useless = new Uint8Array(size);
  const candidates = indexObservers(ops, completed, traits, table);
  for (let p = 0; p < size; p++) {
    const unknownOutcome = p >= completed;
    if (!unknownOutcome && (traits[p] & BLIND) === 0) continue;
    const target = fixedTarget(ops[p].input, table);
    if (target === undefined) {
      if (ops[p].input.kind === 'get') useless[p] = 1; // a read with no answer tells nothing
      continue;
    }
    const found: number[] = [];
    for (const list of candidates(target)) {
      for (let i = 0; i < list.length && found.length <= MAX_TRACKED_FOLLOWERS; i++) {
        const o = list[i];
        if (o === p || retTime(o) < callTime(p)) continue;
        const after = steps[o](target);
        if (after === FAIL || (o >= completed && after === target)) continue;
        found.push(o);
      }
    }
    if (found.length === 0 && unknownOutcome) useless[p] = 1;
    else if (found.length <= MAX_TRACKED_FOLLOWERS) followers[p] = Int32Array.from(found);
  }
  return { twinBefore, followers, useless };
}

/**
 * Indexes the operations that look at the state (everything but blind writes) by
 * the states they may accept, so finding who could follow a write does not scan the
 * whole history. Returns, for a state, lists that contain every operation that may
 * accept it (and some that do not: callers check with the step functions).
 */
function indexObservers(
  ops: readonly Operation[],
  completed: number,
  traits: Uint8Array,
  table: StateTable,
): (state: number) => number[][] {
  const byState = new Map<number, number[]>();
  const byInteger = new Map<bigint, number[]>();
  const anyState: number[] = [];
  const push = <K>(map: Map<K, number[]>, key: K, o: number): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [o]);
    else list.push(o);
  };
  for (let o = 0; o < ops.length; o++) {
    if ((traits[o] & BLIND) !== 0) continue;
    const { input, output } = ops[o];
    const out = o < completed ? output : null;
    if (input.kind === 'get' && out?.kind === 'get') {
      push(byState, out.found ? table.intern(out.value) : ABSENT, o);
    } else if (input.kind === 'del' && out?.kind === 'del' && !out.deleted) {
      push(byState, ABSENT, o);
    } else if (input.kind === 'cas' && (out === null || (out.kind === 'cas' && out.ok))) {
      push(byState, table.intern(input.expected), o);
    } else if (input.kind === 'cas' && out?.kind === 'cas' && out.current !== undefined) {
      push(byState, table.intern(out.current), o);
    } else if (input.kind === 'incr' && out?.kind === 'incr' && out.error === undefined) {
      push(byInteger, BigInt(out.value) - BigInt(input.delta), o);
    } else if (input.kind !== 'get') {
      anyState.push(o); // a del that deleted, a failed cas, a refused or unknown incr
    }
  }
  const none: number[] = [];
  return (state) => {
    const integer = table.integer(state);
    return [byState.get(state) ?? none, integer === null ? none : (byInteger.get(integer) ?? none), anyState];
  };
}

/** The state an operation leaves whenever it does anything; undefined if that depends on the state. */
function fixedTarget(input: KvInput, table: StateTable): number | undefined {
  switch (input.kind) {
    case 'put':
      return table.intern(input.value);
    case 'cas':
      return table.intern(input.next);
    case 'del':
      return ABSENT;
    case 'incr':
    case 'get':
      return undefined;
  }
}

function inputKey(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return JSON.stringify(['put', input.value]);
    case 'get':
    case 'del':
      return input.kind;
    case 'incr':
      return JSON.stringify(['incr', String(input.delta)]);
    case 'cas':
      return JSON.stringify(['cas', input.expected, input.next]);
  }
}
