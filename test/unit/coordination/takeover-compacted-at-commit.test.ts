// Review 10, finding 2: ZooKeeper compacted its log exactly through the taking-over node's
// commit index (its first entry is commit + 1), and the newest snapshot there is unusable.
// The replay starts at the commit index itself (issue 11 defect 1: ZooKeeper's entry there
// is compared with ours), so it meets COMPACTED for that entry; the older snapshot at the
// commit index installs nothing (the node is already there). Its point still proves the
// node's entry: the take-over replays after it and leads. Without that it gave the term up,
// again at every try.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeConfig, encodeEpoch, encodeLeader, encodeLease, encodeSegment, encodeTail, encodeWalHead } from '../../../src/coordination/records.js';
import { takeOver } from '../../../src/coordination/takeover.js';
import { chainedLog } from './chained-entries.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');
const log = chainedLog([1, 1, 1, 1, 1]);

function compactedThrough3(): ScriptedZk {
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 3);
  // The fence checks the config in which the taker is a voter.
  zk.put(paths.config, encodeConfig({ voters: ['a', 'b'], listeners: [] }), 1);
  zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 9, durationMs: 110, driftBound: 0.05 }), 10);
  zk.put(paths.leader, encodeLeader({ id: 'a', term: 1, address: 'a:1' }), 0, 'aaaa');
  zk.put(paths.wal, encodeWalHead({ firstSegmentIndex: 4, snapshotIndex: 3 }), 2);
  zk.put(paths.segment(4), encodeSegment(1, [log[3]!, log[4]!], 1), 0);
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 5, segmentFirstIndex: 4 }), 6);
  return zk;
}

const base = {
  paths,
  clock: realClock,
  logger: silentLogger,
  selfId: 'b',
  address: 'b:1',
  request: { term: 1, leaseVersion: 10, commit: 3, transfer: false },
  leaseDurationMs: 100,
  driftBound: 0.05,
  replayDeadlineMs: 2000,
};

describe('a take-over when ZooKeeper compacted exactly through the commit index', () => {
  it('a snapshot point at the commit index that matches proves the prefix: it replays after it and leads', async () => {
    const asked: number[] = [];
    const out = await takeOver({ ...base, zk: compactedThrough3(), loadSnapshot: (min) => (asked.push(min), Promise.resolve(3)) });
    expect(asked).toEqual([3]);
    expect(out.ok ? 'led' : out.result.reason).toBe('led');
    expect(out.ok && out.result.entries.map((x) => x.index)).toEqual([4, 5]);
  });

  it('without that proof (no snapshot there, or one that differs) it does not lead', async () => {
    const out = await takeOver({ ...base, zk: compactedThrough3(), loadSnapshot: () => Promise.resolve(null) });
    expect(out.ok).toBe(false);
  });
});
