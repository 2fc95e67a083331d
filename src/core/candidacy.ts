// A pre-candidate's way to a take-over (etcd keeps it in its raft node's campaign and
// poll): it asks the peer whether it would object (the pre-vote), counts the answer, watches
// the lease znode until it has stayed unchanged for the lease window, and then asks the
// driver to fence ZooKeeper (a TakeoverRequest). A term is won by that fence, not by votes
// (notes/safety.md): the pre-vote only keeps a node from deposing a leader its peer still
// hears. It also takes a failed take-over's answer, and bounds how long a candidate waits for
// one. It owns the pre-vote's outcome and timer, what the lease watch showed, whether
// ZooKeeper is reachable, whether the leader is suspected on evidence, and the take-over
// request not yet handed out. The role and the transitions stay RaftCore's: this module
// reads the role and calls the transitions through the node it works for. Pure: no I/O, no
// clock (the node's tick count is its time).
import type { CoreConfig } from './config.js';
import type { HandOverWait } from './hand-over.js';
import type { RaftLog } from './log.js';
import type { Message, PreVoteRound } from './messages.js';
import type { NodeId, Role } from './types.js';

/** Where the pre-vote asked of the peer stands. */
export type PreVoteOutcome = 'pending' | 'granted' | 'unreachable' | 'timeout' | 'rejected';

/** Asks the driver to fence ZooKeeper, replay its log and report with takeoverResult(). */
export interface TakeoverRequest {
  /** The term this node is in; the fence must produce a higher one. */
  readonly term: number;
  /**
   * The lease znode version this node saw unchanged for the whole lease window
   * (-1 when it never saw one). The fence multi checks it, so a leader that touched its
   * lease after our last look makes the fence fail.
   */
  readonly leaseVersion: number;
  /** Every entry up to here is known to be committed; the replay starts after it. */
  readonly commit: number;
  /** The leader asked for this take-over (leadership transfer). */
  readonly transfer: boolean;
}

/** A take-over that failed, as the driver reports it (the failing half of TakeoverResult). */
export interface TakeoverFailure {
  /** The epoch as last read from ZooKeeper (0/'' when unknown). */
  readonly epochTerm: number;
  readonly epochLeader: NodeId;
  readonly reason: string;
}

/** The settings of the pre-vote and the lease wait (CoreConfig). */
export type CandidacyConfig = Pick<CoreConfig, 'preVoteTimeoutTicks' | 'candidateTimeoutTicks' | 'leaseWindowTicks' | 'silenceLeaseWindowTicks'>;

/** What the pre-vote tells the peer of this node's log (RaftLog). */
export type CandidacyLog = Pick<RaftLog, 'lastIndex' | 'lastTerm'>;

/** What the pre-candidate tells the wait on a leader's hand-over (hand-over.ts). */
export type CandidacyHandOver = Pick<HandOverWait, 'waiting' | 'onQuietLease' | 'onObjection'>;

/** The node that seeks to take over, as it stands at each call (RaftCore). */
export interface CandidacyNode {
  readonly id: NodeId;
  peer(): NodeId;
  role(): Role;
  term(): number;
  commit(): number;
  /** The leader this node follows ('' when none). */
  leaderId(): NodeId;
  /** Ticks since the node started: its only notion of time. */
  ticks(): number;
  send(m: Message): void;
  /** ZooKeeper's epoch, as a failed take-over read it, vouches for `term` led by `leader` (the commit gate). */
  vouch(term: number, leader: NodeId): void;
  becomeFollower(term: number, leaderId: NodeId): void;
  /** Becomes a candidate; its take-over request comes from request(). */
  becomeCandidate(transfer: boolean): void;
}

export class Candidacy {
  private outcome: PreVoteOutcome = 'pending';
  /** The round of the pre-vote last asked (messages.ts PreVoteRound); 0 before the first. */
  private round: PreVoteRound = 0;
  private preVoteElapsed = 0;
  private candidateElapsed = 0;
  private connected = true;
  /** The lease znode version last seen and the tick it was first seen at. */
  private leaseVersion = -1;
  private leaseObservedTick = 0;
  /** How long the lease must stay unchanged before a take-over (see observeLease). */
  private leaseWindowTicks: number;
  /** The leader is suspected on evidence (its connection broke), not from silence alone. */
  private suspectedOnEvidence = false;
  private pending: TakeoverRequest | undefined;

  constructor(
    private readonly cfg: CandidacyConfig,
    private readonly log: CandidacyLog,
    private readonly handOver: CandidacyHandOver,
    private readonly node: CandidacyNode,
  ) {
    this.leaseWindowTicks = cfg.leaseWindowTicks;
  }

  /** Whether this node can reach ZooKeeper; without it a take-over is pointless. */
  get zkConnected(): boolean {
    return this.connected;
  }

  setZkConnected(connected: boolean): void {
    this.connected = connected;
  }

  /** A take-over request not yet handed out. */
  get hasRequest(): boolean {
    return this.pending !== undefined;
  }

  /** Hands out (and forgets) the take-over request. */
  takeRequest(): TakeoverRequest | undefined {
    const r = this.pending;
    this.pending = undefined;
    return r;
  }

  /** The node follows again: a take-over not yet handed out is no longer wanted (one handed out reports back). */
  followed(): void {
    this.suspectedOnEvidence = false;
    this.pending = undefined;
  }

  /** A leader was heard from: it is no longer suspected. */
  leaderHeard(): void {
    this.suspectedOnEvidence = false;
  }

  /** Something outside the core says the leader is gone: the shorter lease window applies. */
  suspectOnEvidence(): void {
    this.suspectedOnEvidence = true;
  }

  /** The node just became a pre-candidate: asks the peer's pre-vote (none needed without a peer). */
  askPeer(): void {
    this.preVoteElapsed = 0;
    // A new round even without a peer: an answer to an earlier pre-vote never counts for this one.
    this.round++;
    const peer = this.node.peer();
    if (!peer) {
      this.outcome = 'granted';
    } else {
      this.outcome = 'pending';
      this.node.send({
        type: 'vote',
        from: this.node.id,
        to: peer,
        term: this.node.term() + 1,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        preVote: true,
        // Waiting on a hand-over: a leader that handed over does not object to this one.
        transfer: this.handOver.waiting,
        round: this.round,
      });
    }
    this.maybeTakeOver();
  }

  /** One tick of a pre-candidate: the pre-vote may time out, the lease may have stayed quiet long enough. */
  tickPreCandidate(): void {
    this.preVoteElapsed++;
    if (this.outcome === 'pending' && this.preVoteElapsed >= this.cfg.preVoteTimeoutTicks) {
      this.outcome = 'timeout';
    }
    this.maybeTakeOver();
  }

  /** One tick of a candidate: true when it has waited too long for its take-over's answer. */
  tickCandidate(): boolean {
    this.candidateElapsed++;
    return this.candidateElapsed >= this.cfg.candidateTimeoutTicks;
  }

  /**
   * The peer answered pre-vote `round`. An answer to an earlier round is not the answer to
   * this one: a leader's refusal of an ordinary pre-vote, arriving after a TimeoutNow began
   * the hand-over's, would otherwise end the hand-over (review 37). An answer without a round
   * (an older member) is taken for the round pending.
   */
  onReply(granted: boolean, reason: string, from: NodeId, round?: PreVoteRound): void {
    if (this.node.role() !== 'precandidate' || this.outcome !== 'pending') return;
    if (round !== undefined && round !== this.round) return;
    if (granted) {
      this.outcome = 'granted';
      this.maybeTakeOver();
      return;
    }
    this.outcome = 'rejected';
    if (reason === 'is-leader') this.handOver.onObjection(from);
    this.node.becomeFollower(this.node.term(), reason === 'is-leader' ? from : this.node.leaderId());
  }

  /** The peer cannot be reached: its pre-vote will not come, and it objects to nothing. */
  peerUnreachable(): void {
    if (this.node.role() !== 'precandidate' || this.outcome !== 'pending') return;
    this.outcome = 'unreachable';
    this.maybeTakeOver();
  }

  /** The peer was removed: a pre-vote asked of it is no longer needed. */
  peerRemoved(): void {
    if (this.node.role() !== 'precandidate' || this.outcome !== 'pending') return;
    this.outcome = 'granted';
    this.maybeTakeOver();
  }

  /**
   * A follower saw the lease znode at `version`. Any change restarts the lease window.
   * `windowTicks` is the wait the lease's holder requires (see RaftCore.observeLease); the
   * configured window is a floor, never a substitute.
   */
  observeLease(version: number, windowTicks: number): void {
    if (version !== this.leaseVersion) {
      this.leaseVersion = version;
      this.leaseObservedTick = this.node.ticks();
    }
    this.leaseWindowTicks = Math.max(this.cfg.leaseWindowTicks, windowTicks);
  }

  /** The node becomes a candidate: the take-over request for the driver, against the lease version last seen. */
  request(transfer: boolean): void {
    this.candidateElapsed = 0;
    this.pending = { term: this.node.term(), leaseVersion: this.leaseVersion, commit: this.node.commit(), transfer };
  }

  /** The take-over failed: follow the epoch's leader if its term is newer, or give up the candidacy. */
  takeoverFailed(r: TakeoverFailure): void {
    this.node.vouch(r.epochTerm, r.epochLeader);
    if (r.epochTerm > this.node.term()) {
      this.node.becomeFollower(r.epochTerm, r.epochLeader === this.node.id ? '' : r.epochLeader);
    } else if (this.node.role() === 'candidate') {
      this.node.becomeFollower(this.node.term(), '');
    }
  }

  private maybeTakeOver(): void {
    if (this.node.role() !== 'precandidate' || !this.connected) return;
    if (this.outcome === 'pending' || this.outcome === 'rejected') return;
    // Ticks are counted from the tick before the observation, so one more is needed to be
    // sure a whole window of real time has passed since it. Silence alone asks for a longer
    // quiet lease (silenceLeaseWindowTicks): liveness, not safety.
    const window = this.suspectedOnEvidence ? this.leaseWindowTicks : Math.max(this.leaseWindowTicks, this.cfg.silenceLeaseWindowTicks);
    if (this.node.ticks() - this.leaseObservedTick < window + 1) return;
    this.handOver.onQuietLease(this.leaseVersion);
    this.node.becomeCandidate(false);
  }
}
