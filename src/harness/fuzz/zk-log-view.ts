// What anyone who can read a plaintext cluster's ZooKeeper tree learns about its log: the
// epoch (term and leader), the tail, and every committed entry with its chain value. That
// is all a forger needs to make an AppendEntries whose entries chain onto the follower's
// log (issue 11 defect 1): the chain proves agreement, not authorship.
import { ClusterPaths } from '../../coordination/layout.js';
import { decodeEpoch, decodeTail } from '../../coordination/records.js';
import type { ZkSession } from '../../coordination/zk-api.js';
import { readCommittedEntries } from '../../coordination/zk-log-reader.js';
import type { ChainedEntry } from '../../core/types.js';

export interface ZkLogState {
  readonly term: number;
  readonly leaderId: string;
  readonly epochVersion: number;
  readonly tailIndex: number;
  readonly tailVersion: number;
}

export class ZkLogView {
  readonly paths: ClusterPaths;

  constructor(
    private readonly zk: ZkSession,
    cluster: string,
  ) {
    this.paths = new ClusterPaths(cluster);
  }

  async state(): Promise<ZkLogState> {
    const epoch = await this.zk.getData(this.paths.epoch);
    const tail = await this.zk.getData(this.paths.tail);
    const e = decodeEpoch(this.paths.epoch, epoch.data);
    const t = decodeTail(this.paths.tail, tail.data);
    return { term: e.term, leaderId: e.leaderId, epochVersion: epoch.stat.version, tailIndex: t.lastIndex, tailVersion: tail.stat.version };
  }

  /** The committed entry at `index`, with its chain value (throws when ZooKeeper does not hold it). */
  async entry(index: number): Promise<ChainedEntry> {
    const [e] = await readCommittedEntries(this.zk, this.paths, index - 1, index);
    if (!e?.chain) throw new Error(`ZooKeeper holds no chained entry at ${index}`);
    return { ...e, chain: e.chain };
  }
}
