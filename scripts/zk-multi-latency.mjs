#!/usr/bin/env node
// The floor under a single writer's latency (notes/results.md): how long one ZooKeeper
// multi of the shape the leader sends per batch takes on this machine, with nothing else
// running. A write is acknowledged only after such a multi returns, so a single writer's
// p50 cannot be lower than this plus a gRPC round trip.
//   npm run build && node scripts/zk-multi-latency.mjs [COUNT]      (default 2000)
// Starts its own ZooKeeper (forceSync=yes, as the demo and benchmarks do), then sends COUNT
// multis one after the other (src/harness/zk-multi-floor.ts, which `duoraft bench --suite` also
// runs beside its single writer): check(epoch), create(segment of one 256-byte put), setData(tail).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { measureZkMultiFloor } = await import(join(dist, 'harness', 'zk-multi-floor.js'));

const count = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(count) || count < 1 || count > 100_000) {
  process.stderr.write(`COUNT must be an integer in [1, 100000], got ${process.argv[2]}\n`);
  process.exit(2);
}
const zk = await startZooKeeper({ env: {} });
try {
  const r = await measureZkMultiFloor({ connectString: zk.connectString, durationMs: 600_000, valueBytes: 256, maxMultis: count });
  const l = r.latencyMs;
  process.stdout.write(`${r.multis} sequential multis (check(epoch) + create(segment of one 256-byte put) + setData(tail)): p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms\n`);
} finally {
  await zk.stop();
}
process.exit(0);
