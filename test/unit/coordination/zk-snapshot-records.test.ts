// The znode records of snapshots and compaction: round trips, and every kind of damage
// refused with CorruptZnodeError naming the znode.
import { describe, expect, it } from 'vitest';
import { CorruptZnodeError } from '../../../src/common/errors.js';
import { pb } from '../../../src/common/proto.js';
import { ClusterPaths, chunkName, parseChunkName, parseSnapshotName } from '../../../src/coordination/layout.js';
import { decodeSegment, decodeWalHead, encodeSegment, encodeWalHead } from '../../../src/coordination/records.js';
import { rechunk } from '../../../src/coordination/zk-snapshot-upload.js';
import {
  chunkCountFor,
  chunkSizeAt,
  decodeChunk,
  decodeManifest,
  encodeChunk,
  encodeManifest,
  type ZkSnapshotManifest,
} from '../../../src/coordination/zk-snapshot-records.js';
import { chainNext } from '../../../src/core/chain.js';
import { EntryType } from '../../../src/core/types.js';

const paths = new ClusterPaths('rec');
const manifest: ZkSnapshotManifest = {
  point: { index: 1234, term: 7, chain: new Uint8Array(16).fill(3) },
  sizeBytes: 1_000_001,
  sha256: new Uint8Array(32).fill(9),
  chunkCount: 4,
  chunkBytes: 262_144,
  madeBy: 'a',
  madeAtMs: 1_700_000_000_000,
  epochVersion: 12,
  nextSegmentFirstIndex: 1235,
};

function flip(data: Uint8Array, at: number): Uint8Array {
  // A copy: encode gives a Buffer, whose slice() is a view, and flipping a byte of the view
  // damaged the shared encoding for the tests after it (found by running the tests shuffled).
  const copy = Uint8Array.from(data);
  copy[at] = copy[at]! ^ 0x40;
  return copy;
}

function corruptPath(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptZnodeError);
    return (err as CorruptZnodeError).path;
  }
  throw new Error('expected CorruptZnodeError');
}

describe('snapshot manifest', () => {
  const path = paths.snapshotManifest(1234);

  it('round-trips', () => {
    expect(decodeManifest(path, encodeManifest(manifest), 1234)).toEqual(manifest);
  });

  it('a flipped byte anywhere is refused, naming the manifest znode, or changes nothing the record says', () => {
    const data = encodeManifest(manifest);
    const unchanged: number[] = [];
    for (let at = 0; at < data.length; at++) {
      let read: ZkSnapshotManifest | undefined;
      try {
        read = decodeManifest(path, flip(data, at), 1234);
      } catch {
        expect(corruptPath(() => decodeManifest(path, flip(data, at), 1234))).toBe(path);
        continue;
      }
      expect(read, `byte ${at}`).toEqual(manifest);
      unchanged.push(at);
    }
    // Only byte 7: the fifth byte of the checksum's varint, whose bit 0x40 lies above a
    // uint32's 32 bits and is dropped by the decoder, so the record read is the one written.
    expect(unchanged).toEqual([7]);
  });

  it('numbers that do not add up are refused even with a good checksum', () => {
    for (const bad of [
      { ...manifest, chunkCount: 5 },
      { ...manifest, chunkBytes: 0 },
      { ...manifest, sha256: new Uint8Array(31) },
      { ...manifest, point: { ...manifest.point, chain: new Uint8Array(8) } },
      { ...manifest, point: { ...manifest.point, term: 0 } },
      { ...manifest, nextSegmentFirstIndex: 1236 },
    ]) {
      expect(corruptPath(() => decodeManifest(path, encodeManifest(bad), 1234))).toBe(path);
    }
  });

  it('a manifest in the directory of another index is refused', () => {
    expect(corruptPath(() => decodeManifest(paths.snapshotManifest(99), encodeManifest(manifest), 99))).toBe(paths.snapshotManifest(99));
  });
});

describe('snapshot chunk', () => {
  const data = new Uint8Array(1000).map((_, i) => i & 0xff);
  const path = paths.snapshotChunk(1234, 2);
  const encoded = encodeChunk({ snapshotIndex: 1234, number: 2, data });

  it('round-trips', () => {
    expect(decodeChunk(path, encoded, 1234, 2, 1000)).toEqual(data);
  });

  it('a flipped byte, a misplaced chunk or a wrong size is refused, naming the chunk znode', () => {
    for (let at = 0; at < encoded.length; at += 7) expect(corruptPath(() => decodeChunk(path, flip(encoded, at), 1234, 2, 1000))).toBe(path);
    expect(corruptPath(() => decodeChunk(path, encoded, 1234, 3, 1000))).toBe(path);
    expect(corruptPath(() => decodeChunk(path, encoded, 1235, 2, 1000))).toBe(path);
    expect(corruptPath(() => decodeChunk(path, encoded, 1234, 2, 999))).toBe(path);
  });

  it('sizes: every chunk full but the last, at least one chunk', () => {
    expect(chunkCountFor(0, 10)).toBe(1);
    expect(chunkCountFor(10, 10)).toBe(1);
    expect(chunkCountFor(11, 10)).toBe(2);
    expect([0, 1, 2].map((n) => chunkSizeAt(n, 25, 10))).toEqual([10, 10, 5]);
  });

  it('rechunk cuts pieces of any size into exact chunks', async () => {
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (const n of [3, 0, 17, 1, 4]) yield new Uint8Array(n).fill(n);
    }
    const out: number[] = [];
    for await (const c of rechunk(pieces(), 10)) out.push(c.length);
    expect(out).toEqual([10, 10, 5]);
    async function* none(): AsyncGenerator<Uint8Array> {}
    const empty: number[] = [];
    for await (const c of rechunk(none(), 10)) empty.push(c.length);
    expect(empty).toEqual([0]);
  });
});

describe('names', () => {
  it('snapshot directories and chunks parse back, nothing else does', () => {
    expect(parseSnapshotName(paths.snapshot(42).split('/').pop()!)).toBe(42);
    expect(parseSnapshotName('manifest')).toBeNull();
    expect(parseSnapshotName('0000000000000000000x')).toBeNull();
    expect(parseChunkName(chunkName(17))).toBe(17);
    expect(parseChunkName('chunk-1')).toBeNull();
  });
});

describe('segment back-link and wal head', () => {
  const entries = [5, 6, 7].map((index) => {
    const base = { index, term: 2, type: EntryType.Normal, data: new Uint8Array([index]) };
    return { ...base, chain: chainNext(new Uint8Array(16), base) };
  });

  it('a segment carries its back-link; one written before back-links reads as 0 (unknown)', () => {
    expect(decodeSegment('p', encodeSegment(2, entries, 3)).prevFirstIndex).toBe(3);
    const old = pb.wal.Segment.decode(encodeSegment(2, entries, 3));
    old.prevFirstIndex = 0;
    expect(decodeSegment('p', pb.wal.Segment.encode(old).finish()).prevFirstIndex).toBe(0);
    expect(() => encodeSegment(2, entries, 5)).toThrow(/cannot follow/);
  });

  it('a back-link at or after the segment itself is corrupt', () => {
    const m = pb.wal.Segment.decode(encodeSegment(2, entries, 3));
    m.prevFirstIndex = 5;
    expect(corruptPath(() => decodeSegment(paths.segment(5), pb.wal.Segment.encode(m).finish()))).toBe(paths.segment(5));
  });

  it('the wal head: empty data means never compacted; nonsense is corrupt', () => {
    expect(decodeWalHead(paths.wal, new Uint8Array(0))).toEqual({ firstSegmentIndex: 1, snapshotIndex: 0 });
    expect(decodeWalHead(paths.wal, encodeWalHead({ firstSegmentIndex: 90, snapshotIndex: 100 }))).toEqual({ firstSegmentIndex: 90, snapshotIndex: 100 });
    expect(corruptPath(() => decodeWalHead(paths.wal, encodeWalHead({ firstSegmentIndex: 102, snapshotIndex: 100 })))).toBe(paths.wal);
    expect(corruptPath(() => decodeWalHead(paths.wal, new Uint8Array([0xff, 0xff])))).toBe(paths.wal);
  });
});
