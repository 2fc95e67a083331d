// Issue 12: the bounded `duoraft chaos --net netns` run in CI. Voters in network
// namespaces; every packet-level fault (silent partitions between the voters, of the
// leader from its follower and ZooKeeper, of the clients from the leader; latency with
// jitter; packet loss) four times, and a SIGKILL of the leader as often. It fails on a lost or
// duplicated write, a history that is not linearizable, or a cluster that does not
// recover; never on a timing. The downtimes are printed and kept in
// out/chaos-netns-ci/result.json. About a minute.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, NETNS_FAULT_KINDS, runChaos } from '../../src/harness/chaos/index.js';
import { netnsSkipReason, netnsTitle } from './netns-helpers.js';

const PER_KIND = 4;
const quiet = (): void => undefined;

describe.skipIf(netnsSkipReason !== null)(netnsTitle('duoraft chaos --net netns, bounded'), () => {
  it(`survives ${PER_KIND} of each network fault with nothing lost, nothing applied twice, a linearizable history`, async () => {
    const kinds = [...NETNS_FAULT_KINDS, 'kill-leader' as const];
    const run = await runChaos({
      ...CHAOS_DEFAULTS,
      net: 'netns',
      seed: 20261130,
      failovers: PER_KIND * kinds.length,
      kinds,
      clients: 8,
      steadyMs: [150, 400],
      durations: { pauseMs: [400, 1200], cutMs: [500, 1500] },
      thinkMs: 20,
      recoveryTimeoutMs: 30_000,
      outDir: join('out', 'chaos-netns-ci'),
      env: {},
      print: quiet,
      json: true,
    });
    const r = run.result;
    const byKind = Object.entries(r.downtime.byKind).map(([k, s]) => `${k} n=${s.count} p50=${s.p50} p99=${s.p99} max=${s.max}`);
    process.stdout.write(
      `chaos --net netns (seed ${r.seed}): ${r.failovers.length} faults in ${(r.durationMs / 1000).toFixed(0)} s, ` +
        `${r.ops.acknowledged} operations acknowledged, ${r.ops.unknown} unknown; downtime ms: ${byKind.join('; ')}; ` +
        `leader changes during faults that need none: ${r.falseFailovers}; lost ${r.lost}, duplicated ${r.duplicated}, linearizable ${r.linearizable}\n`,
    );
    expect(run.failures).toEqual([]);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.violation).toBeUndefined();
    expect(r.linearizable).toBe(true);
    expect(r.unreadableKeys).toEqual([]);
    for (const kind of NETNS_FAULT_KINDS) expect(r.failovers.filter((f) => f.kind === kind).length, kind).toBeGreaterThanOrEqual(PER_KIND);
    expect(r.ops.acknowledged).toBeGreaterThan(1000);
  }, 240_000);
});
