// Review of issue 9, hole 2: the take-over checks the session around its tail read, but not
// around the segment reads that follow. If the session expires between the two, the new
// session may sit on a server that has not applied the newest segment yet: its read fails
// (NO_NODE, or "segments end at X, tail says Y" as a CorruptZnodeError), and the take-over
// gives its fenced term up at once instead of syncing and reading again. Safe (nothing wrong
// is read), but the failover then waits for another lease window and fence (L1).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeConfig, encodeEpoch, encodeLeader, encodeLease, encodeSegment, encodeTail } from '../../../src/coordination/records.js';
import { takeOver } from '../../../src/coordination/takeover.js';
import type { ZkStat, ZkWatcher } from '../../../src/coordination/zk-api.js';
import { ZkError } from '../../../src/coordination/zk-api.js';
import { chainedLog } from './chained-entries.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');
/** A's log: entries 1..5 of term 1, chained. */
const logOfA = chainedLog([1, 1, 1, 1, 1]);
const e = (index: number, _term: number) => logOfA[index - 1]!;

/** A ScriptedZk whose new session, until sync(), sits on a server that lacks one znode. */
class LaggingSegmentZk extends ScriptedZk {
  missing: string | null = null;
  override getData(path: string, w?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    if (path === this.missing) return Promise.reject(new ZkError('NO_NODE', path, 'not on this (lagging) server yet'));
    return super.getData(path, w);
  }
  override sync(path: string): Promise<void> {
    this.missing = null;
    return super.sync(path);
  }
}

describe('take-over replay across a session change (R3, L1)', () => {
  it('a segment read on a new, lagging session is retried after sync, not taken as the end of the term', async () => {
    const zk = new LaggingSegmentZk();
    zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 3);
    // The fence checks the config in which the taker is a voter.
    zk.put(paths.config, encodeConfig({ voters: ['a', 'b'], listeners: [] }), 1);
    zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 9, durationMs: 110, driftBound: 0.05 }), 10);
    zk.put(paths.leader, encodeLeader({ id: 'a', term: 1, address: 'a:1' }), 0, 'aaaa');
    zk.put(paths.segment(1), encodeSegment(1, [e(1, 1), e(2, 1), e(3, 1)]), 0);
    zk.put(paths.segment(4), encodeSegment(1, [e(4, 1), e(5, 1)]), 0);
    zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 5, segmentFirstIndex: 4 }), 6);
    // The tail is read in the fence's session (fresh, no sync), then the list of segments;
    // right after it, the session expires and the new one lands on a server that has not
    // applied seg-4 yet. The segment reads go to that server.
    const getChildren = zk.getChildren.bind(zk);
    zk.getChildren = (path, w) =>
      getChildren(path, w).then((names) => {
        zk.getChildren = getChildren;
        zk.expireSession();
        zk.missing = paths.segment(4);
        return names;
      });
    const out = await takeOver({
      zk,
      paths,
      clock: realClock,
      logger: silentLogger,
      selfId: 'b',
      address: 'b:1',
      request: { term: 1, leaseVersion: 10, commit: 0, transfer: false },
      leaseDurationMs: 100,
      driftBound: 0.05,
      replayDeadlineMs: 2000,
    });
    expect(out.ok ? 'led' : out.result.reason).toBe('led');
    expect(out.ok && out.result.entries.map((x) => x.index)).toEqual([1, 2, 3, 4, 5]);
  });
});
