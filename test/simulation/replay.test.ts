// `npm run sim -- --seed N` (and --seeds/--from for long runs): replays seeds with their
// fault schedule printed. Runs only when scripts/sim.mjs sets SIM_SEED or SIM_SEEDS.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseBrokenBuilds } from '../../src/server/broken-builds.js';
import { faultMixes } from './sim/fault-schedule.js';
import { runSimulation } from './sim/run.js';
import { describeFailures, runSeeds } from './sim/seeds.js';

const env = process.env;
const mix = faultMixes.find((m) => m === (env['SIM_MIX'] ?? 'all'));
if (mix === undefined) throw new Error(`--mix ${env['SIM_MIX']}: not one of ${faultMixes.join(', ')}`);
const broken = env['SIM_BROKEN'] !== undefined ? parseBrokenBuilds(env['SIM_BROKEN']) : {};
const zkSessions = env['SIM_ZK_SESSIONS'];
if (zkSessions !== undefined && zkSessions !== 'local' && zkSessions !== 'global') throw new Error(`--zk-sessions ${zkSessions}: local or global`);
const options = {
  faultMix: mix,
  ...(Object.keys(broken).length > 0 ? { brokenBuild: broken } : {}),
  ...(zkSessions !== undefined ? { zkLocalSessions: zkSessions === 'local' } : {}),
} as const;
/** With SIM_LOG (`--log`): the nodes' log lines on stdout, each with its virtual time t. */
const nodeLogger =
  env['SIM_LOG'] !== undefined
    ? (id: string, now: () => number) => pino({ level: env['SIM_LOG'] || 'info', base: { node: id }, timestamp: false, mixin: () => ({ t: now() }) }, pino.destination({ fd: 1, sync: true }))
    : undefined;

describe.runIf(env['SIM_SEED'] !== undefined)('replay one seed', () => {
  it(`seed ${env['SIM_SEED']}`, async () => {
    const seed = Number(env['SIM_SEED']);
    const r = await runSimulation({ ...options, seed, trace: (line) => process.stdout.write(`${line}\n`), ...(nodeLogger ? { nodeLogger } : {}) });
    process.stdout.write(`${JSON.stringify({ seed, ok: r.ok, events: r.events, virtualMs: r.virtualMs, ops: r.ops, linearizable: r.linearizable, zkLocalSessions: r.zkLocalSessions, snapshotChecks: r.snapshotChecks, listenerChecks: r.listenerChecks })}\n`);
    for (const v of r.violations) process.stdout.write(`VIOLATION ${v}\n`);
    expect(r.violations).toEqual([]);
  }, 600_000);
});

describe.runIf(env['SIM_SEEDS'] !== undefined)('many seeds', () => {
  it(`seeds ${env['SIM_FROM'] ?? 1}..+${env['SIM_SEEDS']}`, async () => {
    const from = Number(env['SIM_FROM'] ?? 1);
    const count = Number(env['SIM_SEEDS']);
    const r = await runSeeds(from, count, options);
    process.stdout.write(`${JSON.stringify({ from, count, failures: r.failures.map((f) => f.seed), ops: r.ops, events: r.events, snapshotChecks: r.snapshotChecks, listenerChecks: r.listenerChecks })}\n`);
    expect(r.failures.map((f) => f.seed), describeFailures(r.failures)).toEqual([]);
  }, 24 * 3600_000);
});
