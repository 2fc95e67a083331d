// Counting changes of leader from ZooKeeper's side: every take-over (and every transfer)
// moves the cluster's `epoch` znode with one versioned setData (the fence), so the
// difference between two reads of its version is exactly the number of new leaders in
// between, including any that came and went too fast for a status poll to see.
import { ClusterPaths } from '../coordination/layout.js';
import { connectZk, type NodeZkSession } from '../coordination/zk-client.js';

const CONNECT_TIMEOUT_MS = 10_000;

export class LeaderChangeCounter {
  private constructor(
    private readonly zk: NodeZkSession,
    private readonly epochPath: string,
  ) {}

  static async open(zkConnect: string, cluster: string): Promise<LeaderChangeCounter> {
    const zk = connectZk({ connectString: zkConnect });
    try {
      await zk.waitConnected(CONNECT_TIMEOUT_MS);
    } catch (err) {
      await zk.close();
      throw err;
    }
    return new LeaderChangeCounter(zk, new ClusterPaths(cluster).epoch);
  }

  /** Fences so far: the epoch znode's data version. */
  async fences(): Promise<number> {
    return (await this.zk.getData(this.epochPath)).stat.version;
  }

  close(): Promise<void> {
    return this.zk.close();
  }
}
