// The fault kinds that hit both voters at once (issue 10), and what a chaos run records
// about snapshots and ZooKeeper's data.
import { describe, expect, it } from 'vitest';
import { defaultKinds, FAULT_KINDS, parseFaultKinds } from '../../../src/harness/chaos/fault-kinds.js';
import { BOTH_STAGGER_MS, planDetail, planFaults, RESTART_DELAY_MS } from '../../../src/harness/chaos/schedule.js';
import { SnapshotActivity } from '../../../src/harness/chaos/snapshot-activity.js';
import { parseMntr, ThinningSeries } from '../../../src/harness/chaos/zk-data-sampler.js';
import { failures, type ChaosResult } from '../../../src/harness/chaos/result.js';

describe('restart-both and wipe-both in the schedule', () => {
  it('are default kinds on loopback and in namespaces, after the older kinds (their schedules stay as they were)', () => {
    expect(FAULT_KINDS.slice(-2)).toEqual(['restart-both', 'wipe-both']);
    expect(defaultKinds('loopback')).toContain('wipe-both');
    expect(defaultKinds('netns')).toContain('restart-both');
    expect(parseFaultKinds('wipe-both,restart-both', 'netns')).toEqual(['wipe-both', 'restart-both']);
    // Adding the kinds changed nothing for a seed that does not use them.
    const older = ['kill-leader', 'kill-follower', 'wipe-restart'] as const;
    expect(planFaults(4, 9, older, [10, 20]).map((p) => p.kind)).toEqual(planFaults(4, 9, older, [10, 20]).map((p) => p.kind));
  });

  it('bring the old leader and the old follower back first in turn, each kind on its own, within the ranges', () => {
    const plans = planFaults(8, 12, ['restart-both', 'wipe-both'], [0, 0]);
    for (const kind of ['restart-both', 'wipe-both'] as const) {
      const mine = plans.filter((p) => p.kind === kind);
      expect(mine).toHaveLength(6);
      expect(mine.map((p) => (p.kind === kind ? p.firstBack : null))).toEqual(['leader', 'follower', 'leader', 'follower', 'leader', 'follower']);
      for (const p of mine) {
        const d = planDetail(p);
        expect(Number(d['staggerMs'])).toBeGreaterThanOrEqual(BOTH_STAGGER_MS[0]);
        expect(Number(d['staggerMs'])).toBeLessThanOrEqual(BOTH_STAGGER_MS[1]);
        expect(Number(d['restartDelayMs'])).toBeGreaterThanOrEqual(RESTART_DELAY_MS[0]);
        expect(Number(d['restartDelayMs'])).toBeLessThanOrEqual(RESTART_DELAY_MS[1]);
      }
    }
  });
});

describe('snapshot activity from the voters\' log lines', () => {
  it('counts takes, publishes, compacted segments, installs by source, rebuilds and failures; ignores the rest', () => {
    const a = new SnapshotActivity();
    const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, node: 'a', ...fields });
    a.onLine(line({ msg: 'snapshot taken', index: 1000, bytes: 5000, ms: 12 }));
    a.onLine(line({ msg: 'snapshot taken', index: 2000, bytes: 9000, ms: 40 }));
    a.onLine(line({ msg: 'zk snapshot: uploaded', index: 2000, sizeBytes: 9000, chunks: 1 }));
    a.onLine(line({ msg: 'zk snapshot: uploaded', index: 3000, sizeBytes: 9000, chunks: 1 }));
    a.onLine(line({ msg: 'zk wal: compacted', through: 2000, deletedSegments: 17 }));
    a.onLine(line({ msg: 'zk wal: compacted', through: 3000, deletedSegments: 3 }));
    // Logged after the compaction, which the line above already counted.
    a.onLine(line({ msg: 'snapshot published to ZooKeeper', index: 3000, compactedSegments: 3 }));
    a.onLine(line({ msg: 'snapshot installed', index: 3000, from: 'ZooKeeper' }));
    a.onLine(line({ msg: 'snapshot installed', index: 4000, from: 'voter b' }));
    a.onLine(line({ msg: 'empty data folder: rebuilt from the newest snapshot in ZooKeeper', index: 3000 }));
    a.onLine(line({ msg: 'publishing a snapshot to ZooKeeper failed; the next snapshot tries again' }));
    a.onLine(line({ msg: 'leading' }));
    a.onLine('not json, about a snapshot');
    expect(a.summary()).toEqual({
      taken: 2,
      published: 2,
      compactedSegments: 20,
      installed: 2,
      installedFromZooKeeper: 1,
      rebuilt: 1,
      failures: { take: 0, publish: 1, install: 0 },
      largestBytes: 9000,
      slowestTakeMs: 40,
    });
  });
});

describe('ZooKeeper data samples', () => {
  it('reads the numbers of a mntr answer', () => {
    const m = parseMntr('zk_version\t3.8.0-abc, built on 2023\nzk_approximate_data_size\t123456\nzk_znode_count\t42\n\nbroken line\n');
    expect(m.get('zk_approximate_data_size')).toBe(123456);
    expect(m.get('zk_znode_count')).toBe(42);
    expect(m.has('zk_version')).toBe(false);
  });

  it('keeps at most the bound of points, thinning the oldest evenly and doubling the interval', () => {
    const s = new ThinningSeries<number>(8, 1000);
    for (let i = 0; i < 100; i++) s.add(i);
    expect(s.all().length).toBeLessThan(8);
    expect(s.intervalMs).toBeGreaterThan(1000);
    // Still spread over the whole run, in order.
    expect(s.all()[0]).toBe(0);
    expect([...s.all()].sort((x, y) => x - y)).toEqual(s.all());
  });

  it('fails a run whose budgeted bytes went over the bound', () => {
    const base = { error: undefined, lost: 0, duplicated: 0, violation: undefined, unreadableKeys: [] } as unknown as ChaosResult;
    const zkData = { boundBytes: 100, tree: [], budget: [{ t: 1, budgetBytes: 101, walSegments: 1, snapshots: 1, complete: true }], maxApproximateDataBytes: 150, maxBudgetBytes: 101, missedTree: 0, missedBudget: 0, withinBound: false };
    expect(failures({ ...base, zkData }).join()).toMatch(/over its bound of 100/);
    expect(failures({ ...base, zkData: { ...zkData, maxBudgetBytes: 100, withinBound: true } })).toEqual([]);
  });
});
