// The identity check: the cluster root znode carries the identity this node joined
// (records.ts ClusterIdentity). The root watch (cluster-watches.ts) reports what it read;
// anything but ours, confirmed by a fresh read after sync(), means ZooKeeper lost the
// cluster's data (its data folder was wiped, or the tree was deleted and made again), and
// the node must stop serving and keep its data for duoraft admin restore-zk. The fresh read
// is what keeps a lagging server's stale answer from stopping a healthy node.
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { type ClusterIdentity, decodeIdentity } from '../coordination/records.js';
import { ZkError, type ZkSession } from '../coordination/zk-api.js';

export interface IdentityCheckDeps {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly logger: Logger;
  /** The identity this node belongs to (read or made at start). */
  readonly identity: ClusterIdentity;
  /** ZooKeeper lost the cluster: stop serving (once) with this reason. */
  readonly onLost: (reason: string) => void;
}

export class IdentityCheck {
  constructor(private readonly deps: IdentityCheckDeps) {}

  /**
   * The cluster root's identity as the watch read it (null: the znode is gone). Ours: nothing
   * to do. Otherwise it is read again after sync(); a read that fails is only logged, since
   * the watch reads again and reports.
   */
  seen(seen: ClusterIdentity | null): void {
    const { zk, paths, logger, identity } = this.deps;
    if (seen && seen.clusterId === identity.clusterId) return;
    void zk
      .sync(paths.root)
      .then(() => zk.getData(paths.root))
      .then(
        (r) => decodeIdentity(paths.root, r.data),
        (err: unknown) => (err instanceof ZkError && err.code === 'NO_NODE' ? null : Promise.reject(err)),
      )
      .then(
        (now) => {
          if (now && now.clusterId === identity.clusterId) return;
          const reason = now
            ? `ZooKeeper's tree of this cluster now has identity ${now.clusterId}, not ${identity.clusterId}: it was lost and recreated`
            : `ZooKeeper's tree of this cluster (${paths.root}) is gone: ZooKeeper lost its data`;
          logger.error({ reason }, 'ZooKeeper lost the cluster: this node stops serving and keeps its data for duoraft admin restore-zk');
          this.deps.onLost(reason);
        },
        (err: unknown) => logger.warn({ err: (err as Error).message }, 'could not confirm the cluster identity; the watch reads again'),
      );
  }
}
