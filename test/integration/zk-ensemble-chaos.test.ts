// Issue 14 part 4 and issue 9's expire-session: the two voters on a three-server ZooKeeper
// ensemble under a recorded load, while its servers are SIGKILLed (the ZooKeeper leader and
// each follower in turn) and restarted, SIGSTOPped and resumed, and while the voter taking
// over has its session expired in the middle of the take-over. One bounded chaos run (one
// ensemble for the file): nothing acknowledged is lost, nothing applied twice, the history
// is linearizable, and every fault had its effect. Timings are printed, never asserted.
import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, runChaos } from '../../src/harness/chaos/index.js';
import type { FailoverRecord } from '../../src/harness/chaos/index.js';

const quiet = (): void => undefined;

describe('duoraft chaos on a ZooKeeper ensemble of three', () => {
  it('loses nothing while ZooKeeper servers die and stall and a take-over loses its session', async () => {
    const run = await runChaos({
      ...CHAOS_DEFAULTS,
      seed: 20261130,
      zkServers: 3,
      // 4 of each: kill-zk hits the ZooKeeper leader twice and two followers (the least hit
      // first), so every server dies once; expiries hit the fence, the replay and the new leader.
      failovers: 12,
      kinds: ['kill-zk', 'pause-zk', 'expire-session'],
      clients: 8,
      steadyMs: [150, 400],
      durations: { pauseMs: [400, 1200], cutMs: [500, 1500], zkPauseMs: [1000, 3000] },
      thinkMs: 40,
      recoveryTimeoutMs: 60_000,
      outDir: 'out/chaos-zk-ensemble',
      env: {},
      print: quiet,
      json: true,
    });
    const r = run.result;
    const gaps = Object.entries(r.writeGaps?.byKind ?? {}).map(([k, g]) => `${k} duoraft max ${g.duoraft.max} / ZooKeeper client max ${g.zkClient.max}`);
    process.stdout.write(
      `chaos on an ensemble (seed ${r.seed}): ${r.failovers.length} faults in ${(r.durationMs / 1000).toFixed(0)} s, ${r.ops.acknowledged} operations acknowledged; ` +
        `longest write gaps ms: ${gaps.join('; ')}; expiries landed: ${r.failovers.filter((f) => f.kind === 'expire-session').map((f) => f.detail['landed']).join(' | ')}; ` +
        `lost ${r.lost}, duplicated ${r.duplicated}, linearizable ${r.linearizable}\n`,
    );

    expect(run.failures).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.violation).toBeUndefined();
    expect(r.unreadableKeys).toEqual([]);
    expect(r.ops.acknowledged).toBeGreaterThan(300);

    const of = (kind: string): FailoverRecord[] => r.failovers.filter((f) => f.kind === kind);
    // Every server was SIGKILLed once, the ZooKeeper leader among them.
    const kills = of('kill-zk');
    expect(kills.length).toBe(4);
    expect(kills.some((f) => f.targetRole === 'zk-leader')).toBe(true);
    expect(new Set(kills.map((f) => f.target))).toEqual(new Set(['zk1', 'zk2', 'zk3']));
    expect(of('pause-zk').some((f) => f.targetRole === 'zk-leader')).toBe(true);
    expect(of('pause-zk').some((f) => f.targetRole === 'zk-follower')).toBe(true);
    // Each expiry really expired the session of the voter taking over (not "did not expire").
    for (const f of of('expire-session')) expect(String(f.detail['landed']), JSON.stringify(f.detail)).toMatch(/^(during|after|right after)/);
    // Both write gaps were measured for every fault, and the bare client kept writing.
    expect(r.failovers.every((f) => f.writeGap !== undefined)).toBe(true);
    expect(r.writeGaps?.probe.writes).toBeGreaterThan(100);
  }, 240_000);
});
