// Review 11, finding: an empty node refused to lead whenever snapshots/ held anything it
// could not use, even when ZooKeeper's log was never compacted (it still starts at index 1,
// so the node can replay all of it like any fresh node). A leader that crashed during its
// first upload leaves such a partial directory (no manifest, so nothing was compacted
// behind it); with that leader dead and the other voter's disk lost, the survivor refused
// every take-over for ever (L1). The refusal is only right when compaction removed entries
// that no usable snapshot covers.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeSegment, encodeTail, encodeWalHead } from '../../../src/coordination/records.js';
import { encodeUploadRecord } from '../../../src/coordination/zk-snapshot-records.js';
import { rebuildFromZk } from '../../../src/server/rebuild-from-zk.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import { chainedLog } from '../coordination/chained-entries.js';
import { ScriptedZk } from '../coordination/scripted-zk.js';

const paths = new ClusterPaths('t');
const log = chainedLog([1, 1, 1, 1, 1]);

/** Entries 1..5 in ZooKeeper (compacted through an index, or never) and one snapshot directory at 4 whose upload never finished. */
function partialUploadOnly(compactedThrough: number): ScriptedZk {
  const zk = new ScriptedZk();
  const first = compactedThrough + 1;
  zk.put(paths.wal, compactedThrough === 0 ? new Uint8Array(0) : encodeWalHead({ firstSegmentIndex: first, snapshotIndex: compactedThrough }), 0);
  zk.put(paths.segment(first), encodeSegment(1, log.slice(compactedThrough), compactedThrough === 0 ? 0 : 1), 0);
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 5, segmentFirstIndex: first }), 1);
  zk.put(paths.snapshots, new Uint8Array(0), 0);
  zk.put(paths.snapshot(4), encodeUploadRecord({ nodeId: 'a', epochVersion: 1, startedAtMs: 1 }), 0);
  return zk;
}

function rebuild(zk: ScriptedZk) {
  return rebuildFromZk(
    { zk, clock: realClock, logger: silentLogger, nodeId: 'b', recovery: { hardState: null, entries: [], warnings: [] }, snapshots: { storage: new MemorySnapshotStore({ cluster: 't' }) } },
    paths,
    5,
  );
}

describe('an empty node whose ZooKeeper snapshots are all unusable', () => {
  it('may lead when the log was never compacted: it replays ZooKeeper from index 1', async () => {
    expect(await rebuild(partialUploadOnly(0))).toBeNull();
  });

  it('may not lead when compaction removed entries no usable snapshot covers', async () => {
    const out = await rebuild(partialUploadOnly(2));
    expect(out !== null && 'unusable' in out).toBe(true);
  });
});
