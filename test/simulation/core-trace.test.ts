// `node scripts/sim-digest.mjs --seeds N` (scripts/sim-digest.mjs): one digest per seed of
// everything observable in a simulated run, to show that a refactor of the core or the
// driver changes no behaviour (the digests before and after must be identical). Runs only
// when that script sets SIM_DIGEST_SEEDS.
//
// What a digest covers: every call into RaftCore's public methods (node id, method,
// arguments, result: every message stepped and every Ready handed out, in order), every
// node's log line at debug level (virtual time instead of wall time), and the run's result
// (fault schedule, event count, virtual time, client history, violations, checks).
import { createHash, type Hash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { RaftCore } from '../../src/core/raft.js';
import { faultMixes } from './sim/fault-schedule.js';
import { runSimulation } from './sim/run.js';

const env = process.env;

// The one input of a run that its seed does not fix: the cluster id (cluster-init.ts) comes from
// randomBytes, and it seeds the hash chain. Here it comes from a counter restarted per seed.
const drawn = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    randomBytes: (size: number): Buffer => {
      const out = Buffer.alloc(size);
      for (let k = 0; k < size; k += 32) real.createHash('sha256').update(`draw ${drawn.count++}`).digest().copy(out, k);
      return out;
    },
  };
});

/** The public methods of RaftCore: the core's whole boundary with the driver. */
const coreMethods = [
  'tick', 'step', 'propose', 'mirrorCommitted', 'mirrorFenced', 'leaseExpired', 'leaseTouchLanded', 'leaseRenewed',
  'observeLease', 'observeEpoch', 'setZkConnected', 'suspectLeader', 'committedFromZk', 'takeoverResult', 'compact',
  'compactedTo', 'installSnapshot', 'confirmsCommitPoint', 'snapshotSent', 'transferLeadership', 'abdicate',
  'abortTransfer', 'setPeer', 'hasReady', 'ready', 'softState', 'hardState', 'vouchedFor', 'commitHeld', 'commitIndex',
  'ticksSinceLeaderContact', 'isTransferring', 'status', 'committedInCurrentTerm', 'entryAt',
] as const;

/** A stable text of a value: key order as built, bytes in hex, undefined and non-finite numbers named. */
function text(v: unknown): string {
  if (v === undefined) return 'u';
  if (v === null) return 'n';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `#${String(v)}`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return `[${v.map(text).join(',')}]`;
  if (v instanceof Error) return `E${JSON.stringify(v.message)}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${text(x)}`).join(',')}}`;
  }
  throw new Error(`cannot digest a ${typeof v}`);
}

/** The running digest of the core calls of the seed being run (null between seeds). */
let current: Hash | null = null;
/** Log fields measured on the real process, not the simulated one (the CPU time of a stall): left out. */
const realProcessFields = /"cpuMs":[0-9.]+/g;
/** SIM_DIGEST_DUMP=PREFIX: the text behind each digest, in PREFIX<seed>.core and .logs (to find where two runs part). */
const dump = env['SIM_DIGEST_DUMP'];
let dumpSeed = 0;
function record(hash: Hash | null, kind: 'core' | 'logs', line: string): void {
  hash?.update(line);
  if (dump !== undefined && hash !== null) appendFileSync(`${dump}${dumpSeed}.${kind}`, line);
}
let calls = 0;
let depth = 0;

function traceCore(): void {
  const proto = RaftCore.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of coreMethods) {
    const original = proto[name];
    if (typeof original !== 'function') throw new Error(`RaftCore.${name} is gone: the digest no longer covers the core's boundary`);
    proto[name] = function (this: RaftCore, ...args: unknown[]): unknown {
      // Arguments before the call (a call may change what they point to), the result after.
      const before = `${depth}|${this.id}|${name}|${text(args)}`;
      depth++;
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (err) {
        record(current, 'core', `${before}|threw ${text(err)}\n`);
        throw err;
      } finally {
        depth--;
      }
      calls++;
      record(current, 'core', `${before}|${text(result)}\n`);
      return result;
    };
  }
}

describe.runIf(env['SIM_DIGEST_SEEDS'] !== undefined)('digest of every run', () => {
  it(`seeds ${env['SIM_DIGEST_FROM'] ?? 1}..+${env['SIM_DIGEST_SEEDS']}`, async () => {
    const from = Number(env['SIM_DIGEST_FROM'] ?? 1);
    const count = Number(env['SIM_DIGEST_SEEDS']);
    const mix = faultMixes.find((m) => m === (env['SIM_MIX'] ?? 'all'));
    if (mix === undefined) throw new Error(`--mix ${env['SIM_MIX']}: not one of ${faultMixes.join(', ')}`);
    traceCore();
    for (let seed = from; seed < from + count; seed++) {
      const hash = createHash('sha256');
      const logs = createHash('sha256');
      current = hash;
      dumpSeed = seed;
      drawn.count = 0;
      calls = 0;
      let lines = 0;
      const nodeLogger = (id: string, now: () => number): pino.Logger =>
        pino(
          { level: 'debug', base: { node: id }, timestamp: false, mixin: () => ({ t: now() }) },
          { write: (line: string) => { lines++; record(logs, 'logs', line.replace(realProcessFields, '"cpuMs":_')); } },
        );
      const r = await runSimulation({ seed, faultMix: mix, nodeLogger });
      current = null;
      const { seed: _seed, ...result } = r;
      const outcome = createHash('sha256').update(text(result)).digest('hex');
      const line = `ok=${r.ok} events=${r.events} coreCalls=${calls} logLines=${lines} core=${hash.digest('hex')} logs=${logs.digest('hex')} result=${outcome}`;
      process.stdout.write(`DIGEST seed=${seed} mix=${mix} ${line}\n`);
      expect(calls).toBeGreaterThan(0);
    }
  }, 24 * 3600_000);
});
