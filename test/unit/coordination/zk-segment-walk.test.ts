// The reader finds segments along their chain, never by listing wal/: every case below
// asserts no getChildren, and how many segments it read.
import { describe, expect, it } from 'vitest';
import { CompactedError, CorruptZnodeError } from '../../../src/common/errors.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeSegment, encodeTail, encodeWalHead } from '../../../src/coordination/records.js';
import { readCommittedEntries } from '../../../src/coordination/zk-log-reader.js';
import { chainNext } from '../../../src/core/chain.js';
import { EntryType, type ChainedEntry, type Entry } from '../../../src/core/types.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('walk');
/** Entry `index` of term 1; its chain value hashes it onto a fixed predecessor (the reader does not check chains). */
const entry = (index: number): ChainedEntry => {
  const base = { index, term: 1, type: EntryType.Normal, data: new TextEncoder().encode(`e${index}`) };
  return { ...base, chain: chainNext(new Uint8Array(16), base) };
};
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/**
 * A log of segments of the given lengths from index 1, each linking back to the one before
 * (unless withoutLinks names it: a segment from before back-links). The tail names the last.
 */
function log(lengths: readonly number[], withoutLinks: readonly number[] = []): { zk: ScriptedZk; firsts: number[]; last: number } {
  const zk = new ScriptedZk();
  zk.put(paths.wal, new Uint8Array(0), 0);
  const firsts: number[] = [];
  let next = 1;
  let prev = 0;
  for (const n of lengths) {
    const first = next;
    const entries = range(first, first + n - 1).map(entry);
    zk.put(paths.segment(first), encodeSegment(1, entries, withoutLinks.includes(first) ? 0 : prev), 0);
    firsts.push(first);
    prev = first;
    next = first + n;
  }
  const last = next - 1;
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: last, segmentFirstIndex: prev }), lengths.length + 1);
  return { zk, firsts, last };
}

const segmentReads = (zk: ScriptedZk): number => zk.calls.filter((c) => c.startsWith(`getData ${paths.wal}/`)).length;
const listings = (zk: ScriptedZk): number => zk.calls.filter((c) => c.startsWith('getChildren')).length;
const indexes = (es: readonly Entry[]): number[] => es.map((e) => e.index);

describe('readCommittedEntries without listing wal/', () => {
  it('reads only the tail segment when the entries lie in it', async () => {
    const { zk, firsts, last } = log(Array(100).fill(5));
    const got = await readCommittedEntries(zk, paths, last - 2, last, { tailSegmentFirstIndex: firsts[firsts.length - 1]! });
    expect(indexes(got)).toEqual([last - 1, last]);
    expect(segmentReads(zk)).toBe(1);
    expect(listings(zk)).toBe(0);
  });

  it('starts at seg-<after + 1> when a commit point ends a segment, then walks forwards', async () => {
    const { zk, last } = log(Array(100).fill(5));
    // after = 250 ends segment 246..250; 40 segments up to the tail
    const got = await readCommittedEntries(zk, paths, 250, last, { tailSegmentFirstIndex: 496 });
    expect(indexes(got)).toEqual(range(251, 500));
    // Every segment read once. The lanes reading ahead (zk-segment-read-ahead.ts) find the first
    // segment of each block of ~32 segments (160 names here) by probing 4 names at once: the
    // 3 after a hit are read too, and miss. Blocks here: from 261 (two segments past 251) on.
    const read = zk.calls.filter((c) => c.startsWith(`getData ${paths.wal}/`));
    expect(new Set(read).size).toBe(read.length);
    expect(read.filter((c) => zk.tree.has(c.slice('getData '.length)))).toHaveLength(50);
    expect(read.length).toBe(50 + 3 * 2);
    expect(listings(zk)).toBe(0);
  });

  it('mid-segment, short segments: the highest name just below that exists holds it (one round trip), then forwards', async () => {
    const { zk, last } = log(Array(100).fill(5));
    const got = await readCommittedEntries(zk, paths, 482, last, { tailSegmentFirstIndex: 496 });
    expect(indexes(got)).toEqual(range(483, 500));
    // The probe of seg-483 (a miss), the eight names below it at once (482..475: 481 holds
    // 483), then 486, 491, 496. Neither end of the log is read.
    expect(segmentReads(zk)).toBe(1 + 8 + 3);
    expect(zk.calls.filter((c) => c === `getData ${paths.wal}`)).toHaveLength(0);
    expect(listings(zk)).toBe(0);
  });

  it('mid-segment: a corrupt segment below the one that holds the index does not fail the read (review 17)', async () => {
    // Segments 1-2, 3-5, 6-9, 10-20; seg-3 does not decode. Reading after 7 needs seg-6 on.
    const { zk, last } = log([2, 3, 4, 11]);
    zk.put(paths.segment(3), new TextEncoder().encode('XXXX'), 1);
    const got = await readCommittedEntries(zk, paths, 7, last, { tailSegmentFirstIndex: 10 });
    expect(indexes(got)).toEqual(range(8, 20));
    // The segment holding the index, when corrupt, still fails it.
    const again = log([2, 3, 4, 11]);
    again.zk.put(paths.segment(6), new TextEncoder().encode('XXXX'), 1);
    await expect(readCommittedEntries(again.zk, paths, 7, again.last, { tailSegmentFirstIndex: 10 })).rejects.toBeInstanceOf(CorruptZnodeError);
  });

  it('mid-segment near the tail, long segments: walks back along the back-links, reading only the segments it returns', async () => {
    const { zk, last } = log(Array(40).fill(25));
    const got = await readCommittedEntries(zk, paths, 972, last, { tailSegmentFirstIndex: 976 });
    expect(indexes(got)).toEqual(range(973, 1000));
    // The probe of seg-973 (a miss), the 8 names below it (972..965: none exists), the wal
    // head, then segments 976, 951 (holds 973), nothing else.
    expect(segmentReads(zk)).toBe(1 + 8 + 2);
    expect(zk.calls.filter((c) => c === `getData ${paths.wal}`)).toHaveLength(1);
    expect(listings(zk)).toBe(0);
  });

  it('mid-segment near the head, long segments: walks forwards from the head instead of back from the tail', async () => {
    const { zk, last } = log(Array(40).fill(25));
    const got = await readCommittedEntries(zk, paths, 72, last, { tailSegmentFirstIndex: 976, maxSegments: 2 });
    expect(indexes(got)).toEqual(range(73, 100));
    // The probe of seg-73 (a miss), the names 72..65 (none exists), then 1, 26, 51 (holds 73)
    // and 76: nothing near the tail.
    expect(segmentReads(zk)).toBe(1 + 8 + 4);
    expect(listings(zk)).toBe(0);
  });

  it('a bounded read ends at a segment end, so the next one starts with one probe', async () => {
    const { zk, last } = log(Array(100).fill(5));
    const first = await readCommittedEntries(zk, paths, 482, last, { tailSegmentFirstIndex: 496, maxSegments: 2 });
    expect(indexes(first)).toEqual(range(483, 490));
    zk.calls.length = 0;
    const second = await readCommittedEntries(zk, paths, 490, last, { tailSegmentFirstIndex: 496, maxSegments: 2 });
    expect(indexes(second)).toEqual(range(491, 500));
    expect(segmentReads(zk)).toBe(2);
  });

  it('a hint (a snapshot manifest names the segment after it) walks forwards from there', async () => {
    const { zk, last } = log(Array(100).fill(5));
    const got = await readCommittedEntries(zk, paths, 303, last, { tailSegmentFirstIndex: 496, startSegmentFirstIndex: 301, maxSegments: 1 });
    expect(indexes(got)).toEqual([304, 305]);
    expect(segmentReads(zk)).toBe(1);
  });

  it('walks forwards from the head around a segment without a back-link (written before back-links)', async () => {
    const { zk, last } = log(Array(20).fill(5), [86]);
    const got = await readCommittedEntries(zk, paths, 82, last, { tailSegmentFirstIndex: 96 });
    expect(indexes(got)).toEqual(range(83, 100));
    expect(listings(zk)).toBe(0);
  });

  it('entries before the wal head are compacted: CompactedError says which snapshot holds them', async () => {
    const { zk, last } = log(Array(20).fill(5));
    for (const f of [1, 6, 11]) zk.tree.delete(paths.segment(f));
    zk.put(paths.wal, encodeWalHead({ firstSegmentIndex: 16, snapshotIndex: 17 }), 1);
    const err = await readCommittedEntries(zk, paths, 12, last, { tailSegmentFirstIndex: 96 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err).toMatchObject({ code: 'COMPACTED', wantedIndex: 13, firstAvailableIndex: 16, snapshotIndex: 17 });
    // After the snapshot at 17: fine, from the segment holding 18.
    expect(indexes(await readCommittedEntries(zk, paths, 17, 25, { tailSegmentFirstIndex: 96 }))).toEqual(range(18, 25));
    expect(listings(zk)).toBe(0);
  });

  it('a stale hint (a segment compacted since) is ignored', async () => {
    const { zk, last } = log(Array(20).fill(5));
    for (const f of [1, 6, 11]) zk.tree.delete(paths.segment(f));
    zk.put(paths.wal, encodeWalHead({ firstSegmentIndex: 16, snapshotIndex: 17 }), 1);
    expect(indexes(await readCommittedEntries(zk, paths, 20, last, { startSegmentFirstIndex: 6, tailSegmentFirstIndex: 96 }))).toEqual(range(21, 100));
  });

  it('a hole in the chain that compaction did not make is a corrupt tree, naming the segment', async () => {
    const { zk, last } = log(Array(20).fill(5));
    zk.tree.delete(paths.segment(51));
    const err = await readCommittedEntries(zk, paths, 40, last, { tailSegmentFirstIndex: 96 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptZnodeError);
    expect((err as CorruptZnodeError).path).toBe(paths.segment(51));
  });

  it('a back-link that does not meet the segment before it is corrupt', async () => {
    const { zk, last } = log([5, 5, 5, 5]);
    // seg-16 claims to follow seg-6, which ends at 10, not 15.
    zk.put(paths.segment(16), encodeSegment(1, range(16, 20).map(entry), 6), 0);
    const err = await readCommittedEntries(zk, paths, 12, last, { tailSegmentFirstIndex: 16 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptZnodeError);
  });

  it('without tailSegmentFirstIndex it reads the tail record when it must walk', async () => {
    const { zk, last } = log(Array(10).fill(40));
    expect(indexes(await readCommittedEntries(zk, paths, 384, last))).toEqual(range(385, 400));
    expect(zk.calls).toContain(`getData ${paths.tail}`);
  });
});
