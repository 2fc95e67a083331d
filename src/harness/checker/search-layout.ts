// The search's view of one key's history: operations renumbered, compiled to step
// functions, classified, and their call/return events laid out in time-ordered
// linked lists.

import { type Operation, isUnknownOutcome } from './history.js';
import { StateTable, type Step, compileStep } from './compiled-model.js';
import { ABSORBER, BLIND, COMMUTES, NONE, READ_ONLY } from './search-traits.js';
import { type WriteAnalysis, analyzeWrites } from './write-analysis.js';
import { findUnsatisfiable } from './unsatisfiable.js';

/**
 * Operations are numbered 0..completed-1 for completed ones in order of response
 * time (so ascending numbers never break real-time order), then the unknown-outcome
 * ones in order of call time. Entry 2b is operation b's call and 2b+1 its return.
 *
 * Entries live in four time-ordered linked lists, so that each phase of the search
 * walks only its own candidates: the returns of completed operations (the first one
 * is the deadline), the calls of completed read-only operations, the calls of other
 * completed operations, and the calls of unknown-outcome operations (which never
 * return; those that can never matter are left out).
 */
export interface SearchLayout {
  readonly size: number;
  readonly completed: number;
  /** Operation number -> index in the caller's array. */
  readonly indexOf: readonly number[];
  readonly steps: readonly Step[];
  /** READ_ONLY | BLIND | ABSORBER | COMMUTES bits per operation number. */
  readonly traits: Uint8Array;
  /** Per entry. */
  readonly time: Float64Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly returnsHead: number;
  readonly readsHead: number;
  readonly writesHead: number;
  readonly pendingHead: number;
  /** How many unknown-outcome operations are in the pending list. */
  readonly pendingListed: number;
  /** A completed operation no producible state satisfies (unsatisfiable.ts), or NONE. */
  readonly unsatisfiable: number;
  readonly writes: WriteAnalysis;
}

export function layOut(ops: readonly Operation[]): SearchLayout {
  const completedIdx: number[] = [];
  const pendingIdx: number[] = [];
  ops.forEach((op, i) => (isUnknownOutcome(op) ? pendingIdx : completedIdx).push(i));
  completedIdx.sort((a, b) => (opAt(ops, a).ret ?? 0) - (opAt(ops, b).ret ?? 0) || a - b);
  // Unknown-outcome ones by call time, so that twins (write-analysis.ts) and runs of
  // incrs (wgl-search.ts) are both used in ascending number order.
  pendingIdx.sort((a, b) => opAt(ops, a).call - opAt(ops, b).call || a - b);
  const indexOf = [...completedIdx, ...pendingIdx];
  const size = indexOf.length;
  const completed = completedIdx.length;

  const numbered = indexOf.map((i) => opAt(ops, i));
  const table = new StateTable();
  const steps = numbered.map((op) => compileStep(op, table));
  const traits = new Uint8Array(size);
  const time = new Float64Array(2 * size);
  for (let b = 0; b < size; b++) {
    const op = numbered[b];
    traits[b] =
      (b < completed && isReadOnly(op) ? READ_ONLY : 0) |
      (isBlind(op) ? BLIND | ABSORBER : 0) |
      (b < completed && op.output?.kind === 'del' && op.output.deleted ? ABSORBER : 0) |
      (b >= completed && op.input.kind === 'incr' ? COMMUTES : 0);
    time[2 * b] = op.call;
    time[2 * b + 1] = b < completed && op.ret !== null ? op.ret : Number.POSITIVE_INFINITY;
  }

  const writes = analyzeWrites(
    numbered,
    completed,
    steps,
    traits,
    (b) => time[2 * b],
    (b) => time[2 * b + 1],
    table,
  );

  const returnsHead = 2 * size;
  const readsHead = returnsHead + 1;
  const writesHead = returnsHead + 2;
  const pendingHead = returnsHead + 3;
  const next = new Int32Array(2 * size + 4).fill(NONE);
  const prev = new Int32Array(2 * size + 4).fill(NONE);
  const returns: number[] = [];
  const reads: number[] = [];
  const others: number[] = [];
  const pendingCalls: number[] = [];
  for (let b = 0; b < size; b++) {
    if (b >= completed) {
      if (writes.useless[b] === 0) pendingCalls.push(2 * b);
    } else {
      returns.push(2 * b + 1);
      ((traits[b] & READ_ONLY) !== 0 ? reads : others).push(2 * b);
    }
  }
  // A call is a candidate while its time is at most the first return's, so at equal
  // times operations count as concurrent: the permissive reading of a coarse clock.
  const inTimeOrder = (x: number, y: number): number => time[x] - time[y] || x - y;
  link(returns.sort(inTimeOrder), returnsHead, next, prev);
  link(reads.sort(inTimeOrder), readsHead, next, prev);
  link(others.sort(inTimeOrder), writesHead, next, prev);
  link(pendingCalls.sort(inTimeOrder), pendingHead, next, prev);
  return {
    size,
    completed,
    indexOf,
    steps,
    traits,
    time,
    next,
    prev,
    returnsHead,
    readsHead,
    writesHead,
    pendingHead,
    pendingListed: pendingCalls.length,
    unsatisfiable: findUnsatisfiable(numbered, completed, table),
    writes,
  };
}

function link(entries: readonly number[], head: number, next: Int32Array, prev: Int32Array): void {
  let last = head;
  for (const e of entries) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = NONE;
}

/** Unlinks entry e; its own links stay, so relink can undo it (in reverse order). */
export function unlink(e: number, next: Int32Array, prev: Int32Array): void {
  const p = prev[e];
  const q = next[e];
  next[p] = q;
  if (q !== NONE) prev[q] = p;
}

export function relink(e: number, next: Int32Array, prev: Int32Array): void {
  const p = prev[e];
  const q = next[e];
  next[p] = e;
  if (q !== NONE) prev[q] = e;
}

function isReadOnly(op: Operation): boolean {
  const out = op.output;
  if (out === null) return false;
  switch (out.kind) {
    case 'get':
      return true;
    case 'del':
      return !out.deleted; // succeeds only on an absent key, which it leaves absent
    case 'incr':
      return out.error !== undefined;
    case 'cas':
      return !out.ok || (op.input.kind === 'cas' && op.input.expected === op.input.next);
    case 'put':
      return false;
  }
}

function isBlind(op: Operation): boolean {
  return op.input.kind === 'put' || (op.input.kind === 'del' && isUnknownOutcome(op));
}

function opAt(ops: readonly Operation[], i: number | undefined): Operation {
  const op = i === undefined ? undefined : ops[i];
  if (op === undefined) throw new RangeError(`no operation at ${String(i)}`);
  return op;
}
