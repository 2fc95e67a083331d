// The start-up check of ZooKeeper's log while the leader compacts it: at full load the
// leader compacts behind every snapshot, so the head can move past the walk again and
// again. The check went on from the new head once, then the node exited with COMPACTED
// (the CI chaos run's follower that never came back). Now it goes on from the head a few
// times, then gives way with a warning: compaction is no corruption.
import { describe, expect, it } from 'vitest';
import { CorruptZnodeError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeSegment, encodeWalHead } from '../../../src/coordination/records.js';
import type { ZkStat, ZkWatcher } from '../../../src/coordination/zk-api.js';
import { genesisChain } from '../../../src/core/chain.js';
import { RaftLog } from '../../../src/core/log.js';
import { EntryType, type ChainedEntry } from '../../../src/core/types.js';
import { checkZkLogAtStart } from '../../../src/server/zk-log-check.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';

const clusterId = 'cd'.repeat(16);
const paths = new ClusterPaths('check');
const log: ChainedEntry[] = RaftLog.chainFrom(
  genesisChain(clusterId),
  Array.from({ length: 4000 }, (_, k) => ({ index: k + 1, term: 1, type: EntryType.Normal, data: new TextEncoder().encode(`e${k + 1}`) })),
);

/** Segments of 10 entries from index 1; every `every` segment reads, the leader compacts the next 30 entries (at most `times` times). */
class CompactingZk extends ScriptedZk {
  private reads = 0;
  head = 1;
  constructor(
    private readonly every: number,
    private times = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.put(paths.wal, new Uint8Array(0), 1);
    for (let f = 1; f <= 4000; f += 10) this.put(paths.segment(f), encodeSegment(1, log.slice(f - 1, f + 9), f > 1 ? f - 10 : 0), 0);
  }
  /** Report more children than the check lists, so it walks the chain. */
  forceWalk = false;
  override async exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    const stat = await super.exists(path, watcher);
    return this.forceWalk && path === paths.wal && stat ? { ...stat, numChildren: 1_000_000 } : stat;
  }
  override getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    if (path.startsWith(`${paths.wal}/`) && ++this.reads % this.every === 0 && this.head + 30 <= 3991 && this.times-- > 0) {
      for (let f = this.head; f < this.head + 30; f += 10) this.tree.delete(paths.segment(f));
      this.head += 30;
      this.put(paths.wal, encodeWalHead({ firstSegmentIndex: this.head, snapshotIndex: this.head - 1 }), 1 + this.head);
    }
    return super.getData(path, watcher);
  }
}

const check = (zk: ScriptedZk, fromIndex: number) =>
  checkZkLogAtStart({ zk, paths, clock: realClock, logger: silentLogger, clusterId, fromIndex, tail: { lastIndex: 4000, segmentFirstIndex: 3991 } });

describe('the start-up check of wal/ while the leader compacts', () => {
  it('goes on from the new head when compaction overtakes it, and verifies the rest', async () => {
    const zk = new CompactingZk(20, 2);
    const report = await check(zk, 5);
    expect(report.lastIndex).toBe(4000);
    expect(zk.head).toBe(61);
    expect(report.firstIndex).toBeGreaterThan(5);
  });

  it('overtaken at every read, it goes on from the head until it reaches the tail: nothing past the head is skipped', async () => {
    const zk = new CompactingZk(1);
    const report = await check(zk, 5);
    expect(report.lastIndex).toBe(4000);
  });

  for (const listingLimit of ['listed', 'walked'] as const) {
    it(`${listingLimit}: a hole past the head is CORRUPT_ZNODE naming it, while compaction runs (review 20)`, async () => {
      // Compaction goes on through the walk (the listing: twice, or it would compact past
      // the hole before the many short walks reach it, and rightly pass).
      const zk = listingLimit === 'walked' ? new CompactingZk(20) : new CompactingZk(20, 2);
      zk.tree.delete(paths.segment(3001));
      if (listingLimit === 'walked') zk.forceWalk = true;
      const err = await check(zk, 5).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptZnodeError);
      // The walk names the missing segment; the listing, the one after the gap.
      expect([paths.segment(3001), paths.segment(3011)]).toContain((err as CorruptZnodeError).path);
    });
  }
});
