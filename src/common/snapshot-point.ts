// The point of the log a snapshot covers. Shared by the local snapshot files
// (src/storage), the snapshots in ZooKeeper (src/coordination) and the node driver, so it
// lives here, below all of them.

/** Bytes of a hash-chain value. */
export const CHAIN_BYTES = 16;

/**
 * The point a snapshot covers: every entry up to index (of term) is inside it.
 * chain: the hash-chain value of the entry at index (16 bytes; zeros until the
 * hash-chained log of issue 11 lands). Carried through faithfully, never recomputed.
 */
export interface SnapshotPoint {
  readonly index: number;
  readonly term: number;
  readonly chain: Uint8Array;
}

/** The chain value of a log without a hash chain. */
export function zeroChain(): Uint8Array {
  return new Uint8Array(CHAIN_BYTES);
}

/** Why `point` cannot be a snapshot's point, or null if it can. */
export function snapshotPointProblem(point: SnapshotPoint): string | null {
  if (!Number.isSafeInteger(point.index) || point.index < 1) return `snapshot index ${point.index} is not a positive safe integer`;
  if (!Number.isSafeInteger(point.term) || point.term < 1) return `snapshot term ${point.term} is not a positive safe integer`;
  if (!(point.chain instanceof Uint8Array) || point.chain.length !== CHAIN_BYTES) {
    return `snapshot chain must be ${CHAIN_BYTES} bytes`;
  }
  return null;
}

export function samePoint(a: SnapshotPoint, b: SnapshotPoint): boolean {
  if (a.index !== b.index || a.term !== b.term || a.chain.length !== b.chain.length) return false;
  for (let i = 0; i < a.chain.length; i++) if (a.chain[i] !== b.chain[i]) return false;
  return true;
}

export function describePoint(point: SnapshotPoint): string {
  return `index ${point.index} term ${point.term}`;
}
