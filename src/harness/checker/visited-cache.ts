// The memo of the search: the nodes (linearized set, state) already explored.
// Reaching the same node again by another path cannot lead anywhere new, because
// what can still happen depends only on which operations remain and on the state.
//
// A node is (linearized set, state, restriction, absorbFrom); see wgl-search.ts for
// the last two. It also prunes by dominance: a node that used more unknown-outcome
// operations than a finished (failed) node with the same completed operations and
// state, with no more options otherwise, fails too. Only finished nodes may dominate:
// a node still on the search stack has not failed yet.

import type { LinearizedSet, SetSnapshot } from './linearized-set.js';

export interface CacheNode {
  readonly state: number;
  /** What may follow this node: the lower, the more (see wgl-search.ts, reductions 3 and 8). */
  readonly restriction: number;
  /** Completed puts invoked up to this time may be absorbed (see wgl-search.ts, reduction 7). */
  readonly absorbFrom: number;
  /** More hash bits than the bucket uses, checked before the costly comparison. */
  readonly check: number;
  readonly set: SetSnapshot;
  readonly next: CacheNode | undefined;
  /** Explored completely without success. */
  done: boolean;
}

const STATE_MIX_A = 0x9e3779b1;
const STATE_MIX_B = 0x85ebca77;

export class VisitedCache {
  // Buckets keyed by a 30-bit number so V8 keeps the keys as small integers.
  private readonly buckets = new Map<number, CacheNode>();
  size = 0;

  /** Records the node and returns it; undefined when it was seen before or is dominated. */
  visit(set: LinearizedSet, state: number, restriction: number, absorbFrom: number): CacheNode | undefined {
    const bucket = (set.hashA ^ Math.imul(state + 1, STATE_MIX_A)) & 0x3fffffff;
    const check = (set.hashB ^ Math.imul(state + 1, STATE_MIX_B)) | 0;
    const head = this.buckets.get(bucket);
    for (let node = head; node !== undefined; node = node.next) {
      if (node.check !== check || node.state !== state || !node.done) continue;
      // At least the same options: no more restricted, absorbs at least as much, used fewer unknown-outcome operations.
      if (node.restriction > restriction) continue;
      if (node.absorbFrom < absorbFrom) continue;
      if (set.sameCompleted(node.set) && set.pendingIncludes(node.set, true)) return undefined;
    }
    const node: CacheNode = { state, restriction, absorbFrom, check, set: set.snapshot(), next: head, done: false };
    this.buckets.set(bucket, node);
    this.size++;
    return node;
  }
}
