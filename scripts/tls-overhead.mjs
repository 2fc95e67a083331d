#!/usr/bin/env node
// What TLS costs (notes/security.md):
//   npm run build && node scripts/tls-overhead.mjs [SECONDS]      (default 5)
// Starts its own ZooKeeper, then, in turn, a plaintext cluster and a TLS cluster (mutual
// TLS between the voters, the client authenticated by the cluster token; certificates made
// by openssl), and runs the same loads against each: one writer, 64 writers, 64
// linearizable readers (256-byte values). Alternates twice (plain, TLS, plain, TLS) so a
// change in the shared machine's speed shows up as a difference between the two runs of
// one mode rather than between the modes.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { makeTestCertificates } = await import(join(dist, 'harness', 'test-certificates.js'));
const { runLoad } = await import(join(dist, 'harness', 'bench.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));

const seconds = Number(process.argv[2] ?? 5);
const workDir = await mkdtemp(join(tmpdir(), 'duoraft-tls-overhead-'));
const zk = await startZooKeeper({ env: {} });
const token = 'tls-overhead-token-0123456789abcdef';
await writeFile(join(workDir, 'token'), token);
const loads = [
  { name: '1 writer', workload: 'write', concurrency: 1 },
  { name: '64 writers', workload: 'write', concurrency: 64 },
  { name: '64 readers', workload: 'read', concurrency: 64 },
];
try {
  for (const [round, tls] of [[1, false], [1, true], [2, false], [2, true]]) {
    const name = `${tls ? 'tls' : 'plain'}-${round}`;
    let nodeArgsFor;
    let security = {};
    if (tls) {
      const certs = await makeTestCertificates({ dir: join(workDir, name), cluster: name, voters: ['a', 'b'] });
      const ca = await readFile(certs.ca);
      nodeArgsFor = (id) => ['--tls-ca', certs.ca, '--tls-cert', certs.voters.get(id).cert, '--tls-key', certs.voters.get(id).key, '--token-file', join(workDir, 'token')];
      security = { tls: { ca }, token };
    }
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, workDir: join(workDir, `${name}-data`), logLevel: 'warn', ...(nodeArgsFor ? { nodeArgsFor, clientSecurity: security } : {}) });
    const c = await connect({ zk: zk.connectString, cluster: name, ...security });
    try {
      for (const l of loads) {
        const r = await runLoad(c, { workload: l.workload, concurrency: l.concurrency, valueBytes: 256, durationMs: seconds * 1000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
        process.stdout.write(`${name.padEnd(8)} ${l.name.padEnd(11)} ${String(r.opsPerSecond).padStart(7)} ops/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  errors ${r.errors}\n`);
      }
    } finally {
      await c.close();
      await cluster.stop();
    }
  }
} finally {
  await zk.stop();
  await rm(workDir, { recursive: true, force: true });
}
