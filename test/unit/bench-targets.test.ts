// The suite's verdicts (src/harness/bench-targets.ts): a target is judged only when its
// part ran, at the issue's bound exactly, and a missed one says so.
import { describe, expect, it } from 'vitest';
import type { LoadResult, SuiteResult } from '../../src/harness/bench.js';
import { failedPromotionBench, type PromotionBenchResult, type PromotionRound, withCleanup } from '../../src/harness/bench-promotion.js';
import { judgeTargets, targetLines } from '../../src/harness/bench-targets.js';

const machine = { cpus: 2, node: 'v20' };
const load = (opsPerSecond: number, p50: number): LoadResult => ({
  workload: 'write',
  consistency: 'linearizable',
  concurrency: 1,
  valueBytes: 256,
  seconds: 10,
  ops: opsPerSecond * 10,
  opsPerSecond,
  errors: 0,
  latencyMs: { p50, p90: p50, p99: p50, max: p50 },
  clientCpuPercent: 10,
});
const failover = (p50: number, p99: number, lost = 0): SuiteResult['failover'] => ({ count: 20, downtimeMs: { p50, p99, max: p99, all: [] }, acknowledged: 1000, lost });

describe('bench targets', () => {
  it('judges nothing for parts that did not run', () => {
    expect(judgeTargets({ machine })).toEqual([]);
  });

  it('holds the failover to p50 <= 100 ms, p99 <= 150 ms and nothing lost', () => {
    expect(judgeTargets({ machine, failover: failover(100, 150) })[0]?.met).toBe(true);
    expect(judgeTargets({ machine, failover: failover(100, 151) })[0]?.met).toBe(false);
    expect(judgeTargets({ machine, failover: failover(101, 120) })[0]?.met).toBe(false);
    expect(judgeTargets({ machine, failover: failover(60, 90, 1) })[0]?.met).toBe(false);
  });

  it('holds the steady part to no change of leader and nothing lost', () => {
    const figures = { stalls: { count: 3, whileLeading: 2, p99Ms: 120, maxMs: 130, busy: 0, starved: 3 }, leaseLapses: 5, suspicions: 1 };
    const steady = (leaderChanges: number, lost: number): NonNullable<SuiteResult['steady']> => ({
      minutes: 10,
      seconds: 600,
      writers: 64,
      valueBytes: 256,
      leaderChanges,
      writesPerSecond: 8000,
      latencyMs: { p50: 5, p99: 40, max: 90 },
      acknowledged: 4_800_000,
      failedWrites: 0,
      recentErrors: [],
      checked: 10_240,
      lost,
      nodes: { a: figures, b: figures },
      loadAverage: [9.5, 10.2],
    });
    const met = judgeTargets({ machine, steady: steady(0, 0) });
    expect(met).toHaveLength(1);
    expect(met[0]).toMatchObject({ issue: 12, met: true, measured: '0 leader changes, 0 lost (load average 9.5 -> 10.2)' });
    expect(judgeTargets({ machine, steady: steady(1, 0) })[0]?.met).toBe(false);
    expect(judgeTargets({ machine, steady: steady(0, 1) })[0]?.met).toBe(false);
  });

  it('compares one writer with the ZooKeeper multi, and 64 writers with etcd, from the same run', () => {
    const floor = { multis: 100, latencyMs: { p50: 1, p90: 1, p99: 2, max: 3 } };
    const v = judgeTargets({
      machine,
      singleWriter: load(800, 1.6),
      zkMultiFloor: floor,
      writers64: load(12_000, 3),
      etcd: { version: '3.4', members: 3, writers64: { ...load(3_000, 20), writers: 64, connections: 4 } },
    });
    expect(v.map((x) => x.met)).toEqual([false, true]);
    expect(v[0]?.measured).toContain('1.60x');
    expect(v[1]?.measured).toContain('4.00x');
    expect(targetLines(v)[0]).toMatch(/^ {2}\[NOT MET\] issue 12: /);
  });

  it('holds the promotion to 5 s from the command in every round, and nothing lost', () => {
    const round = (readyMs: number): PromotionRound => ({ round: 1, destroyed: 'b', destroyedRole: 'follower', promoted: 'p1', remained: 'a', refusedForMs: 4700, refusals: 30, readyMs, commitPoint: 100, failoverKilled: 'a', failoverMs: 90, readyTerm: 3, failoverTerm: 4 });
    const promotion = (ready: readonly number[], lost = 0): PromotionBenchResult => ({
      rounds: ready.map(round),
      readyMs: { p50: Math.min(...ready), max: Math.max(...ready) },
      refusedForMs: { p50: 4700, max: 4800 },
      failoverMs: { p50: 90, max: 90 },
      withinTarget: ready.filter((x) => x <= 5000).length,
      acknowledged: 1000,
      lost,
      failed: null,
      cleanupFailed: null,
    });
    const judge = (p: PromotionBenchResult) => judgeTargets({ machine, listeners: { rate: 2000, seconds: 10, tracePollMs: 20, phases: [], promotion: p } }).find((v) => v.target.includes('promoted'));
    expect(judge(promotion([300, 5000]))?.met).toBe(true);
    expect(judge(promotion([300, 5001]))?.met).toBe(false);
    expect(judge(promotion([300], 1))?.met).toBe(false);
    expect(judge(promotion([300, 1035]))?.measured).toMatch(/^max 1035 ms/);
    // A teardown that failed after complete rounds is shown beside them, not in their place.
    const dirty = judge(withCleanup(promotion([300, 1035]), ['client: did not finish within 10000 ms (abandoned; the next steps run)']));
    expect(dirty?.met).toBe(true);
    expect(dirty?.measured).toMatch(/^max 1035 ms.*; cleaning up afterwards failed: client: did not finish within 10000 ms/);
  });

  it('judges a promotion stage with a failed round, or none at all, NOT MET and says why', () => {
    const judge = (p: PromotionBenchResult) => judgeTargets({ machine, listeners: { rate: 2000, seconds: 10, tracePollMs: 20, phases: [], promotion: p } }).find((v) => v.target.includes('promoted'));
    const none = judge(failedPromotionBench('ZooKeeper did not start'));
    expect(none?.met).toBe(false);
    expect(none?.measured).toBe('no round completed; FAILED: ZooKeeper did not start');
    const round: PromotionRound = { round: 1, destroyed: 'b', destroyedRole: 'follower', promoted: 'p1', remained: 'a', refusedForMs: 4700, refusals: 30, readyMs: 300, commitPoint: 100, failoverKilled: 'a', failoverMs: 90, readyTerm: 3, failoverTerm: 4 };
    const partial = judge({ ...failedPromotionBench('round 2: p2 did not lead'), rounds: [round], readyMs: { p50: 300, max: 300 }, refusedForMs: { p50: 4700, max: 4700 }, failoverMs: { p50: 90, max: 90 } });
    expect(partial?.met).toBe(false);
    expect(partial?.measured).toMatch(/^max 300 ms .*; FAILED: round 2: p2 did not lead$/);
  });
});
