// What the relays report about their own lateness: the maximum, the stalls counted from
// STALL_MS, one entry per stall (a stall delays many chunks at once) and only the worst kept.
import { describe, expect, it } from 'vitest';
import { RelayLateness, STALL_MS, WORST_KEPT } from '../../../src/harness/netns/relay-lateness.js';

describe('relay lateness', () => {
  it('counts chunks, keeps the maximum, and counts as stalled only those from STALL_MS', () => {
    const l = new RelayLateness();
    l.record('zk-a', 0, 1_000);
    l.record('zk-a', STALL_MS - 0.1, 2_000);
    l.record('peer-b', STALL_MS, 3_000);
    const s = l.stats();
    expect(s.chunks).toBe(3);
    expect(s.maxLateMs).toBe(STALL_MS);
    expect(s.stalledChunks).toBe(1);
    expect(s.worst).toEqual([{ at: 3_000, lateMs: STALL_MS, relay: 'peer-b' }]);
  });

  it('keeps one entry per stall: the worst of the chunks within 100 ms of each other', () => {
    const l = new RelayLateness();
    l.record('zk-a', 80, 10_000);
    l.record('zk-b', 120, 10_030);
    l.record('peer-a', 90, 10_060);
    const s = l.stats();
    expect(s.stalledChunks).toBe(3);
    expect(s.worst).toEqual([{ at: 10_030, lateMs: 120, relay: 'zk-b' }]);
  });

  it('keeps only the worst stalls, worst first', () => {
    const l = new RelayLateness();
    for (let i = 0; i < WORST_KEPT + 3; i++) l.record('zk-a', STALL_MS + i, i * 1_000);
    const s = l.stats();
    expect(s.worst).toHaveLength(WORST_KEPT);
    expect(s.worst.map((w) => w.lateMs)).toEqual(Array.from({ length: WORST_KEPT }, (_, i) => STALL_MS + WORST_KEPT + 2 - i));
  });

  it('reports the event loop apart from the chunks', () => {
    const l = new RelayLateness();
    l.loopGap(3, 1_000);
    l.loopGap(200, 5_000);
    const s = l.stats();
    expect(s.chunks).toBe(0);
    expect(s.maxLateMs).toBe(0);
    expect(s.maxLoopStallMs).toBe(200);
    expect(s.loopStalls).toBe(1);
    expect(s.worst).toEqual([{ at: 5_000, lateMs: 200, relay: 'event loop' }]);
  });
});
