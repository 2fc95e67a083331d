// What a voter keeps watching in ZooKeeper, decoded and handed on: the epoch (who holds
// which term), the lease (is the leader alive), the leader znode (discovery, and a hint
// that the leader is gone), the config (who the other voter is) and the other voter's
// member znode (where to reach it).
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import {
  type ClusterIdentity,
  decodeConfig,
  decodeEpoch,
  decodeIdentity,
  decodeLeader,
  decodeLease,
  decodeMember,
  type LeaderRecord,
  type LeaseRecord,
} from '../coordination/records.js';
import type { ZkSession, ZkStat } from '../coordination/zk-api.js';
import { ZnodeWatch } from '../coordination/znode-watch.js';
import type { NodeId } from '../core/types.js';

export interface EpochSeen {
  readonly term: number;
  readonly leaderId: NodeId;
  readonly version: number;
}

export interface ClusterWatchHandlers {
  /** The cluster root's identity (null: the root znode is gone). */
  onIdentity(identity: ClusterIdentity | null): void;
  onEpoch(epoch: EpochSeen): void;
  onLease(version: number, record: LeaseRecord): void;
  /** The leader znode as now read (null: it does not exist). */
  onLeaderZnode(record: LeaderRecord | null, stat: ZkStat | null): void;
  /** The config znode as now read: its version and voters. */
  onConfig(version: number, voters: readonly NodeId[]): void;
  /** The other voter published where it can be reached. */
  onPeerMember(peer: NodeId, address: string, peerAddress: string): void;
}

export interface ClusterWatchesOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly handlers: ClusterWatchHandlers;
}

export class ClusterWatches {
  private readonly o: ClusterWatchesOptions;
  private readonly watches: ZnodeWatch[] = [];
  private peerWatch: ZnodeWatch | null = null;
  private watchedPeer = '';
  private stopped = false;

  constructor(options: ClusterWatchesOptions) {
    this.o = options;
    const { zk, clock, logger, paths, handlers } = options;
    const common = { zk, clock, logger };
    this.watches.push(
      new ZnodeWatch({
        ...common,
        path: paths.root,
        onChange: (st) => handlers.onIdentity(st.exists ? decodeIdentity(paths.root, st.data) : null),
      }),
      new ZnodeWatch({
        ...common,
        path: paths.epoch,
        onChange: (st) => {
          if (!st.exists) return;
          const e = decodeEpoch(paths.epoch, st.data);
          handlers.onEpoch({ term: e.term, leaderId: e.leaderId, version: st.stat.version });
        },
      }),
      new ZnodeWatch({
        ...common,
        path: paths.lease,
        onChange: (st) => {
          if (!st.exists) return;
          handlers.onLease(st.stat.version, decodeLease(paths.lease, st.data));
        },
      }),
      new ZnodeWatch({
        ...common,
        path: paths.leader,
        onChange: (st) => {
          if (!st.exists) handlers.onLeaderZnode(null, null);
          else handlers.onLeaderZnode(decodeLeader(paths.leader, st.data), st.stat);
        },
      }),
      new ZnodeWatch({
        ...common,
        path: paths.config,
        onChange: (st) => {
          if (!st.exists) return;
          handlers.onConfig(st.stat.version, decodeConfig(paths.config, st.data).voters);
        },
      }),
    );
  }

  /** Watches the other voter's member znode (replacing the watch of an earlier peer; '' watches none). */
  watchPeer(peer: NodeId): void {
    if (this.stopped || peer === this.watchedPeer) return;
    this.peerWatch?.stop();
    this.peerWatch = null;
    this.watchedPeer = peer;
    if (peer === '') return;
    const { zk, clock, logger, paths, handlers } = this.o;
    this.peerWatch = new ZnodeWatch({
      zk,
      clock,
      logger,
      path: paths.member(peer),
      onChange: (st) => {
        if (!st.exists) return; // keep the last known address: the peer may be restarting
        const m = decodeMember(paths.member(peer), st.data);
        handlers.onPeerMember(peer, m.address, m.peerAddress || m.address);
      },
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.stop();
    this.peerWatch?.stop();
  }
}
