// At start, before a node serves anything: the segment znodes of wal/ it depends on (from
// its commit index, or the snapshot it starts from, to the tail) must verify. A corrupt one
// is CORRUPT_ZNODE naming its path, with what to do, and the node does not start: it would
// otherwise serve until a take-over or a catch-up first read the segment (issue 11 point 4).
import type { Clock } from '../common/clock.js';
import { CompactedError, CorruptZnodeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { verifyWalFrom, type WalVerifyReport } from '../coordination/zk-wal-verify.js';
import { genesisChain } from '../core/chain.js';

export interface ZkLogCheck {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly clusterId: string;
  /** The first index this node needs from ZooKeeper: its commit index or its snapshot's, whichever is higher (0: nothing). */
  readonly fromIndex: number;
  readonly tail: { readonly lastIndex: number; readonly segmentFirstIndex: number };
}

/** Verifies, logs what it read and how long it took; throws CorruptZnodeError with advice. */
export async function checkZkLogAtStart(c: ZkLogCheck): Promise<WalVerifyReport> {
  const started = c.clock.now();
  const verify = (fromIndex: number): Promise<WalVerifyReport> =>
    verifyWalFrom(c.zk, c.paths, { fromIndex, tailLastIndex: c.tail.lastIndex, tailSegmentFirstIndex: c.tail.segmentFirstIndex, genesis: genesisChain(c.clusterId) });
  let report: WalVerifyReport | null = null;
  try {
    let from = c.fromIndex;
    for (let attempt = 0; report === null; attempt++) {
      try {
        report = await verify(from);
      } catch (err) {
        // Behind the compaction point (the node loads a snapshot, then needs what follows the
        // head), or the leader compacted past where this walk was while it walked (at full
        // load it compacts behind every snapshot): go on from the head. Each walk starts at a
        // head past the last one's start, and the head never passes the tail read at start,
        // so this ends; what compaction deleted needs no check (a snapshot covers it), and
        // nothing at or past the head is skipped (giving way after a few walks could have
        // left a hole unread; review 20).
        if (!(err instanceof CompactedError) || err.firstAvailableIndex <= from) throw err;
        if (attempt > 0 && attempt % 10 === 0) c.logger.info({ fromIndex: c.fromIndex, head: err.firstAvailableIndex, walks: attempt + 1 }, "the start-up check of ZooKeeper's log keeps being overtaken by compaction; going on from the head");
        from = err.firstAvailableIndex;
      }
    }
  } catch (err) {
    if (!(err instanceof CorruptZnodeError)) throw err;
    const advice =
      `this node needs entries ${Math.max(1, c.fromIndex)}..${c.tail.lastIndex} from ZooKeeper and does not start on a log that does not verify. ` +
      `If the other voter holds these entries (its commit index reaches ${c.tail.lastIndex}), start it first: it does not need this segment and serves. ` +
      `To repair ZooKeeper's copy, stop both nodes and run duoraft admin restore-zk --force with the data folder of the most advanced node (it rewrites the tree from that folder)`;
    c.logger.error({ path: err.path, err: err.message, fromIndex: c.fromIndex, tail: c.tail.lastIndex }, `CORRUPT_ZNODE: ${err.message}; ${advice}`);
    throw new CorruptZnodeError(err.path, `${err.message.replace(/^corrupt znode \S+: /, '')}; ${advice}`, { cause: err });
  }
  c.logger.info({ segments: report.segments, bytes: report.bytes, from: report.firstIndex, to: report.lastIndex, how: report.how, ms: Math.round(c.clock.now() - started) }, "verified ZooKeeper's log from this node's commit index to the tail");
  return report;
}
