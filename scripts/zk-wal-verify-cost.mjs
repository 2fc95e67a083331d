#!/usr/bin/env node
// What verifying wal/ at a node's start costs (notes/zookeeper.md, "A corrupt segment is
// found at start"): a log of TOTAL MiB (default 64, the budget) written through the WAL
// mirror into a real ZooKeeper in segments of one entry each, for several entry sizes;
// then verifyWalFrom from index 1 (what a node with an empty disk checks), with the names
// listed (parallel reads) and by walking the chain. One ZooKeeper per shape (its heap holds
// the log).
//   npm run build && node scripts/zk-wal-verify-cost.mjs [TOTAL_MIB] [ENTRY_BYTES,...]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { connectZk } = await import(join(dist, 'coordination', 'zk-client.js'));
const { ClusterPaths } = await import(join(dist, 'coordination', 'layout.js'));
const { writeRestoredTree } = await import(join(dist, 'coordination', 'cluster-restore.js'));
const { verifyWalFrom } = await import(join(dist, 'coordination', 'zk-wal-verify.js'));
const { genesisChain } = await import(join(dist, 'core', 'chain.js'));
const { RaftLog } = await import(join(dist, 'core', 'log.js'));
const { realClock } = await import(join(dist, 'common', 'real-clock.js'));
const { silentLogger } = await import(join(dist, 'common', 'logger.js'));

const totalMib = Number(process.argv[2] ?? 64);
const sizes = (process.argv[3] ?? '700000,65536,4096,1024').split(',').map(Number);
if (!(totalMib > 0 && totalMib <= 256) || sizes.some((s) => !(Number.isInteger(s) && s >= 16 && s <= 900_000))) {
  process.stderr.write('usage: zk-wal-verify-cost.mjs [TOTAL_MIB in (0,256]] [ENTRY_BYTES,... each in [16, 900000]]\n');
  process.exit(2);
}
const clusterId = 'ab'.repeat(16);
const rows = [];
for (const size of sizes) {
  const count = Math.ceil((totalMib * 1024 * 1024) / size);
  const zk = await startZooKeeper({ env: {}, heapMb: Math.max(512, totalMib * 6) });
  const session = connectZk({ connectString: zk.connectString, sessionTimeoutMs: 30_000 });
  try {
    await session.waitConnected(10_000);
    await session.create('/duoraft', new Uint8Array(), 'persistent');
    const paths = new ClusterPaths('cost');
    const raw = Array.from({ length: count }, (_, k) => ({ index: k + 1, term: 1, type: 0, data: new Uint8Array(size).fill(k % 251) }));
    const entries = RaftLog.chainFrom(genesisChain(clusterId), raw);
    const w0 = performance.now();
    await writeRestoredTree(
      { zk: session, paths, clock: realClock, logger: silentLogger, maxSegmentBytes: size + 32 },
      { identity: { cluster: 'cost', clusterId, createdAtMs: 0 }, epochTerm: 2, voters: [], entries, snapshot: null },
    );
    const writeMs = performance.now() - w0;
    const tail = { tailLastIndex: count, tailSegmentFirstIndex: count, genesis: genesisChain(clusterId), fromIndex: 1 };
    const result = { entryBytes: size, segments: count, writeS: +(writeMs / 1000).toFixed(1) };
    for (const [how, listingLimit] of [['listed', 20_000], ['walked', 0]]) {
      if (how === 'listed' && count > 20_000) continue;
      const t0 = performance.now();
      const r = await verifyWalFrom(session, paths, { ...tail, listingLimit });
      result[`${how}Ms`] = Math.round(performance.now() - t0);
      if (r.segments !== count || r.how !== how) throw new Error(`expected ${count} segments ${how}, got ${JSON.stringify(r)}`);
    }
    rows.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await session.close();
    await zk.stop();
  }
}
console.table(rows);
