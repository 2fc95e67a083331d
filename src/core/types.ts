// The vocabulary of the pure Raft core. Nothing here does I/O.

export type NodeId = string;

/** What a voter is: it follows, asks the pre-vote, awaits its take-over's fence, or leads. */
export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

export const enum EntryType {
  /** An opaque state-machine command. */
  Normal = 0,
  /** The first entry of every leader's term; committing it commits the term. */
  Noop = 1,
}

/**
 * One log entry. Indexes and terms start at 1; 0 means "none". `chain` is its hash-chain
 * value (chain.ts): every entry the log holds or hands out carries it; an entry built
 * elsewhere (a test) may leave it out, and the log computes it. One that carries it is
 * checked against it.
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
  readonly chain?: Uint8Array;
}

/** An entry as the log holds it: with its chain value. */
export interface ChainedEntry extends Entry {
  readonly chain: Uint8Array;
}

/**
 * What must survive a restart for the node to restart quickly (not for safety: see
 * notes/safety.md). There is no vote: terms are won by fencing ZooKeeper's epoch, not by
 * votes, so nothing ever reads one.
 */
export interface HardState {
  readonly term: number;
  /** Every entry up to here is known to be committed (held by ZooKeeper). */
  readonly commit: number;
}

export const emptyHardState: HardState = { term: 0, commit: 0 };

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.commit === 0;
}

/**
 * The point a snapshot covers: every entry up to index (of term) is inside it, and `chain`
 * is the chain value of the entry at index (the genesis value at index 0).
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly chain: Uint8Array;
}
