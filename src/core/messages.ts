// What the two voters say to each other, as the core sees it. The transport maps these
// to the Peer gRPC service (proto/peer.proto); the simulator passes them as they are.
//
// Requests that arrive over an RPC carry the transport's `rpcId`; the core copies it into
// its reply so the transport can answer that call. The core never interprets it.
import type { Entry, NodeId } from './types.js';

interface Base {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly rpcId?: number;
}

export interface AppendEntries extends Base {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  /**
   * The leader's chain value at prevLogIndex (chain.ts). Always sent; a follower that holds
   * prevLogIndex with prevLogTerm must hold this chain value there too. (Optional only so
   * hand-built test messages may leave it out.)
   */
  readonly prevLogChain?: Uint8Array;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
  /** See AwaitedByLeader. */
  readonly awaited?: AwaitedByLeader;
}

/**
 * On a request: the leader cannot go on until it has the answer (it probes, its window to
 * this follower is full of bytes, or it hands leadership over), so the follower should make
 * its log durable at once rather than at its usual pace. A follower's reply waits for its
 * local fsync (PROTOCOL.md R1), but the local WAL is not on the commit path, so a follower
 * paces those fsyncs to keep them off ZooKeeper's disk; this says when not to. A hint about
 * timing only: nothing about safety depends on it. On a reply the core copies it from the
 * request, for the follower's driver (it never goes on the wire).
 */
export type AwaitedByLeader = boolean;

export interface AppendEntriesReply extends Base {
  readonly type: 'appendReply';
  readonly success: boolean;
  /** On success: the last index known to match the leader's log. */
  readonly matchIndex: number;
  /** On rejection: the prevLogIndex that did not match. */
  readonly rejectedIndex: number;
  /** Fast backup: the term at rejectedIndex in the follower's log, 0 when its log is shorter. */
  readonly xTerm: number;
  /** Fast backup: the first index the follower holds with xTerm. */
  readonly xIndex: number;
  /** Fast backup: the follower's last log index. */
  readonly xLen: number;
  /** See AwaitedByLeader: copied from the request, never sent. */
  readonly awaited?: AwaitedByLeader;
}

export interface Heartbeat extends Base {
  readonly type: 'heartbeat';
  /** min(leader's commit, what this follower is known to hold). */
  readonly commit: number;
  /**
   * The term of the leader's entry at `commit` (0 when commit is 0). A commit index always
   * travels with it (PROTOCOL.md R2): a follower whose entry there has another term holds
   * something else at that index and must not commit it.
   */
  readonly commitTerm: number;
  /** The leader's chain value at `commit` (always sent; optional for hand-built test messages). */
  readonly commitChain?: Uint8Array;
  /** See AwaitedByLeader. */
  readonly awaited?: AwaitedByLeader;
}

export interface HeartbeatReply extends Base {
  readonly type: 'heartbeatReply';
  readonly lastIndex: number;
  /**
   * How far the follower has matched this leader's log in this term and process life. Below
   * what the leader believes (the follower restarted), the leader sends an empty
   * AppendEntries at its match so the follower can verify it and commit again.
   */
  readonly leaderMatch: number;
  /** See AwaitedByLeader: copied from the request, never sent. */
  readonly awaited?: AwaitedByLeader;
}

export interface Vote extends Base {
  readonly type: 'vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Always true today: the vote is a pre-vote, and ZooKeeper's fence decides. */
  readonly preVote: boolean;
  /** The sender takes over because the leader asked it to (leadership transfer). */
  readonly transfer: boolean;
  /** See PreVoteRound. */
  readonly round?: PreVoteRound;
}

/**
 * Which of the sender's pre-votes a Vote is, echoed in its VoteReply: a pre-candidate takes
 * an answer only for the round it is in, so a refusal of an earlier pre-vote that arrives
 * after a new one (a TimeoutNow began a hand-over's) is not read as the answer to the new one.
 * A counter in the asker's core from 1; absent (0 on the wire) from an older member, whose
 * answer is taken as the answer to whatever round is pending, as before rounds existed.
 */
export type PreVoteRound = number;

/**
 * Why a pre-vote was refused. 'is-leader': the voter leads (the candidate should follow it);
 * 'leader-alive': the voter heard from a leader within the minimum election timeout.
 */
export type VoteRejection = '' | 'is-leader' | 'leader-alive' | 'stale-term' | 'log-behind';

export interface VoteReply extends Base {
  readonly type: 'voteReply';
  readonly granted: boolean;
  readonly preVote: boolean;
  readonly reason: VoteRejection;
  /** The Vote's round, echoed (see PreVoteRound); absent when the Vote had none. */
  readonly round?: PreVoteRound;
}

export interface TimeoutNow extends Base {
  readonly type: 'timeoutNow';
  /**
   * The lease znode version the leader left when it stopped touching it (0: unknown; the
   * driver fills it in as it sends). The new leader fences against it at once.
   */
  readonly leaseVersion: number;
}

/** Local: the transport could not deliver to (or hear from) `from`. Never sent. */
export interface Unreachable extends Base {
  readonly type: 'unreachable';
}

export type Message =
  | AppendEntries
  | AppendEntriesReply
  | Heartbeat
  | HeartbeatReply
  | Vote
  | VoteReply
  | TimeoutNow
  | Unreachable;

export type MessageType = Message['type'];

/** Message types that are answered with a reply (the transport sends them as RPC requests). */
export function isRequest(m: Message): m is AppendEntries | Heartbeat | Vote | TimeoutNow {
  return m.type === 'append' || m.type === 'heartbeat' || m.type === 'vote' || m.type === 'timeoutNow';
}
