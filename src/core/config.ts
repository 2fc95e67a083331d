// The core's settings, all in ticks. The driver turns milliseconds into ticks; see
// notes/timing.md for the rule that binds the lease window to the leader's lease.
import { CHAIN_BYTES } from './chain.js';
import type { NodeId } from './types.js';

export interface CoreConfig {
  readonly id: NodeId;
  /** The chain value before the cluster's first entry (chain.ts genesisChain). */
  readonly genesis: Uint8Array;
  /** The other voter, or '' while the cluster has only this one. */
  readonly peer: NodeId;
  /** A follower that hears no leader for a random time in [min, 2*min) starts a pre-vote. */
  readonly electionTimeoutTicks: number;
  /** The leader heartbeats its follower this often. */
  readonly heartbeatTicks: number;
  /** A pre-vote without an answer for this long counts as "no objection" (the peer may be paused or dead). */
  readonly preVoteTimeoutTicks: number;
  /**
   * A follower takes over only when the ZooKeeper lease has not changed for this many
   * ticks (observed locally). Must exceed the leader's lease by the drift bound.
   */
  readonly leaseWindowTicks: number;
  /**
   * A leader whose lease lapsed keeps heartbeating its follower (and objecting to its
   * pre-votes) for this many ticks, then falls silent so the follower can take over.
   * A lapse is often one lost packet on the leader's ZooKeeper connection (TCP recovers a
   * lone lost segment only after ~200 ms); the direct link to the follower is a second,
   * independent path that shows the leader alive meanwhile. Liveness only: the lapsed
   * leader serves no lease read and takes no write either way (notes/timing.md).
   */
  readonly lapseSilenceTicks: number;
  /**
   * A follower that suspects its leader from silence alone (no heartbeat for its election
   * timeout, no broken connection) also waits until the lease has been quiet this long, or
   * leaseWindowTicks if that is longer. Liveness only (the lease rule needs
   * leaseWindowTicks): silence is what a stalled leader, or one behind a silent cut from its
   * follower, looks like, and a live leader's lease rarely stays quiet this long; evidence
   * that the process is gone (suspectLeader) needs only the lease window.
   */
  readonly silenceLeaseWindowTicks: number;
  /** Bound on AppendEntries messages in flight to the follower. */
  readonly maxInflightAppends: number;
  /** Bound on the data bytes of one AppendEntries message (at least one entry is always sent). */
  readonly maxAppendBytes: number;
  /** Bound on one entry's data: a peer message with a larger entry is dropped. */
  readonly maxEntryBytes: number;
  /** Bound on the committed entries one Ready hands out to apply. */
  readonly maxCommittedPerReady: number;
  /**
   * Bound on the entry data bytes of all AppendEntries in flight (the first message always
   * goes). Equal to maxAppendBytes, a follower catching up gets one full message at a time.
   */
  readonly maxInflightBytes: number;
  /**
   * Heartbeat replies in a row that show a lagging follower whose match did not move
   * before the leader resends from the match (AppendEntries lost without an error).
   */
  readonly appendStallHeartbeats: number;
  /**
   * Bound on the suffix a follower holds past its commit index while that index is held: its
   * leader's term is not yet vouched for by ZooKeeper (the epoch seen) nor its sender by mutual
   * TLS, so it takes the leader's entries but commits none of them (fuzz finding 9). Beyond
   * either bound it takes no more entries, and the leader sees a slow follower; cut off from
   * ZooKeeper, the follower would otherwise keep an unbounded log in memory and in its local
   * WAL (compaction stops at the applied index). At least one bound is always enforced.
   */
  readonly maxHeldEntries: number;
  /** Bound on the data bytes of that suffix (see maxHeldEntries). */
  readonly maxHeldBytes: number;
  /** A candidate that hears nothing about its take-over for this long gives up (a driver bug guard). */
  readonly candidateTimeoutTicks: number;
  /** A leadership transfer not done within this many ticks is given up. */
  readonly transferTimeoutTicks: number;
  /**
   * TEST-ONLY FAULT (the broken build commit-without-term): a heartbeat's commit index moves
   * a follower's over whatever its log holds, without the term check of PROTOCOL.md R2, and
   * the leader keeps the match of a peer that may have restarted with less (no vouching).
   */
  readonly unsafeCommitWithoutTerm?: boolean;
}

export const defaultCoreTicks = {
  electionTimeoutTicks: 10,
  heartbeatTicks: 2,
  preVoteTimeoutTicks: 3,
  leaseWindowTicks: 13,
  lapseSilenceTicks: 30,
  silenceLeaseWindowTicks: 15,
  maxInflightAppends: 8,
  maxAppendBytes: 256 << 10,
  maxEntryBytes: 1 << 20,
  maxCommittedPerReady: 1024,
  maxInflightBytes: 256 << 10,
  appendStallHeartbeats: 25,
  maxHeldEntries: 16_384,
  maxHeldBytes: 32 << 20,
  candidateTimeoutTicks: 1000,
  transferTimeoutTicks: 100,
} as const;

export function validateCoreConfig(c: CoreConfig): string[] {
  const problems: string[] = [];
  if (!c.id) problems.push('id must not be empty');
  if (c.genesis.length !== CHAIN_BYTES) problems.push(`genesis must be ${CHAIN_BYTES} bytes`);
  if (c.peer === c.id) problems.push('peer must differ from id');
  if (c.electionTimeoutTicks < 2) problems.push('electionTimeoutTicks must be >= 2');
  if (c.heartbeatTicks < 1 || c.heartbeatTicks >= c.electionTimeoutTicks) {
    problems.push('heartbeatTicks must be >= 1 and below electionTimeoutTicks');
  }
  if (c.preVoteTimeoutTicks < 1 || c.preVoteTimeoutTicks >= c.electionTimeoutTicks) problems.push('preVoteTimeoutTicks must be >= 1 and below electionTimeoutTicks (a pre-candidate asks again every election timeout)');
  if (c.leaseWindowTicks < 1) problems.push('leaseWindowTicks must be >= 1');
  if (!(c.lapseSilenceTicks >= 0)) problems.push('lapseSilenceTicks must be >= 0');
  if (!(c.silenceLeaseWindowTicks >= 0)) problems.push('silenceLeaseWindowTicks must be >= 0');
  if (c.maxInflightAppends < 1) problems.push('maxInflightAppends must be >= 1');
  if (c.maxAppendBytes < 1) problems.push('maxAppendBytes must be >= 1');
  if (c.maxEntryBytes < 1) problems.push('maxEntryBytes must be >= 1');
  if (c.maxCommittedPerReady < 1) problems.push('maxCommittedPerReady must be >= 1');
  if (c.maxInflightBytes < 1) problems.push('maxInflightBytes must be >= 1');
  if (c.appendStallHeartbeats < 1) problems.push('appendStallHeartbeats must be >= 1');
  if (!(c.maxHeldEntries >= 1)) problems.push('maxHeldEntries must be >= 1');
  if (!(c.maxHeldBytes >= 1)) problems.push('maxHeldBytes must be >= 1');
  if (c.candidateTimeoutTicks < 1) problems.push('candidateTimeoutTicks must be >= 1');
  if (c.transferTimeoutTicks < 1) problems.push('transferTimeoutTicks must be >= 1');
  return problems;
}
