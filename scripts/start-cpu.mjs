#!/usr/bin/env node
// The CPU a duoraft process spends starting, from the bundle and from dist/ (the figures in
// notes/design.md, "How a process starts", and notes/results.md, twelfth session). For each
// entry (DUORAFT_ENTRY=bundle, then dist), alternating, --runs times: a voter started alone on
// a fresh cluster, measured from spawn until its log says it leads (its CPU then, read from
// /proc), and a `duoraft put` against it (its CPU, from its rusage). Starts its own ZooKeeper
// and ends everything it started, by pid.
//   npm run build && node scripts/start-cpu.mjs [--runs 6]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'duoraft.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '6' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  process.stderr.write('usage: node scripts/start-cpu.mjs [--runs 1..100]\n');
  process.exit(2);
}
const { startZooKeeper } = await import(join(root, 'dist', 'harness', 'zk-standalone.js'));

const CLK_TCK_MS = 10; // /proc's clock ticks (USER_HZ 100 on Linux)
const LEAD_TIMEOUT_MS = 30_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLK_TCK_MS;
}

/** Spawns a voter; resolves with its CPU once its log says it leads. */
async function voterStart(entry, zk, cluster, dir) {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'node', '--id', 'a', '--cluster', cluster, '--zk', zk, '--listen', `127.0.0.1:${port}`, '--data', dir, '--log-level', 'info'], {
    env: { ...process.env, DUORAFT_ENTRY: entry },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const cpuMs = await new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`no "leader" line within ${LEAD_TIMEOUT_MS} ms`)), LEAD_TIMEOUT_MS);
      const onData = (chunk) => {
        seen = (seen + chunk).slice(-4096);
        if (seen.includes('"role":"leader"')) {
          clearTimeout(timer);
          resolve(cpuMsOf(child.pid));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => reject(new Error(`voter exited (${code}) before leading`)));
    });
    return { cpuMs, port, child };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** A `duoraft put`; resolves with its user+system CPU. */
function putCpu(entry, zk, cluster) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S', process.execPath, bin, 'put', 'k', 'v', '--zk', zk, '--cluster', cluster], { env: { ...process.env, DUORAFT_ENTRY: entry }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      const [user, sys] = err.trim().split('\n').pop().split(' ').map(Number);
      if (code !== 0 || !Number.isFinite(user)) reject(new Error(`put failed (${code}): ${err.trim()}`));
      else resolve(Math.round((user + sys) * 1000));
    });
  });
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `mean ${Math.round(s.reduce((a, b) => a + b, 0) / s.length)} ms (${s[0]}-${s[s.length - 1]})`;
};

const zk = await startZooKeeper();
const results = { bundle: { voter: [], put: [] }, dist: { voter: [], put: [] } };
const dir = mkdtempSync(join(tmpdir(), 'duoraft-start-cpu-'));
try {
  for (let i = 0; i < runs; i++) {
    for (const entry of ['bundle', 'dist']) {
      const cluster = `start-${entry}-${i}`;
      const voter = await voterStart(entry, zk.connectString, cluster, join(dir, cluster));
      try {
        results[entry].voter.push(voter.cpuMs);
        results[entry].put.push(await putCpu(entry, zk.connectString, cluster));
      } finally {
        voter.child.kill('SIGKILL');
        await new Promise((r) => (voter.child.exitCode !== null ? r() : voter.child.on('exit', r)));
      }
    }
  }
} finally {
  await zk.stop();
  rmSync(dir, { recursive: true, force: true });
}
for (const entry of ['bundle', 'dist']) {
  process.stdout.write(`${entry.padEnd(6)}  voter spawn to leader: ${stats(results[entry].voter)} CPU;  duoraft put: ${stats(results[entry].put)} CPU  (${runs} runs)\n`);
}
