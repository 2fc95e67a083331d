// The write-gap follower of duoraft watch: a gap is reported from one acknowledged write
// to the next when they are at least minGapMs apart, with the members that acknowledged
// them and wall-clock ends; shorter gaps are not; nothing before the first write counts.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../../src/harness/chaos/ack-tracker.js';
import { type WriteGap, WriteGapFollower, wallClockMs } from '../../../src/harness/write-gaps.js';

/** Lets the follower take the acknowledgement (it waits for each one in turn). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function follow(acks: ReadonlyArray<{ at: number; by: string | null }>, minGapMs: number): Promise<{ gaps: WriteGap[]; follower: WriteGapFollower }> {
  const tracker = new AckTracker();
  const gaps: WriteGap[] = [];
  const follower = new WriteGapFollower(tracker, minGapMs, (g) => gaps.push(g), 0);
  await settle();
  for (const a of acks) {
    tracker.onWriteAck({ at: a.at, call: a.at - 1, by: a.by });
    await settle();
  }
  await follower.stop();
  return { gaps, follower };
}

describe('WriteGapFollower', () => {
  it('reports each stretch of at least minGapMs between two acknowledged writes', async () => {
    const { gaps, follower } = await follow(
      [
        { at: 1000, by: 'a:7001' },
        { at: 1010, by: 'a:7001' },
        { at: 1020, by: 'a:7001' },
        { at: 1203.5, by: 'b:7001' }, // the failover: 183.5 ms
        { at: 1210, by: 'b:7001' },
        { at: 1309, by: null }, // 99 ms: under the bound
        { at: 1410, by: null }, // 101 ms
      ],
      100,
    );
    expect(gaps).toEqual([
      { ms: 183.5, fromMs: wallClockMs(1020), toMs: wallClockMs(1203.5), lastBy: 'a:7001', nextBy: 'b:7001' },
      { ms: 101, fromMs: wallClockMs(1309), toMs: wallClockMs(1410), lastBy: null, nextBy: null },
    ]);
    expect(follower.stats()).toEqual({ gaps: 2, longestMs: 184 });
  });

  it('counts nothing before the first acknowledged write, and no gap without writes', async () => {
    const { gaps, follower } = await follow([{ at: 5000, by: 'a:7001' }], 100);
    expect(gaps).toEqual([]);
    expect(follower.stats()).toEqual({ gaps: 0, longestMs: 0 });
  });

  it('tells how long ago the last write was acknowledged', async () => {
    const tracker = new AckTracker();
    const follower = new WriteGapFollower(tracker, 100, () => undefined, 0);
    expect(follower.sinceLastWriteMs(10_000)).toBe(0);
    await settle();
    const at = 1000;
    tracker.onWriteAck({ at, call: at - 1, by: null });
    await settle();
    expect(follower.sinceLastWriteMs(at + 250)).toBe(250);
    await follower.stop();
  });

  it('wall-clock ends are the machine clock', () => {
    const now = performance.now();
    expect(Math.abs(wallClockMs(now) - Date.now())).toBeLessThan(1000);
  });
});
