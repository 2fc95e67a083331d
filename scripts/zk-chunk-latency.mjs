#!/usr/bin/env node
// What a snapshot upload costs the leader's commits (notes/zookeeper.md, "Snapshot chunk
// size"): the latency of commit-shaped multis (check(epoch) + create(segment of one 280-byte
// entry) + setData(tail)), sent one after another, while the same session uploads chunks
// one at a time (multi(check(epoch), write(chunk))) as the snapshot store does; for
// several chunk sizes, and without an upload for reference. Also the upload's throughput.
// The chunks are written over 8 rotating znodes (setData instead of create: the same
// transaction-log write) so that ZooKeeper's heap holds 8 chunks, not the whole upload.
//   npm run build && node scripts/zk-chunk-latency.mjs [COMMITS]      (default 600 per size)
// Starts its own ZooKeeper (forceSync=yes, as in production) and stops it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { connectZk } = await import(join(dist, 'coordination', 'zk-client.js'));

const commits = Number(process.argv[2] ?? 600);
if (!Number.isInteger(commits) || commits < 50 || commits > 100_000) {
  process.stderr.write(`COMMITS must be an integer in [50, 100000], got ${process.argv[2]}\n`);
  process.exit(2);
}
const sizes = [0, 64 * 1024, 128 * 1024, 256 * 1024, 512 * 1024];
const zk = await startZooKeeper({ env: {} });
const session = connectZk({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
try {
  await session.waitConnected(10_000);
  const root = '/chunk-latency';
  await session.create(root, new Uint8Array(), 'persistent');
  await session.create(`${root}/epoch`, new Uint8Array([1]), 'persistent');
  await session.create(`${root}/tail`, new Uint8Array([0]), 'persistent');
  await session.create(`${root}/chunks`, new Uint8Array(), 'persistent');
  await session.setData(`${root}/epoch`, new Uint8Array([1]), -1); // version 1: see zk-api on version 0
  const check = { type: 'check', path: `${root}/epoch`, version: 1 };
  let seg = 0;
  let chunkNo = 0;
  const rows = [];
  for (const size of sizes) {
    let uploading = size > 0;
    let uploadedBytes = 0;
    const data = new Uint8Array(size).fill(7);
    const slots = size > 0 ? Array.from({ length: 8 }, (_, k) => `${root}/chunks/s${size}-${k}`) : [];
    for (const slot of slots) await session.create(slot, new Uint8Array(), 'persistent');
    const upload = (async () => {
      while (uploading) {
        await session.multi([check, { type: 'setData', path: slots[chunkNo++ % slots.length], data, version: -1 }]);
        uploadedBytes += size;
      }
    })();
    // Awaited below; until then a failure must not end the process before ZooKeeper is stopped.
    upload.catch(() => undefined);
    const entry = new Uint8Array(280);
    const ms = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < commits; i++) {
      const t0 = process.hrtime.bigint();
      await session.multi([
        check,
        { type: 'create', path: `${root}/seg-${String(seg++).padStart(12, '0')}`, data: entry, mode: 'persistent' },
        { type: 'setData', path: `${root}/tail`, data: new Uint8Array([i & 255]), version: -1 },
      ]);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    uploading = false;
    await upload;
    for (const slot of slots) await session.delete(slot, -1);
    ms.sort((a, b) => a - b);
    const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
    rows.push(
      `chunk ${size === 0 ? 'none' : `${size / 1024} KiB`}`.padEnd(16) +
        `commit multi p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${ms[ms.length - 1].toFixed(2)} ms; upload ${(uploadedBytes / 1048576 / seconds).toFixed(1)} MiB/s`,
    );
    process.stdout.write(`${rows[rows.length - 1]}\n`);
  }
} finally {
  await session.close();
  await zk.stop();
}
process.exit(0);
