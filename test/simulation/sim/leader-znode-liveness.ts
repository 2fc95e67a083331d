// A liveness invariant, checked after every event: a node that leads and holds a valid
// lease has its `leader` znode (an ephemeral of its current ZooKeeper session, naming it
// and its term) within LEADER_ZNODE_BOUND_MS. Clients find the leader only through that
// znode (src/client/leader-discovery.ts, and so the simulated clients): a leader without
// it serves nobody, possibly until the next failover.
//
// The bound. While a leader's lease holds, its lease touches (ZooKeeper writes) come back
// within the lease duration (110 ms by default), so ZooKeeper answers it quickly. The
// znode can only be missing after its session expired (the fence creates it, and nothing
// else deletes it but a fence, which deposes the node). Putting it back takes what the
// lease's own return took (a new session: a reconnect of at most 50 ms plus a handshake)
// and then a member registration and one multi, a few round trips of at most the lease
// duration each, plus a retry or two if one is cut. 1,000 ms is several times that: a
// node past it is not slow, it has stopped trying.
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeLeader, type LeaderRecord } from '../../../src/coordination/records.js';
import type { ZkModel } from '../zk-model.js';
import type { NodeView } from './invariants.js';
import type { SimNode } from './sim-node.js';

export const LEADER_ZNODE_BOUND_MS = 1000;

export class LeaderZnodeLiveness {
  private readonly path: string;
  /** Per node: since when it has led with a lease and without its znode (absent: it is fine). */
  private readonly wrongSince = new Map<string, number>();
  /** Nodes already reported for the current stretch, so each stretch is reported once. */
  private readonly reported = new Set<string>();
  private decoded: { readonly mzxid: bigint; readonly record: LeaderRecord | null } | null = null;

  constructor(
    private readonly model: ZkModel,
    cluster: string,
  ) {
    this.path = new ClusterPaths(cluster).leader;
  }

  /** `views[i]` is what nodes[i] shows now (null when it is not running). */
  step(nodes: readonly SimNode[], views: ReadonlyArray<NodeView | null>, now: number, fail: (message: string) => void): void {
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const v = n.state === 'up' ? views[i] : null;
      const problem = v && v.softState.role === 'leader' && v.leaseHolds ? this.problem(n, v.softState.term) : null;
      if (problem === null) {
        this.wrongSince.delete(n.id);
        this.reported.delete(n.id);
        continue;
      }
      const since = this.wrongSince.get(n.id) ?? now;
      this.wrongSince.set(n.id, since);
      if (now - since > LEADER_ZNODE_BOUND_MS && !this.reported.has(n.id)) {
        this.reported.add(n.id);
        fail(`liveness: ${n.id} leads term ${v!.softState.term} with a valid lease, but for ${now - since} ms (over ${LEADER_ZNODE_BOUND_MS}) its leader znode is wrong: ${problem}; clients cannot find it (t=${now})`);
      }
    }
  }

  /** What is wrong with the leader znode for `n` leading `term`, or null. */
  private problem(n: SimNode, term: number): string | null {
    const znode = this.model.znode(this.path);
    if (znode === null) return 'there is none';
    if (this.model.clientOfSession(znode.ephemeralOwner) !== n.sessionName) {
      return `it belongs to session ${znode.ephemeralOwner || '(persistent)'}, not to a live session of ${n.id}`;
    }
    if (this.decoded?.mzxid !== znode.mzxid) {
      let record: LeaderRecord | null = null;
      try {
        record = decodeLeader(this.path, znode.data);
      } catch {
        record = null;
      }
      this.decoded = { mzxid: znode.mzxid, record };
    }
    const record = this.decoded.record;
    if (record === null) return 'it does not decode';
    if (record.id !== n.id || record.term !== term) return `it names ${record.id} in term ${record.term}`;
    return null;
  }
}
