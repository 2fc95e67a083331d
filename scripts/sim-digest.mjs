#!/usr/bin/env node
// A digest of each simulated run, to prove a refactor changes no behaviour: run it before the
// change and after, and compare (the lines must be identical).
//   node scripts/sim-digest.mjs --seeds 300 [--from 1] [--workers 2] [--mix NAME] > digests.txt
// Each line: `DIGEST seed=N mix=M ok=... events=... coreCalls=... logLines=... sha256=...`, the
// hash of every call into the core (arguments and results: messages stepped, Readies handed
// out), every node log line at debug level, and the run's result (test/simulation/core-trace.test.ts).
// Lines come out sorted by seed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const usage = 'usage: node scripts/sim-digest.mjs --seeds COUNT [--from N] [--workers K] [--mix NAME]\n';
let values;
try {
  ({ values } = parseArgs({ options: { seeds: { type: 'string' }, from: { type: 'string' }, workers: { type: 'string' }, mix: { type: 'string' } } }));
} catch (err) {
  process.stderr.write(`${err.message}\n${usage}`);
  process.exit(2);
}
const total = Number(values.seeds);
const from = Number(values.from ?? 1);
const workers = Number(values.workers ?? 2);
if (![total, from, workers].every((n) => Number.isInteger(n) && n >= 1)) {
  process.stderr.write(usage);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/.bin/vitest', import.meta.url));
const base = { ...process.env, ...(values.mix ? { SIM_MIX: values.mix } : {}) };

function run(start, count) {
  return new Promise((resolve) => {
    const env = { ...base, SIM_DIGEST_FROM: String(start), SIM_DIGEST_SEEDS: String(count) };
    const child = spawn(vitest, ['run', '--project', 'simulation', 'test/simulation/core-trace.test.ts', '--reporter', 'dot'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, lines: out.split('\n').filter((l) => l.startsWith('DIGEST ')) }));
  });
}

const per = Math.ceil(total / workers);
const results = await Promise.all(
  Array.from({ length: workers }, (_, w) => {
    const start = from + w * per;
    const count = Math.max(0, Math.min(per, from + total - start));
    return count > 0 ? run(start, count) : Promise.resolve({ code: 0, lines: [] });
  }),
);
const lines = results.flatMap((r) => r.lines);
const seedOf = (l) => Number(/seed=(\d+)/.exec(l)[1]);
lines.sort((a, b) => seedOf(a) - seedOf(b));
for (const l of lines) process.stdout.write(`${l}\n`);
const failed = results.some((r) => r.code !== 0) || lines.length !== total;
if (failed) process.stderr.write(`sim-digest: ${lines.length} of ${total} digests, a worker failed\n`);
process.exit(failed ? 1 : 0);
