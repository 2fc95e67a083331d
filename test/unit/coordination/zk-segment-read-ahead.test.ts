// The read-ahead of the segment chain (zk-segment-read-ahead.ts) with a fake reader whose
// replies come in rounds (every read in flight is answered together, as one round trip):
// the chain comes out exactly as a plain walk gives it, in fewer round trips, with about one
// read per segment, within its bounds, and a broken tree or a failed read is never hidden.
import { describe, expect, it } from 'vitest';
import type { SegmentRecord } from '../../../src/coordination/records.js';
import { SegmentReadAhead, type SizedSegment } from '../../../src/coordination/zk-segment-read-ahead.js';

/** A log of segments of the given lengths from index 1, by first index. */
function chain(lengths: readonly number[], bytes = 1000): Map<number, SizedSegment> {
  const out = new Map<number, SizedSegment>();
  let first = 1;
  let prev = 0;
  for (const n of lengths) {
    const record: SegmentRecord = { term: 1, firstIndex: first, lastIndex: first + n - 1, prevFirstIndex: prev, entries: [] };
    out.set(first, { record, bytes });
    prev = first;
    first += n;
  }
  return out;
}

/** Answers reads in rounds: run() answers everything in flight, again and again until idle. */
class RoundTripReader {
  readonly asked: number[] = [];
  rounds = 0;
  maxInFlight = 0;
  private inFlight: Array<() => void> = [];
  readonly failing = new Set<number>();

  constructor(private readonly segments: Map<number, SizedSegment>) {}

  readonly read = (first: number): Promise<SizedSegment | null> => {
    this.asked.push(first);
    return new Promise((resolve, reject) => {
      this.inFlight.push(() => (this.failing.has(first) ? reject(new Error(`read of ${first} failed`)) : resolve(this.segments.get(first) ?? null)));
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.length);
    });
  };

  /** Drives `walk` to its end, answering the reads in flight one round at a time. */
  async run<T>(walk: Promise<T>): Promise<T> {
    let done = false;
    const result = walk.finally(() => {
      done = true;
    });
    result.catch(() => undefined);
    while (!done) {
      // Let the walk issue what it will before answering a round.
      for (let k = 0; k < 20; k++) await Promise.resolve();
      const round = this.inFlight;
      this.inFlight = [];
      if (round.length > 0) this.rounds++;
      for (const answer of round) answer();
    }
    return result;
  }
}

/** Takes the chain from `first` along l + 1 until the segment holding `upTo`. */
async function walkChain(ra: SegmentReadAhead, first: number, upTo: number): Promise<number[]> {
  const got: number[] = [];
  let next = first;
  for (;;) {
    const seg = await ra.take(next);
    if (!seg) throw new Error(`missing ${next}`);
    got.push(seg.record.firstIndex);
    if (seg.record.lastIndex >= upTo) return got;
    next = seg.record.lastIndex + 1;
  }
}

const soakLike = (count: number): number[] => Array.from({ length: count }, (_, k) => [1, 2, 3, 4, 5, 6, 4, 2][k % 8]!);

describe('SegmentReadAhead', () => {
  it('with no lanes it is a plain walk: one read per segment, one round trip each', async () => {
    const log = chain(soakLike(300));
    const last = [...log.values()].pop()!.record.lastIndex;
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 0, lastName: last });
    expect(await zk.run(walkChain(ra, 1, last))).toEqual([...log.keys()]);
    expect(zk.asked).toEqual([...log.keys()]);
    expect(zk.rounds).toBe(300);
  });

  it('with lanes: the same chain, about one read per segment, in a fraction of the round trips, within its bounds', async () => {
    const log = chain(soakLike(3000));
    const last = [...log.values()].pop()!.record.lastIndex;
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last });
    expect(await zk.run(walkChain(ra, 1, last))).toEqual([...log.keys()]);
    // Every name read at most once; reads that found no segment are the probes (4 a block).
    expect(new Set(zk.asked).size).toBe(zk.asked.length);
    const misses = zk.asked.filter((n) => !log.has(n)).length;
    expect(zk.asked.length - misses).toBe(3000);
    expect(misses).toBeLessThanOrEqual(3000 / 8);
    expect(Math.max(...zk.asked)).toBeLessThanOrEqual(last);
    // 16 lanes, each one read (or 4 probes) in flight, plus the caller's own.
    expect(zk.maxInFlight).toBeLessThanOrEqual(16 * 4 + 1);
    expect(zk.rounds).toBeLessThan(3000 / 8);
    expect(ra.requests).toBe(zk.asked.length);
  });

  it('a short walk reads exactly the segments it takes', async () => {
    const log = chain(soakLike(300));
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: 10_000 });
    expect(await zk.run(walkChain(ra, 1, 10))).toEqual([1, 2, 4, 7]);
    ra.close();
    expect(zk.asked).toEqual([1, 2, 4, 7]);
  });

  it('never reads a name past lastName', async () => {
    const log = chain(soakLike(500));
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: 800 });
    const got = await zk.run(walkChain(ra, 1, 800));
    expect(log.get(got[got.length - 1]!)!.record.lastIndex).toBeGreaterThanOrEqual(800);
    expect(Math.max(...zk.asked)).toBeLessThanOrEqual(800);
  });

  it('long segments: no lanes (probing would mostly miss), one read per segment', async () => {
    const log = chain(Array(200).fill(20));
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: 4000 });
    await zk.run(walkChain(ra, 1, 4000));
    expect(zk.asked).toEqual([...log.keys()]);
  });

  it('large segments: fewer lanes, so that what is read ahead stays near the byte bound', async () => {
    const log = chain(soakLike(2000), 256 * 1024);
    const last = [...log.values()].pop()!.record.lastIndex;
    const zk = new RoundTripReader(log);
    // 8 MiB / (32 segments of 256 KiB) = 1 lane.
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last });
    let maxLanes = 0;
    const got: number[] = [];
    await zk.run(
      (async () => {
        for (let next = 1; next <= last; ) {
          const seg = (await ra.take(next))!;
          maxLanes = Math.max(maxLanes, ra.activeLanes);
          got.push(seg.record.firstIndex);
          next = seg.record.lastIndex + 1;
        }
      })(),
    );
    expect(got).toEqual([...log.keys()]);
    expect(maxLanes).toBe(1);
  });

  /** A name a lane probes first in its block and finds no segment at (from a dry run: the reads are deterministic). */
  async function firstProbeMiss(lengths: readonly number[], last: number): Promise<number> {
    const log = chain(lengths);
    const zk = new RoundTripReader(log);
    await zk.run(walkChain(new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last }), 1, last));
    const asked = new Set(zk.asked);
    return zk.asked.find((n) => !log.has(n) && !asked.has(n - 1))!;
  }

  it('a segment off the chain (a name inside another segment) is never handed out for the chain', async () => {
    const last = 1300;
    const orphanFirst = await firstProbeMiss(soakLike(400), last);
    expect(orphanFirst).toBeGreaterThan(1);
    const log = chain(soakLike(400));
    // An orphan at a name inside a segment of the chain (a broken tree), where a lane starts its block.
    log.set(orphanFirst, { record: { term: 1, firstIndex: orphanFirst, lastIndex: orphanFirst + 50, prevFirstIndex: 0, entries: [] }, bytes: 1000 });
    const zk = new RoundTripReader(log);
    const got = await zk.run(walkChain(new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last }), 1, last));
    expect(zk.asked).toContain(orphanFirst);
    expect(got).not.toContain(orphanFirst);
    expect(got).toEqual([...chain(soakLike(400)).keys()].filter((f) => f <= last));
  });

  it('a failed read the walk never needs is ignored; one it needs is thrown', async () => {
    const last = 1300;
    const probed = await firstProbeMiss(soakLike(400), last);
    const log = chain(soakLike(400));
    const zk = new RoundTripReader(log);
    zk.failing.add(probed);
    const got = await zk.run(walkChain(new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last }), 1, last));
    expect(zk.asked).toContain(probed);
    expect(got).toEqual([...log.keys()].filter((f) => f <= last));

    const needed = [...log.keys()].find((n) => n > 600)!;
    const again = new RoundTripReader(log);
    again.failing.add(needed);
    const err = await again.run(walkChain(new SegmentReadAhead(again.read, 1, { lanes: 16, lastName: last }), 1, last)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`read of ${needed} failed`);
  });

  it('close() stops the lanes: nothing is read after it', async () => {
    const log = chain(soakLike(3000));
    const zk = new RoundTripReader(log);
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: 20_000 });
    await zk.run(walkChain(ra, 1, 2000));
    ra.close();
    const asked = zk.asked.length;
    await zk.run(Promise.resolve());
    for (let k = 0; k < 50; k++) await Promise.resolve();
    expect(zk.asked.length).toBe(asked);
    // What it read beyond the walk is bounded by the lanes' blocks ahead (16 blocks of ~32 segments, 3.4 names each).
    expect(zk.asked.filter((n) => n > 2000).length).toBeLessThanOrEqual(16 * 32 * 4);
  });
});

describe('SegmentReadAhead: bounds found by review 17', () => {
  it('segments ahead far larger than the recent ones: what is read and not taken stays at the byte bound (plus one segment a lane)', async () => {
    // 200 small segments, then large ones: lanes started on the small ones' mean.
    const lengths = soakLike(1200);
    const log = chain(lengths, 200);
    let k = 0;
    for (const seg of log.values()) if (k++ >= 200) (seg as { bytes: number }).bytes = 700 * 1024;
    const last = [...log.values()].pop()!.record.lastIndex;
    const zk = new RoundTripReader(log);
    const bound = 8 * 1024 * 1024;
    const ra = new SegmentReadAhead(zk.read, 1, { lanes: 16, lastName: last, maxBufferedBytes: bound });
    let maxBuffered = 0;
    await zk.run(
      (async () => {
        for (let next = 1; next <= last; ) {
          const seg = (await ra.take(next))!;
          maxBuffered = Math.max(maxBuffered, ra.bufferedBytes);
          // A slow caller (compaction's multis, the start-up check's hashing).
          for (let i = 0; i < 50; i++) await Promise.resolve();
          next = seg.record.lastIndex + 1;
        }
      })(),
    );
    expect(maxBuffered).toBeLessThanOrEqual(bound + 16 * 4 * 700 * 1024);
    // It was 338 MiB before the bound counted what arrived.
    expect(maxBuffered).toBeLessThan(64 * 1024 * 1024);
  });

  it('rounds of at most 64 segments (catch-up) read about one name per segment, not three', async () => {
    const log = chain(soakLike(1280));
    const last = [...log.values()].pop()!.record.lastIndex;
    const zk = new RoundTripReader(log);
    let next = 1;
    let segments = 0;
    for (let round = 0; round < 20; round++) {
      const ra = new SegmentReadAhead(zk.read, next, { lanes: 16, lastName: last, maxSegments: 64 });
      await zk.run(
        (async () => {
          for (let n = 0; n < 64 && next <= last; n++) {
            const seg = (await ra.take(next))!;
            segments++;
            next = seg.record.lastIndex + 1;
          }
        })(),
      );
      ra.close();
    }
    expect(segments).toBe(1280);
    // 3,680 reads before (2.88 a segment).
    expect(zk.asked.length / segments).toBeLessThan(1.5);
  });

  it("a lane's failed read is read again when the walk needs it, not thrown", async () => {
    const log = chain(soakLike(400));
    const last = 1300;
    const needed = [...log.keys()].find((n) => n > 600)!;
    let failures = 0;
    const zk = new RoundTripReader(log);
    const flaky = (first: number): Promise<SizedSegment | null> => {
      if (first === needed && failures === 0) {
        failures++;
        zk.asked.push(first);
        return Promise.reject(new Error('connection loss'));
      }
      return zk.read(first);
    };
    const got = await zk.run(walkChain(new SegmentReadAhead(flaky, 1, { lanes: 16, lastName: last }), 1, last));
    expect(failures).toBe(1);
    expect(got).toEqual([...log.keys()].filter((f) => f <= last));
  });
});
