#!/usr/bin/env node
// What walking and compacting many small WAL segments in a real ZooKeeper costs, one segment
// at a time (0 lanes: the walk before zk-segment-read-ahead.ts) against reading ahead with
// lanes (notes/snapshots.md, "Reading the chain ahead"). The log is shaped like the soak's
// at full load: SEGMENTS segments of 1-6 entries (3.4 on average) of 300-byte entries.
//   - walk: verifyWalFrom from index 1, the chain walked (what a wiped node's start-up check
//     does past 20,000 segments), then readCommittedEntries of the whole log (a take-over's
//     or a rebuild's replay);
//   - compact: compactWal through a snapshot near the tail, in one call (a fresh copy of the
//     log for each setting).
//   npm run build && node scripts/zk-segment-walk-bench.mjs [SEGMENTS] [LANES,...]
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { connectZk } = await import(join(dist, 'coordination', 'zk-client.js'));
const { ClusterPaths } = await import(join(dist, 'coordination', 'layout.js'));
const { ensureClusterTree } = await import(join(dist, 'coordination', 'cluster-init.js'));
const { encodeEpoch, encodeSegment, encodeTail } = await import(join(dist, 'coordination', 'records.js'));
const { verifyWalFrom } = await import(join(dist, 'coordination', 'zk-wal-verify.js'));
const { readCommittedEntries } = await import(join(dist, 'coordination', 'zk-log-reader.js'));
const { compactWal } = await import(join(dist, 'coordination', 'zk-wal-compaction.js'));
const { ZkSnapshotStore } = await import(join(dist, 'coordination', 'zk-snapshot-store.js'));
const { genesisChain, chainNext } = await import(join(dist, 'core', 'chain.js'));
const { realClock } = await import(join(dist, 'common', 'real-clock.js'));
const { silentLogger } = await import(join(dist, 'common', 'logger.js'));

const segments = Number(process.argv[2] ?? 20_000);
const laneSettings = (process.argv[3] ?? '0,16').split(',').map(Number);
if (!(Number.isInteger(segments) && segments >= 10 && segments <= 200_000) || laneSettings.some((w) => !(Number.isInteger(w) && w >= 0 && w <= 256))) {
  process.stderr.write('usage: zk-segment-walk-bench.mjs [SEGMENTS in [10, 200000]] [LANES,... each in [0, 256]]\n');
  process.exit(2);
}
const LENGTHS = [1, 2, 3, 4, 5, 6, 4, 2]; // 3.4 entries a segment on average
const clusterId = 'cd'.repeat(16);
const ctx = (session, paths) => ({ zk: session, paths, clock: realClock, logger: silentLogger });

/** A cluster tree with `segments` segments in a chain (back-links set), a tail, and a snapshot manifest near the tail. */
async function writeLog(session, name) {
  const paths = new ClusterPaths(name);
  const state = await ensureClusterTree(session, paths);
  const epoch = await session.setData(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), state.epoch.version);
  let chain = genesisChain(clusterId);
  let next = 1;
  let prevFirst = 0;
  let ops = [];
  const firsts = [];
  for (let s = 0; s < segments; s++) {
    const n = LENGTHS[s % LENGTHS.length];
    const entries = [];
    for (let i = next; i < next + n; i++) {
      const base = { index: i, term: 1, type: 0, data: new Uint8Array(300).fill(i % 251) };
      chain = chainNext(chain, base);
      entries.push({ ...base, chain });
    }
    ops.push({ type: 'create', path: paths.segment(next), data: encodeSegment(1, entries, prevFirst), mode: 'persistent' });
    firsts.push(next);
    prevFirst = next;
    next += n;
    if (ops.length === 200) {
      await session.multi(ops);
      ops = [];
    }
  }
  if (ops.length > 0) await session.multi(ops);
  const last = next - 1;
  const { stat } = await session.getData(paths.tail);
  await session.setData(paths.tail, encodeTail({ term: 1, lastIndex: last, segmentFirstIndex: prevFirst }), stat.version);
  // A snapshot at the end of the segment 100 before the tail's: compaction deletes all but about 100.
  const at = firsts[firsts.length - 100] - 1;
  const store = new ZkSnapshotStore({ ...ctx(session, paths), nodeId: 'a', chunkBytes: 4096 });
  const file = new Uint8Array(1000).fill(7);
  const manifest = await store.upload({
    point: { index: at, term: 1, chain: new Uint8Array(16) },
    sizeBytes: file.length,
    sha256: new Uint8Array(createHash('sha256').update(file).digest()),
    chunks: (async function* () {
      yield file;
    })(),
    epochVersion: epoch.version,
  });
  return { paths, last, tailFirst: prevFirst, epochVersion: epoch.version, manifest };
}

/** Counts getData calls on the segments (hits and misses). */
function counting(session) {
  const c = { reads: 0 };
  const proxy = new Proxy(session, {
    get(target, prop) {
      if (prop === 'getData') {
        return (path, w) => {
          if (path.includes('/wal/')) c.reads++;
          return target.getData(path, w);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { session: proxy, c };
}

const zk = await startZooKeeper({ env: {}, heapMb: 1024, forceSync: false });
const session = connectZk({ connectString: zk.connectString, sessionTimeoutMs: 30_000 });
const rows = [];
try {
  await session.waitConnected(10_000);
  await session.create('/duoraft', new Uint8Array(), 'persistent');
  const t0 = performance.now();
  const walkLog = await writeLog(session, 'walk');
  process.stdout.write(`wrote ${segments} segments (${walkLog.last} entries) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const readLanes of laneSettings) {
    const row = { lanes: readLanes, segments, entries: walkLog.last };
    let { session: s, c } = counting(session);
    let t = performance.now();
    const v = await verifyWalFrom(s, walkLog.paths, { fromIndex: 1, tailLastIndex: walkLog.last, tailSegmentFirstIndex: walkLog.tailFirst, genesis: genesisChain(clusterId), listingLimit: 0, readLanes });
    if (v.segments !== segments) throw new Error(`verify read ${v.segments} segments, expected ${segments}`);
    row.verifyS = +((performance.now() - t) / 1000).toFixed(2);
    row.verifyGetData = c.reads;
    ({ session: s, c } = counting(session));
    t = performance.now();
    const entries = await readCommittedEntries(s, walkLog.paths, 0, walkLog.last, { tailSegmentFirstIndex: walkLog.tailFirst, readLanes });
    if (entries.length !== walkLog.last) throw new Error(`read ${entries.length} entries, expected ${walkLog.last}`);
    row.replayS = +((performance.now() - t) / 1000).toFixed(2);
    row.replayGetData = c.reads;
    const log = await writeLog(session, `compact-${readLanes}`);
    ({ session: s, c } = counting(session));
    t = performance.now();
    const r = await compactWal(ctx(s, log.paths), { epochVersion: log.epochVersion, covering: log.manifest, maxSegments: segments, readLanes });
    row.compactS = +((performance.now() - t) / 1000).toFixed(2);
    row.compacted = r.deletedSegments;
    row.compactGetData = c.reads;
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
} finally {
  await session.close();
  await zk.stop();
}
console.table(rows);
