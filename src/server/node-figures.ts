// The figures a running node holds, read in one go by metrics (at each scrape) and by
// health (at each check): plain values, copied out, so a reader can neither change the
// node nor keep a reference into it.
import type { Role } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import type { ZkBudgetStatus } from './zk-budget.js';

export interface NodeFigures {
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** Client writes waiting for their entry to commit and apply. */
  readonly pendingProposals: number;
  /** Leader: entries handed to the WAL mirror and not yet known to be in ZooKeeper. */
  readonly mirrorBacklog: number;
  /** Leader: its ZooKeeper lease holds now (it may serve lease reads, and no one can fence it). */
  readonly leaseHolds: boolean;
  /** Leader: an entry of its own term (its no-op) is committed, so it may serve reads. */
  readonly committedInTerm: boolean;
  /** Leader: a leadership transfer is under way. */
  readonly transferring: boolean;
  /** How long ago this node last heard from a leader (Infinity: never). */
  readonly leaderContactAgeMs: number;
  readonly zkConnected: boolean;
  /** Follower: its commit index is held, its leader's term not yet vouched for by ZooKeeper's epoch (RaftCore.commitHeld). */
  readonly commitHeld: boolean;
  /** The node stopped (shut down, or stopped serving). */
  readonly stopped: boolean;
  /** Why it stopped serving, when its state could not be trusted (a divergence); null otherwise. */
  readonly fatalReason: string | null;
  /** The newest local snapshot (0: none) and its file's size. */
  readonly snapshotIndex: number;
  readonly snapshotBytes: number;
  /** Leader, once counted: what the cluster keeps in ZooKeeper against its budget. */
  readonly zkBudget: ZkBudgetStatus | null;
}

/**
 * What a listener holds (src/server/listener): no term, no lease, no leader of its own: it
 * follows the committed log through an upstream. The index and snapshot figures mean what
 * they mean on a voter (commitIndex: the highest index it heard is committed).
 */
export interface ListenerFigures {
  readonly role: 'listener';
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** The member feeding it, 'zookeeper' while it reads ZooKeeper's log itself, '' while it has none. */
  readonly upstream: string;
  /** 1: fed by a voter; n: fed by a depth n-1 listener; 0: reading ZooKeeper or no upstream. */
  readonly depth: number;
  readonly lagEntries: number;
  /** Since when it has been behind the commit index it heard of (0: not behind). */
  readonly lagMs: number;
  /**
   * Since it last heard a commit index from its upstream (a batch or a heartbeat) or read
   * ZooKeeper's tail; counted from when it began to use its current source.
   */
  readonly commitNewsAgeMs: number;
  /** How long its ZooKeeper session has been disconnected (0: connected). */
  readonly zkDisconnectedMs: number;
  /** Times it began to be fed from another source than before (an upstream or ZooKeeper; the first counts). */
  readonly upstreamChanges: number;
  /** Listeners it feeds now. */
  readonly feeding: number;
  readonly zkConnected: boolean;
  readonly stopped: boolean;
  readonly snapshotIndex: number;
  readonly snapshotBytes: number;
}

/** A voter's figures or a listener's: `role` tells which. */
export type MemberFigures = NodeFigures | ListenerFigures;

/** Where readers get the figures: null until the member has started. */
export type FiguresSource = () => MemberFigures | null;
