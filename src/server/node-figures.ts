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

/** Where readers get the figures: null until the node has started. */
export type FiguresSource = () => NodeFigures | null;
