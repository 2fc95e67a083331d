#!/usr/bin/env node
// The floor under a single writer's latency (notes/results.md): how long one ZooKeeper
// multi of the shape the leader sends per batch takes on this machine, with nothing else
// running. A write is acknowledged only after such a multi returns, so a single writer's
// p50 cannot be lower than this plus a gRPC round trip.
//   npm run build && node scripts/zk-multi-latency.mjs [COUNT]      (default 2000)
// Starts its own ZooKeeper (forceSync=yes, as the demo and benchmarks do), then sends COUNT
// multis one after the other: check(epoch), create(segment of one 256-byte entry), setData(tail).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { connectZk } = await import(join(dist, 'coordination', 'zk-client.js'));

const count = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(count) || count < 1 || count > 100_000) {
  process.stderr.write(`COUNT must be an integer in [1, 100000], got ${process.argv[2]}\n`);
  process.exit(2);
}
const zk = await startZooKeeper({ env: {} });
const session = connectZk({ connectString: zk.connectString });
try {
  await session.waitConnected(10_000);
  const root = '/latency';
  await session.create(root, new Uint8Array(), 'persistent');
  await session.create(`${root}/epoch`, new Uint8Array([1]), 'persistent');
  await session.create(`${root}/tail`, new Uint8Array([0]), 'persistent');
  await session.setData(`${root}/epoch`, new Uint8Array([1]), -1); // version 1: see zk-api on version 0
  const entry = new Uint8Array(256 + 24);
  const ms = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await session.multi([
      { type: 'check', path: `${root}/epoch`, version: 1 },
      { type: 'create', path: `${root}/seg-${String(i).padStart(12, '0')}`, data: entry, mode: 'persistent' },
      { type: 'setData', path: `${root}/tail`, data: new Uint8Array([i & 255]), version: -1 },
    ]);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
  process.stdout.write(`${count} sequential multis (check + create 280 B + setData): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${ms[ms.length - 1].toFixed(2)} ms\n`);
} finally {
  await session.close();
  await zk.stop();
}
process.exit(0);
