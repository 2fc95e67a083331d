// Issue 4: the bounded chaos run in CI. Real processes, a real ZooKeeper, TCP proxies;
// at least PER_KIND faults of every kind, both voters killed (and wiped) together among
// them (issue 10), at full load with small snapshot intervals, so snapshots, compaction,
// installs and rebuilds from ZooKeeper all happen during the run. It fails on a lost or
// duplicated write, a history that is not linearizable, ZooKeeper's data over its bound, or
// a cluster that does not recover; it never fails on a timing. The downtimes it saw are
// printed and kept in out/chaos-ci/result.json (and report.html).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, runChaos } from '../../src/harness/chaos/index.js';
import type { ChaosResult, FaultKind } from '../../src/harness/chaos/index.js';

// 10 of each of eight kinds (80 faults; 20 of each of six before restart-both and wipe-both
// came, which take twice as long as the others to be whole again): CI's time stays where it
// was (notes/results.md).
const PER_KIND = 10;
// Every one-fault kind, wipe-restart included: it once stalled (AppendEntries to a wiped
// follower collapsed into calls that all missed their deadline; notes/chaos.md), and this
// run is what shows it stays fixed. kill-follower-after-failover (two faults in one, about
// 3 s each) has its own shorter run in chaos-short.test.ts, to keep this file bounded.
const CI_KINDS: readonly FaultKind[] = ['kill-leader', 'kill-follower', 'pause-leader', 'cut-link', 'cut-zk', 'wipe-restart', 'restart-both', 'wipe-both'];
// A snapshot every 1,000 entries (seconds apart at this load), 200 kept in memory behind
// it: a follower down for a restart falls behind the compaction point and must install a
// snapshot, and wiped voters rebuild from ZooKeeper's snapshot, not from a log since 1.
const SNAPSHOT_ARGS = ['--snapshot-every-entries', '1000', '--snapshot-retain-entries', '200'];
const quiet = (): void => undefined;

describe('duoraft chaos, bounded', () => {
  it(`survives ${PER_KIND} faults of each kind with nothing lost, nothing applied twice, a linearizable history`, async () => {
    const outDir = join('out', 'chaos-ci');
    const run = await runChaos({
      ...CHAOS_DEFAULTS,
      seed: 20261123,
      failovers: PER_KIND * CI_KINDS.length,
      kinds: CI_KINDS,
      clients: 8,
      // Shorter steady spells and faults than the command's defaults, so that the faults fit
      // in CI's time. Pauses and cuts of the voter link are still well past the election
      // timeout, so each can force a take-over. A cut from ZooKeeper forces one only past the
      // lapse silence plus the election timeout (lapseSilenceMs, about 1 s with the defaults;
      // review 36): the range spans both, so some cuts are ridden out by a lapsed leader that
      // keeps leading and some end in a take-over. Full load: no pause between a client's
      // calls (with snapshots a wiped or restarted node's catch-up no longer grows with the
      // history).
      steadyMs: [150, 400],
      durations: { pauseMs: [400, 1200], cutMs: [500, 2000] },
      thinkMs: 0,
      nodeArgs: SNAPSHOT_ARGS,
      recoveryTimeoutMs: 60_000,
      outDir,
      env: {},
      print: quiet,
      json: true,
    });
    const r = run.result;
    const byKind = Object.entries(r.downtime.byKind).map(([k, s]) => `${k} n=${s.count} p50=${s.p50} p99=${s.p99} max=${s.max}`);
    const snaps = r.snapshots;
    const zkData = r.zkData;
    process.stdout.write(
      `chaos (seed ${r.seed}): ${r.failovers.length} faults in ${(r.durationMs / 1000).toFixed(0)} s, ` +
        `${r.ops.acknowledged} operations acknowledged, ${r.ops.unknown} unknown; downtime ms: ${byKind.join('; ')}; ` +
        `snapshots ${JSON.stringify(snaps)}; ZooKeeper data at most ${zkData?.maxBudgetBytes} bytes budgeted, ${zkData?.maxApproximateDataBytes} in all; ` +
        `lost ${r.lost}, duplicated ${r.duplicated}, linearizable ${r.linearizable}${r.linearizabilityUnknown ? ' (budget ran out on some key)' : ''}\n`,
    );

    expect(run.failures).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.violation).toBeUndefined();
    expect(r.unreadableKeys).toEqual([]);
    for (const kind of CI_KINDS) expect(r.failovers.filter((f) => f.kind === kind).length, kind).toBeGreaterThanOrEqual(PER_KIND);
    // The checks had something to check.
    expect(r.ops.acknowledged).toBeGreaterThan(1000);
    expect(r.checker.partitions).toBeGreaterThan(100);
    // Snapshots were taken and published, ZooKeeper's log was compacted behind them, wiped
    // voters rebuilt from ZooKeeper's snapshot, and followers behind the compaction point
    // installed one.
    expect(snaps?.taken).toBeGreaterThan(0);
    expect(snaps?.published).toBeGreaterThan(0);
    expect(snaps?.compactedSegments).toBeGreaterThan(0);
    expect(snaps?.rebuilt).toBeGreaterThan(0);
    expect(snaps?.installed).toBeGreaterThan(0);
    // ZooKeeper's data was sampled and stayed under its bound.
    expect(zkData?.budget.length).toBeGreaterThan(0);
    expect(zkData?.withinBound).toBe(true);

    const onDisk = JSON.parse(await readFile(run.resultPath, 'utf8')) as ChaosResult;
    expect(onDisk.failovers.length).toBe(r.failovers.length);
    expect(onDisk.failovers.every((f) => typeof f.kind === 'string' && typeof f.downtimeMs === 'number')).toBe(true);
    const html = await readFile(run.reportPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('PASSED');
    expect(html).toContain("Snapshots and ZooKeeper's data");
  }, 900_000);
});
