// Issue 4's shorter chaos runs, beside the long one in chaos.test.ts (in their own file so
// that the two run at the same time: the long run is the integration tier's longest file).
// Real processes, a real ZooKeeper; each fails on a lost or duplicated write or a history that
// is not linearizable, never on a timing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, runChaos } from '../../src/harness/chaos/index.js';

// As chaos.test.ts: small snapshot intervals, so that restarts install snapshots and wiped
// voters rebuild from ZooKeeper's.
const SNAPSHOT_ARGS = ['--snapshot-every-entries', '1000', '--snapshot-retain-entries', '200'];
const AFTER_FAILOVER_KILLS = 6;
const quiet = (): void => undefined;

describe('duoraft chaos, bounded: the shorter runs', () => {
  it(`survives ${AFTER_FAILOVER_KILLS} kills of the old leader right after a take-over (issue 9: its overwritten suffix must not come back)`, async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'duoraft-chaos-after-failover-'));
    try {
      const run = await runChaos({
        ...CHAOS_DEFAULTS,
        seed: 20261130,
        failovers: AFTER_FAILOVER_KILLS,
        kinds: ['kill-follower-after-failover'],
        clients: 8,
        steadyMs: [150, 400],
        thinkMs: 0,
        nodeArgs: SNAPSHOT_ARGS,
        recoveryTimeoutMs: 60_000,
        outDir,
        env: {},
        print: quiet,
        json: true,
      });
      const r = run.result;
      process.stdout.write(
        `kill-follower-after-failover: ${r.failovers.length} faults, ${r.ops.acknowledged} operations acknowledged; killed ms after the new leader served: ` +
          `${r.failovers.map((f) => f.detail['killedMsAfterNewLeader']).join(', ')}; lost ${r.lost}, duplicated ${r.duplicated}, linearizable ${r.linearizable}\n`,
      );
      expect(run.failures).toEqual([]);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.violation).toBeUndefined();
      expect(r.failovers.length).toBe(AFTER_FAILOVER_KILLS);
      // In each fault the other voter took over and served, and the old leader was killed
      // once it followed the new one (so it had taken the new leader's appends).
      for (const f of r.failovers) {
        expect(Number(f.detail['newLeaderMs']), JSON.stringify(f.detail)).toBeGreaterThanOrEqual(0);
        expect(f.detail['oldLeaderFollowed'], JSON.stringify(f.detail)).toBe('yes');
      }
      // Both ways of deposing the leader ran.
      expect(new Set(r.failovers.map((f) => f.detail['depose']))).toEqual(new Set(['pause', 'cut-zk']));
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('with two listeners: kill-listener and kill-upstream, and every listener ends with the voters\' final state (issue 13)', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'duoraft-chaos-listeners-'));
    try {
      const run = await runChaos({
        ...CHAOS_DEFAULTS,
        seed: 20261213,
        failovers: 6,
        kinds: ['kill-listener', 'kill-upstream'],
        listeners: 2,
        clients: 8,
        steadyMs: [150, 400],
        thinkMs: 40,
        recoveryTimeoutMs: 60_000,
        outDir,
        env: {},
        print: quiet,
        json: true,
      });
      const r = run.result;
      process.stdout.write(
        `listeners: ${r.failovers.length} faults (${r.failovers.map((f) => `${f.kind} ${f.target}`).join(', ')}); ` +
          `${(r.listeners ?? []).map((l) => `${l.id} applied ${l.appliedIndex}, ${l.mismatches} differ`).join('; ')}\n`,
      );
      expect(run.failures).toEqual([]);
      expect(r.lost).toBe(0);
      expect(r.failovers.length).toBe(6);
      expect(new Set(r.failovers.map((f) => f.kind))).toEqual(new Set(['kill-listener', 'kill-upstream']));
      expect(r.listeners?.map((l) => l.id)).toEqual(['l1', 'l2']);
      for (const l of r.listeners ?? []) {
        expect(l.behind).toBeUndefined();
        expect(l.mismatches).toBe(0);
        expect(l.appliedIndex).toBeGreaterThan(100);
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('catches a deliberately broken build (acknowledging before ZooKeeper holds the write)', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'duoraft-chaos-broken-'));
    try {
      const run = await runChaos({
        ...CHAOS_DEFAULTS,
        seed: 7,
        failovers: 8,
        kinds: ['kill-leader'],
        clients: 8,
        steadyMs: [150, 400],
        outDir,
        brokenBuild: 'ack-before-commit',
        env: {},
        print: quiet,
        json: true,
      });
      const r = run.result;
      process.stdout.write(`broken build: lost ${r.lost}, linearizable ${r.linearizable}${r.violation ? ` (violation on ${r.violation.key})` : ''}\n`);
      // Either check may fire first: a write acknowledged then lost, or a history no order explains.
      expect(r.lost > 0 || r.violation !== undefined).toBe(true);
      expect(run.failures.length).toBeGreaterThan(0);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 300_000);
});
