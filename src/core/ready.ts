// What the core hands out (etcd keeps these in rawnode.go's Ready, apart from raft.go): the
// Ready a driver collects after each input, its parts, and the answers of status() and
// propose(). Types only; RaftCore (raft.ts) fills them and re-exports them, so importers of
// raft.ts see no change.
import type { TakeoverRequest } from './candidacy.js';
import type { Message } from './messages.js';
import type { ChainedEntry, HardState, NodeId, Role, SnapshotMeta } from './types.js';

export interface SoftState {
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId;
}

/** Handed out when this node stops leading, so the driver can answer waiting clients. */
export interface LeadershipLost {
  readonly term: number;
  /** Entries up to here are committed. */
  readonly commit: number;
  /** Entries in (commit, sentToMirror] were handed to ZooKeeper: their fate is unknown. Later ones were never sent. */
  readonly sentToMirror: number;
  readonly reason: string;
}

export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** Local WAL: write a truncation mark at this index before `entries` (entries >= it are void). */
  readonly truncateFrom?: number;
  /** Local WAL: entries to append, ascending and contiguous, with their chain values. */
  readonly entries: readonly ChainedEntry[];
  readonly messages: readonly Message[];
  /** Committed entries to apply to the state machine, in order. */
  readonly committed: readonly ChainedEntry[];
  /** Leader: entries to mirror to ZooKeeper, in order, contiguous with what was handed out before (with chain values). */
  readonly toMirror: readonly ChainedEntry[];
  readonly takeover?: TakeoverRequest;
  readonly leadershipLost?: LeadershipLost;
  /**
   * Leader, during a transfer: stop touching the lease now and serve no lease read. The
   * number names the transfer (its generation): a relinquish that fails reports it back
   * (relinquishFailed), since the transfer may have ended, and another begun, meanwhile.
   * The transfer's TimeoutNow comes in the same Ready. Neither comes when the transfer
   * ended before the Ready was collected (see PendingReady.collect, pending-ready.ts).
   */
  readonly relinquishLease?: number;
  /** Leader: a transfer that relinquished the lease was given up: start touching it again. */
  readonly resumeLease?: boolean;
  /**
   * Follower: a TimeoutNow's hand-over was not confirmed by the lease znode (why): no fast
   * take-over; the lease window is waited out as after silence. Once per hand-over.
   */
  readonly handOverUnconfirmed?: string;
  /**
   * This node's committed log disagrees with the leader's or ZooKeeper's at `index` (the
   * hash chain says so): its state cannot be trusted. It takes no more messages; the node
   * must stop serving and rebuild from ZooKeeper. Handed out once.
   */
  readonly diverged?: Divergence;
  /** Leader: the follower is behind this log's compaction point: send it a snapshot, then call snapshotSent(). */
  readonly snapshotNeeded?: SnapshotNeeded;
  /**
   * Follower: a snapshot was installed at this point (installSnapshot): the local WAL must
   * hold nothing before it. Write a truncation from 1 before `entries`.
   */
  readonly logReset?: SnapshotMeta;
}

export interface SnapshotNeeded {
  /** The follower that needs it. */
  readonly peer: NodeId;
  /** The oldest entry this log still holds: the snapshot must reach at least just before it. */
  readonly firstIndex: number;
}

export interface Divergence {
  readonly index: number;
  readonly reason: string;
}

export interface CoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transferring: boolean;
  readonly leaseLapsed: boolean;
  /** The highest term ZooKeeper vouched for here (the epoch seen, a term fenced or restarted with). */
  readonly trustedTerm: number;
  /** Follower: its commit index is held for a leader whose term is not vouched for yet (commitHeld()). */
  readonly commitHeld: boolean;
  readonly follower?: { readonly id: NodeId; readonly match: number; readonly next: number; readonly state: string };
}

export type ProposeResult =
  | { readonly ok: true; readonly firstIndex: number; readonly term: number }
  | { readonly ok: false; readonly reason: 'not-leader' | 'transferring' | 'lease-lapsed'; readonly leaderId: NodeId };
