// The mirror writes each segment's back-link: the first index of the segment before it,
// from the tail it started from, from its own previous batch, and after resolving an
// unknown outcome from the tail it read.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeSegment, encodeEpoch, encodeSegment, encodeTail } from '../../../src/coordination/records.js';
import { WalMirror } from '../../../src/coordination/wal-mirror.js';
import { readCommittedEntries } from '../../../src/coordination/zk-log-reader.js';
import { chainNext } from '../../../src/core/chain.js';
import { EntryType, type ChainedEntry } from '../../../src/core/types.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('links');
/** An entry of 100 bytes; its chain value hashes it onto a fixed predecessor (nothing here checks the chain). */
const e = (index: number, term: number): ChainedEntry => {
  const base = { index, term, type: EntryType.Normal, data: new Uint8Array(100) };
  return { ...base, chain: chainNext(new Uint8Array(16), base) };
};

/** Term 1 left entries 1..3 in seg-1; the tail at version 2 names it. Term 2 leads (epoch version 4). */
function cluster(): ScriptedZk {
  const zk = new ScriptedZk();
  zk.put(paths.wal, new Uint8Array(0), 0);
  zk.put(paths.epoch, encodeEpoch({ term: 2, leaderId: 'b' }), 4);
  zk.put(paths.segment(1), encodeSegment(1, [e(1, 1), e(2, 1), e(3, 1)]), 0);
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 3, segmentFirstIndex: 1 }), 2);
  return zk;
}

function mirror(zk: ScriptedZk, tailSegmentFirstIndex: number | undefined, committed: number[]): WalMirror {
  return new WalMirror({
    zk,
    paths,
    clock: realClock,
    logger: silentLogger,
    term: 2,
    epochVersion: 4,
    tailVersion: 2,
    tailLastIndex: 3,
    ...(tailSegmentFirstIndex !== undefined ? { tailSegmentFirstIndex } : {}),
    maxInflight: 4,
    maxBatchBytes: 300, // two entries of 100 bytes (+32 each) per segment
    maxQueuedEntries: 100,
    onCommitted: (i) => committed.push(i),
    onFenced: (r) => committed.push(-1, r.length),
    onFailed: (r) => committed.push(-2, r.length),
  });
}

async function until(cond: () => boolean): Promise<void> {
  for (let k = 0; k < 200 && !cond(); k++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}

const link = (zk: ScriptedZk, first: number): number => decodeSegment(paths.segment(first), zk.tree.get(paths.segment(first))!.data).prevFirstIndex;

describe('segment back-links written by the mirror', () => {
  it('link each segment to the one before, the first to the tail segment it started from', async () => {
    const zk = cluster();
    const committed: number[] = [];
    const m = mirror(zk, 1, committed);
    m.enqueue([4, 5, 6, 7, 8, 9].map((i) => e(i, 2)));
    await until(() => committed.includes(9));
    expect([4, 6, 8].map((f) => link(zk, f))).toEqual([1, 4, 6]);
    // So a read from the middle of seg-1 walks back from the tail without listing wal/.
    zk.calls.length = 0;
    const got = await readCommittedEntries(zk, paths, 1, 9, { tailSegmentFirstIndex: 8 });
    expect(got.map((x) => x.index)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(zk.calls.some((c) => c.startsWith('getChildren'))).toBe(false);
  });

  it('after an unknown outcome, re-sent batches link to the segment the tail names', async () => {
    const zk = cluster();
    const committed: number[] = [];
    const m = mirror(zk, 1, committed);
    // Two batches leave at once (4..5 linking to 1, 6..7 to 4); the first is lost unapplied,
    // so the second fails too. The mirror reads the tail (still seg-1) and sends both again.
    zk.failNextMulti('CONNECTION_LOSS', false);
    m.enqueue([4, 5, 6, 7].map((i) => e(i, 2)));
    await until(() => committed.includes(7));
    expect(zk.calls.filter((c) => c === `getData ${paths.tail}`).length).toBeGreaterThan(0);
    expect([4, 6].map((f) => link(zk, f))).toEqual([1, 4]);
  });

  it('after a lost reply of a batch that landed, the next batch links to it', async () => {
    const zk = cluster();
    const committed: number[] = [];
    const m = mirror(zk, 1, committed);
    zk.failNextMulti('CONNECTION_LOSS', true);
    m.enqueue([e(4, 2), e(5, 2)]);
    await until(() => committed.includes(5));
    m.enqueue([e(6, 2), e(7, 2)]);
    await until(() => committed.includes(7));
    expect([4, 6].map((f) => link(zk, f))).toEqual([1, 4]);
  });

  it('without the tail segment given, the first link is unknown (0) and the rest are right', async () => {
    const zk = cluster();
    const committed: number[] = [];
    const m = mirror(zk, undefined, committed);
    m.enqueue([4, 5, 6, 7].map((i) => e(i, 2)));
    await until(() => committed.includes(7));
    expect([4, 6].map((f) => link(zk, f))).toEqual([0, 4]);
  });
});
