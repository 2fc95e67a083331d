// The Wing & Gong / Lowe search for a linearization of one key's history, with
// Porcupine's memoization and reductions that keep chaos histories tractable.
//
// Calls and returns lie in time-ordered linked lists (search-layout.ts). Every call
// up to the first return is a candidate to take effect next; the first return is
// the deadline, and its operation the deadline operation: it must take effect
// before anything invoked later. Placing an operation unlinks its entries;
// backtracking relinks them (dancing links). A cache of the nodes
// (linearized set, state) already explored prunes paths that merely reorder earlier
// choices.
//
// Unknown-outcome operations never return: they need not be placed at all, and the
// search succeeds once every completed operation is placed. Before searching, a
// completed operation that no state the key could ever hold satisfies is a
// violation at once (unsatisfiable.ts). The reductions below each keep at least one
// linearization whenever one exists:
//  1. Forced reads. A candidate that leaves the state unchanged and whose output
//     matches now can move to now in any linearization, so it is placed without
//     branching; if that fails (or is known to fail), this node fails.
//  2. Unknown-outcome no-ops. Placing one that would not change the state is the
//     same as never placing it, so it is not tried.
//  3. Overwritten unknown operations. One immediately followed by a blind write
//     (put) could as well never have happened, so after it the next operation must
//     look at the state (the node is "restricted").
//  4. Twins. Unknown-outcome operations with identical inputs are interchangeable,
//     so they are used in invocation order.
//  5. Followers. A write is tried only when some operation that accepts the state
//     it leaves could come right after it (write-analysis.ts); an unknown-outcome
//     one that nothing could ever follow is dropped. A completed put with no
//     follower in sight is still placed when it is the deadline operation.
//  6. Absorption. A put that nobody reads only needs some moment to take effect:
//     immediately before an absorber (another blind write, or a del that reported
//     deleting) placed while the put was already invoked. So when the deadline
//     operation is a put, it may be "absorbed": placed without changing the state.
//     absorbFrom is the deadline at which the latest absorber on the path was placed;
//     puts invoked by then can be absorbed. With 5, this spares the search the
//     orders of overwritten puts.
//  7. Dominance. A node that used more unknown-outcome operations than a failed
//     node with the same completed operations and state, and has no more options
//     otherwise, fails too (visited-cache.ts).
//  8. Commuting incrs. Consecutive unknown-outcome incrs give the same state in any
//     order, so a run of them is taken in ascending number order.
// Candidates are tried in phases: forced reads, absorbing the deadline operation,
// other completed operations, unknown-outcome ones (timed-out writes are only
// pulled in when nothing else fits). The cache key includes the restriction
// (UNRESTRICTED; RESTRICTED after an unknown-outcome operation; after an
// unknown-outcome incr, its number: only higher-numbered incrs may follow it) and
// absorbFrom, since both limit what can follow.
//
// The search counts steps (one per candidate examined, phase change or backtrack)
// and gives up with 'unknown' when the budget runs out; it never reads a clock.

import type { Operation } from './history.js';
import { ABSENT, FAIL } from './compiled-model.js';
import { layOut, relink, unlink } from './search-layout.js';
import { ABSORBER, BLIND, COMMUTES, NONE } from './search-traits.js';
import { LinearizedSet } from './linearized-set.js';
import { type CacheNode, VisitedCache } from './visited-cache.js';

export interface SearchOptions {
  /** The most steps to take before answering 'unknown'. */
  readonly budget: number;
  /** Remember the longest linearizable prefix found (for explanations; costs a copy per new record). */
  readonly trackLongest?: boolean;
}

export type SearchResult =
  | {
      readonly verdict: 'linearizable';
      readonly steps: number;
      /** A witness: indexes into the input, in linearization order (placed unknown-outcome operations included). */
      readonly order: readonly number[];
    }
  | {
      readonly verdict: 'violation';
      readonly steps: number;
      /** With trackLongest: the linearizable prefix that placed the most completed operations. */
      readonly longest: readonly number[] | null;
    }
  | { readonly verdict: 'unknown'; readonly steps: number };

const PHASE_READS = 0;
const PHASE_ABSORB = 1;
const PHASE_COMPLETED = 2;
const PHASE_UNKNOWN = 3;

const FRAME_FORCED = 2;
const FRAME_ABSORBED = 4;

/** Restriction levels; a number >= 0 is the last incr placed (reduction 8). Lower allows more. */
const UNRESTRICTED = -2;
const RESTRICTED = -1;

const PLACED = 1;
const NOT_HERE = 0;
const KNOWN_TO_FAIL = -1;

/** Searches for a linearization of ops, which should all concern one key. */
export function searchLinearization(ops: readonly Operation[], options: SearchOptions): SearchResult {
  const layout = layOut(ops);
  const { completed, size, indexOf, steps, traits, time, next, prev } = layout;
  const { returnsHead, readsHead, writesHead, pendingHead } = layout;
  const { twinBefore, followers } = layout.writes;
  if (completed === 0) return { verdict: 'linearizable', steps: 0, order: [] };
  if (layout.unsatisfiable !== NONE) return { verdict: 'violation', steps: 1, longest: options.trackLongest === true ? [] : null };

  const set = new LinearizedSet(completed, size - completed);
  const cache = new VisitedCache();
  // One frame per placed operation: what it was, the node it was placed from, and the node it led to.
  const stackOp = new Int32Array(size);
  const stackState = new Int32Array(size);
  const stackFlags = new Uint8Array(size);
  const stackRestriction = new Int32Array(size);
  const stackAbsorbFrom = new Float64Array(size);
  const stackNode: (CacheNode | undefined)[] = new Array<CacheNode | undefined>(size);
  let depth = 0;

  // The current node.
  let state = ABSENT;
  let restriction = UNRESTRICTED;
  let absorbFrom = Number.NEGATIVE_INFINITY;
  let remaining = completed;
  let pendingLeft = layout.pendingListed;
  let deadline = 0;
  let deadlineOp = NONE;
  // Where the walk over the current node's candidates is.
  let phase = PHASE_READS;
  let entry = NONE;

  let used = 0;
  let longestOps = new Int32Array(0);
  let longestFlags = new Uint8Array(0);
  let longestPlaced = -1;
  const track = options.trackLongest === true;

  /** Reads the current node's deadline off the returns list. */
  const findDeadline = (): void => {
    const first = next[returnsHead];
    if (first === NONE) return; // everything completed is placed: the search is over
    deadline = time[first];
    deadlineOp = first >>> 1;
  };

  /**
   * Reduction 5: could something that accepts w's result come right after w now?
   * A del that reports deleting does not count while the key is present: it would
   * succeed without w, so w before it is as good as absorbed (reduction 6).
   */
  const followable = (w: number): boolean => {
    const list = followers[w];
    if (list === null) return true;
    const skipAbsorbers = state !== ABSENT;
    for (let i = 0; i < list.length; i++) {
      const o = list[i];
      if (set.has(o) || time[2 * o] > deadline) continue;
      if (skipAbsorbers && (traits[o] & ABSORBER) !== 0) continue;
      return true;
    }
    return false;
  };

  const push = (b: number, after: number, node: CacheNode, flags: number): void => {
    stackOp[depth] = b;
    stackState[depth] = state;
    stackFlags[depth] = flags;
    stackRestriction[depth] = restriction;
    stackAbsorbFrom[depth] = absorbFrom;
    stackNode[depth] = node;
    depth++;
    state = after;
    unlink(2 * b, next, prev);
    if (b >= completed) {
      pendingLeft--;
    } else {
      unlink(2 * b + 1, next, prev);
      remaining--;
    }
    if (track && completed - remaining > longestPlaced) {
      // Raw copies (cheap); turned into a witness only at the end.
      longestPlaced = completed - remaining;
      longestOps = stackOp.slice(0, depth);
      longestFlags = stackFlags.slice(0, depth);
    }
    findDeadline();
    phase = PHASE_READS;
    entry = next[readsHead];
  };

  const tryPlace = (b: number): number => {
    const unknownOutcome = b >= completed;
    const blind = (traits[b] & BLIND) !== 0;
    if (restriction !== UNRESTRICTED && blind) return NOT_HERE;
    if (restriction >= 0 && b < restriction && (traits[b] & COMMUTES) !== 0) return NOT_HERE;
    if (unknownOutcome) {
      const twin = twinBefore[b];
      if ((twin !== NONE && !set.has(twin)) || !followable(b)) return NOT_HERE;
    } else if (blind && b !== deadlineOp && !followable(b)) {
      return NOT_HERE;
    }
    const after = steps[b](state);
    if (after === FAIL || (unknownOutcome && after === state)) return NOT_HERE;
    const nextAbsorbFrom = (traits[b] & ABSORBER) !== 0 ? deadline : absorbFrom;
    set.add(b);
    const nextRestriction = !unknownOutcome ? UNRESTRICTED : (traits[b] & COMMUTES) !== 0 ? b : RESTRICTED;
    const node = cache.visit(set, after, nextRestriction, nextAbsorbFrom);
    if (node === undefined) {
      set.remove(b);
      return KNOWN_TO_FAIL;
    }
    const forced = phase === PHASE_READS ? FRAME_FORCED : 0;
    push(b, after, node, forced);
    restriction = nextRestriction;
    absorbFrom = nextAbsorbFrom;
    return PLACED;
  };

  const tryAbsorb = (w: number): void => {
    if ((traits[w] & BLIND) === 0 || time[2 * w] > absorbFrom) return;
    set.add(w);
    const node = cache.visit(set, state, restriction, absorbFrom);
    if (node === undefined) {
      set.remove(w);
      return;
    }
    push(w, state, node, FRAME_ABSORBED);
  };

  findDeadline();
  entry = next[readsHead];
  while (remaining > 0) {
    if (used >= options.budget) return { verdict: 'unknown', steps: used };
    used++;
    let backtrack = false;
    const ended = entry === NONE || time[entry] > deadline;
    if (phase === PHASE_READS) {
      if (ended) {
        phase = PHASE_ABSORB;
      } else {
        const outcome = tryPlace(entry >>> 1);
        if (outcome === KNOWN_TO_FAIL) backtrack = true; // reduction 1: the forced move is known to fail
        else if (outcome === NOT_HERE) entry = next[entry];
      }
    } else if (phase === PHASE_ABSORB) {
      phase = PHASE_COMPLETED;
      entry = next[writesHead];
      tryAbsorb(deadlineOp);
    } else if (!ended) {
      if (tryPlace(entry >>> 1) !== PLACED) entry = next[entry];
    } else if (phase === PHASE_COMPLETED && pendingLeft > 0) {
      phase = PHASE_UNKNOWN;
      entry = next[pendingHead];
    } else {
      backtrack = true;
    }
    if (!backtrack) continue;

    // This node has no way forward: undo placements up to the latest real choice.
    let b: number;
    let flags: number;
    do {
      if (depth === 0) {
        const longest = track ? witness(longestOps, longestFlags, longestOps.length, traits, indexOf) : null;
        return { verdict: 'violation', steps: used, longest };
      }
      depth--;
      b = stackOp[depth];
      flags = stackFlags[depth];
      const node = stackNode[depth];
      if (node !== undefined) node.done = true;
      stackNode[depth] = undefined;
      state = stackState[depth];
      restriction = stackRestriction[depth];
      absorbFrom = stackAbsorbFrom[depth];
      set.remove(b);
      if (b >= completed) {
        pendingLeft++;
      } else {
        relink(2 * b + 1, next, prev);
        remaining++;
      }
      relink(2 * b, next, prev);
    } while ((flags & FRAME_FORCED) !== 0);
    // Resume the parent's walk where b was tried.
    findDeadline();
    if ((flags & FRAME_ABSORBED) !== 0) {
      phase = PHASE_COMPLETED;
      entry = next[writesHead];
    } else {
      phase = b >= completed ? PHASE_UNKNOWN : PHASE_COMPLETED;
      entry = next[2 * b];
    }
  }
  return { verdict: 'linearizable', steps: used, order: witness(stackOp, stackFlags, depth, traits, indexOf) };
}

/**
 * The linearization a search path stands for, as indexes into the caller's array.
 * An absorbed put takes effect just before the latest absorber placed before it.
 */
function witness(
  stackOp: Int32Array,
  stackFlags: Uint8Array,
  depth: number,
  traits: Uint8Array,
  indexOf: readonly number[],
): number[] {
  const absorbedBefore = new Map<number, number[]>();
  let lastAbsorber = NONE;
  for (let i = 0; i < depth; i++) {
    if ((stackFlags[i] & FRAME_ABSORBED) !== 0) {
      const list = absorbedBefore.get(lastAbsorber) ?? [];
      list.push(stackOp[i]);
      absorbedBefore.set(lastAbsorber, list);
    } else if ((traits[stackOp[i]] & ABSORBER) !== 0) {
      lastAbsorber = i;
    }
  }
  const order: number[] = [];
  for (let i = 0; i < depth; i++) {
    if ((stackFlags[i] & FRAME_ABSORBED) !== 0) continue;
    for (const b of absorbedBefore.get(i) ?? []) order.push(indexOf[b]);
    order.push(indexOf[stackOp[i]]);
  }
  return order;
}
