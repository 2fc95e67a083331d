#!/usr/bin/env node
// How long the ZooKeeper snapshot store takes to upload and to download a snapshot of a
// given size (notes/zookeeper.md, "Snapshot chunk size"), for a few chunk sizes: the upload
// with one chunk in flight, the download verified (CRC32C per chunk, SHA-256 whole) with
// its default read-ahead.
//   npm run build && node scripts/zk-snapshot-transfer.mjs [MIB]      (default 30 MiB)
// Starts its own ZooKeeper (forceSync=yes, 1 GiB heap) and stops it.
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const load = (p) => import(join(dist, ...p.split('/')));
const { startZooKeeper } = await load('harness/zk-launcher.js');
const { connectZk } = await load('coordination/zk-client.js');
const { ensureClusterTree } = await load('coordination/cluster-init.js');
const { ClusterPaths } = await load('coordination/layout.js');
const { encodeEpoch, encodeSegment, encodeTail } = await load('coordination/records.js');
const { ZkSnapshotStore } = await load('coordination/zk-snapshot-store.js');
const { realClock } = await load('common/real-clock.js');
const { silentLogger } = await load('common/logger.js');

const mib = Number(process.argv[2] ?? 30);
if (!Number.isInteger(mib) || mib < 1 || mib > 200) {
  process.stderr.write(`MIB must be an integer in [1, 200], got ${process.argv[2]}\n`);
  process.exit(2);
}
const zk = await startZooKeeper({ env: {}, heapMb: 1024 });
const session = connectZk({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
try {
  await session.waitConnected(10_000);
  const paths = new ClusterPaths('transfer');
  const state = await ensureClusterTree(session, paths);
  const epochVersion = (await session.setData(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), state.epoch.version)).version;
  // A log for the snapshots to cover: entries 1..1000 in one segment.
  const entries = Array.from({ length: 1000 }, (_, k) => ({ index: k + 1, term: 1, type: 0, data: new Uint8Array(10) }));
  await session.multi([
    { type: 'create', path: paths.segment(1), data: encodeSegment(1, entries), mode: 'persistent' },
    { type: 'setData', path: paths.tail, data: encodeTail({ term: 1, lastIndex: 1000, segmentFirstIndex: 1 }), version: -1 },
  ]);
  const file = new Uint8Array(randomBytes(mib * 1024 * 1024));
  const sha256 = new Uint8Array(createHash('sha256').update(file).digest());
  let index = 100;
  for (const chunkBytes of [128 * 1024, 256 * 1024, 512 * 1024]) {
    const store = new ZkSnapshotStore({ zk: session, paths, clock: realClock, logger: silentLogger, nodeId: 'a', chunkBytes, keep: 1 });
    const t0 = performance.now();
    const manifest = await store.upload({
      point: { index: index++, term: 1, chain: new Uint8Array(16) },
      sizeBytes: file.length,
      sha256,
      chunks: (async function* () {
        for (let at = 0; at < file.length; at += 1 << 20) yield file.subarray(at, at + (1 << 20));
      })(),
      epochVersion,
    });
    const t1 = performance.now();
    let bytes = 0;
    for await (const chunk of store.download(manifest)) bytes += chunk.length;
    const t2 = performance.now();
    if (bytes !== file.length) throw new Error(`downloaded ${bytes} bytes of ${file.length}`);
    process.stdout.write(`${mib} MiB in ${manifest.chunkCount} chunks of ${chunkBytes / 1024} KiB: upload ${(t1 - t0).toFixed(0)} ms, download ${(t2 - t1).toFixed(0)} ms\n`);
    await store.prune(epochVersion);
  }
} finally {
  await session.close();
  await zk.stop();
}
process.exit(0);
