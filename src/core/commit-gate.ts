// The commit gate (fuzz finding 9; notes/safety.md, "The commit gate"): whether a leader's
// message may move this follower's commit index. A commit index is what a take-over trusts
// to be in ZooKeeper; one taken from a forged leader of a term no fence made would later read
// as ZooKeeper having lost data, on both voters at once. So it moves only for a leader that
// ZooKeeper vouched for (the term its epoch shows, with the leader it names; a term this node
// fenced; its saved term minus one after a restart) or whose sender mutual TLS proved. Until
// then the follower's commit index is held (the bound on what it takes meanwhile is
// held-suffix.ts). Pure: the trusted term and leader, and the rules over them.
import type { NodeId } from './types.js';

/** The leader a follower follows, as the gate needs to know it (null: this node leads). */
export interface FollowedLeader {
  readonly leaderId: NodeId;
  readonly term: number;
  /** Its last AppendEntries or heartbeat came from a sender the transport proved. */
  readonly authenticated: boolean;
}

export class CommitGate {
  /**
   * The highest term ZooKeeper vouched for: the epoch seen, a term this node fenced, or the
   * term it restarted with. It bounds the terms peer messages may carry, and a term taken
   * from a message never raises it: otherwise forged messages, each one term above the
   * last, could ratchet this node's term past anything the real leader sends or accepts,
   * and the two voters would refuse each other for good (found by the fuzz suite).
   */
  private term: number;
  /**
   * The leader ZooKeeper's epoch named for the trusted term ('' when not known: a term
   * restored at start). The gate vouches for a leader, not for a term: a message claiming the
   * trusted term from anyone else is not vouched for (review 16: a forger claiming the term
   * whose epoch names this node, between its fence and its take-over result, committed on it).
   */
  private leader: NodeId = '';

  constructor(
    private readonly self: NodeId,
    trustedTerm: number,
  ) {
    this.term = trustedTerm;
  }

  get trustedTerm(): number {
    return this.term;
  }

  get trustedLeader(): NodeId {
    return this.leader;
  }

  /**
   * Whether a leader of `term` may move this node's commit index: ZooKeeper vouched for the
   * term (the epoch seen, a term this node fenced or restarted with), or the transport
   * proved the sender (mutual TLS).
   */
  vouchedFor(term: number, authenticated: boolean, sender: NodeId): boolean {
    if (authenticated) return true;
    // The epoch names this node (its fence, its term as leader): no other node leads that
    // term, and every commit of an older one is in ZooKeeper, which the take-over replays.
    // A forger claiming an older term would otherwise commit here between the fence and the
    // take-over result (review 16 and 18).
    if (this.leader === this.self) return false;
    if (term < this.term) return true;
    // The leader is not known only for term 0 or a term restored at start; the driver
    // observes the epoch right after construction, before any message, which names it.
    return term === this.term && (this.leader === '' || sender === this.leader);
  }

  /**
   * Whether the commit index of a follower of `followed` is held: it follows another node
   * whose term is not vouched for yet. Normally for the few ms between a new leader's first
   * message and the epoch watch; for as long as it lasts when this node cannot reach ZooKeeper.
   */
  holds(followed: FollowedLeader | null): boolean {
    return followed !== null && followed.leaderId !== '' && followed.leaderId !== this.self && !this.vouchedFor(followed.term, followed.authenticated, followed.leaderId);
  }

  /**
   * ZooKeeper vouched for `term` and the leader it names: the epoch shows it, or a take-over
   * read it. An older term, or the trusted one once its leader is known, changes nothing.
   * Returns true when this released a commit index held for `followed` (the caller must then
   * stop counting what it matched with that leader while held: see RaftCore.vouch).
   */
  vouch(term: number, leader: NodeId, followed: FollowedLeader | null): boolean {
    if (term < this.term || (term === this.term && this.leader !== '')) return false;
    const wasHeld = this.holds(followed);
    this.term = term;
    this.leader = leader;
    return wasHeld && !this.holds(followed);
  }

  /** This node leads `term`: its own fence set ZooKeeper's epoch to it. */
  leads(term: number): void {
    if (term >= this.term) {
      this.term = term;
      this.leader = this.self;
    }
  }
}
