// What the cluster watches last saw, kept for two readers: clients sent elsewhere are told
// where the leader is (the core's leader, else the leader znode's, with the address its
// member or leader znode published), and a take-over fences in one round trip from the
// epoch and leader znode as last seen (takeover-runner.ts KnownCluster) instead of reading
// them first.
import type { LeaderHint } from '../common/errors.js';
import type { LeaderRecord } from '../coordination/records.js';
import type { NodeId } from '../core/types.js';
import type { EpochSeen } from './cluster-watches.js';
import type { KnownCluster } from './takeover-runner.js';

export class ClusterSightings {
  /** Where each member said clients reach it (member znodes, the leader znode, this node's own). */
  private readonly addresses = new Map<NodeId, string>();
  private leaderZnode: { id: NodeId; address: string } | null = null;
  private leaderZnodeExists = true;
  /** The epoch znode as the watch last saw it: lets a take-over fence in one round trip. */
  private epochSeen: EpochSeen | null = null;

  constructor(selfId: NodeId, selfAddress: string) {
    this.addresses.set(selfId, selfAddress);
  }

  get epoch(): EpochSeen | null {
    return this.epochSeen;
  }

  sawEpoch(e: EpochSeen): void {
    this.epochSeen = e;
  }

  /** The leader znode as now read (null: it does not exist). Returns the one seen before. */
  sawLeaderZnode(record: LeaderRecord | null): { id: NodeId; address: string } | null {
    const before = this.leaderZnode;
    this.leaderZnodeExists = record !== null;
    this.leaderZnode = record ? { id: record.id, address: record.address } : null;
    if (record) this.addresses.set(record.id, record.address);
    return before;
  }

  /** A member published where clients reach it. */
  sawMember(id: NodeId, address: string): void {
    this.addresses.set(id, address);
  }

  /** Where clients find the leader: `coreLeader` (the core's, '' when it knows none) or else the leader znode's. */
  hint(coreLeader: NodeId): LeaderHint {
    const leaderId = coreLeader || this.leaderZnode?.id || '';
    const leaderAddress = (leaderId && this.addresses.get(leaderId)) || (this.leaderZnode?.id === leaderId ? this.leaderZnode.address : '') || '';
    return { leaderId, leaderAddress };
  }

  /** What a fence may take as known, with the config as last seen. */
  known(config: KnownCluster['config']): KnownCluster {
    return { epoch: this.epochSeen, leaderZnodeExists: this.leaderZnodeExists, config };
  }
}
