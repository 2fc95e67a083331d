#!/usr/bin/env node
// Where a single writer's time goes (notes/results.md, "Where the single writer's time goes"):
// on a fresh two-voter cluster with --metrics, a bare ZooKeeper multi of the leader's one-write
// shape (the suite's floor), then one writer for 8 s with both voters, then one writer for 8 s
// after the follower is SIGKILLed (the leader alone: what the follower costs), then the floor
// again. For each writer phase: the client's latency and the means of the voters' histograms
// over that time (a put at the leader from arrival to answer, its WAL multi, each voter's local
// WAL fsyncs). Starts its own ZooKeeper (production JVM) and ends everything.
//   npm run build && node scripts/single-writer-probe.mjs [--writers N] [--node-args "..."]
// --writers 64 shows the same split under the suite's 64-writer load (with entries per multi).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));
const { runLoad } = await import(join(dist, 'harness', 'bench.js'));
const { measureZkMultiFloor } = await import(join(dist, 'harness', 'zk-multi-floor.js'));
const at = process.argv.indexOf('--node-args');
const extraArgs = at >= 0 ? (process.argv[at + 1] ?? '').split(' ').filter(Boolean) : [];
const SECONDS = 8;
const wAt = process.argv.indexOf('--writers');
const WRITERS = wAt >= 0 ? Number(process.argv[wAt + 1]) : 1;
if (!Number.isInteger(WRITERS) || WRITERS < 1 || WRITERS > 1024) throw new Error('--writers takes an integer in 1..1024');
const zk = await startZooKeeper({ env: {}, jvmProfile: 'production' });
const addrs = {};
let cluster, c;
const load = (concurrency, durationMs) => runLoad(c, { workload: 'write', concurrency, valueBytes: 256, durationMs, consistency: 'linearizable', readRatio: 0, keys: 1000 });
const scrape = async () => {
  const out = {};
  for (const [id, u] of Object.entries(addrs)) {
    try { out[id] = await (await fetch(u)).text(); } catch { out[id] = ''; } // a killed voter answers nothing
  }
  return out;
};
const pick = (text, name, label) => {
  let sum = 0, count = 0;
  for (const l of text.split('\n')) {
    if (label && !l.includes(label)) continue;
    if (l.startsWith(name + '_sum')) sum += Number(l.split(' ').pop());
    if (l.startsWith(name + '_count')) count += Number(l.split(' ').pop());
  }
  return { sum, count };
};
const SERIES = [['duoraft_zk_multi_entries', '', 'entries per multi'], ['duoraft_client_request_duration_seconds', 'kind="put"', 'put at the leader'], ['duoraft_zk_multi_duration_seconds', 'outcome="ok"', 'WAL multi'], ['duoraft_wal_fsync_duration_seconds', '', 'local fsync']];
async function writerPhase(name) {
  const before = await scrape();
  const r = await load(WRITERS, SECONDS * 1000);
  const after = await scrape();
  console.log(`${name}: ${WRITERS} writer(s) p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, ${r.opsPerSecond}/s`);
  for (const id of Object.keys(after)) {
    for (const [series, label, what] of SERIES) {
      const a = pick(after[id], series, label), b = pick(before[id] ?? '', series, label);
      const n = a.count - b.count;
      const mean = (a.sum - b.sum) / n;
      // Histograms of seconds are shown in ms; the entries per multi as they are.
      const shown = series.endsWith('_seconds') ? `${(mean * 1000).toFixed(3)} ms` : mean.toFixed(1);
      if (n > 0) console.log(`  ${id}: ${what}: ${n} (${(n / SECONDS).toFixed(0)}/s), mean ${shown}`);
    }
  }
}
const floor = async () => {
  const f = await measureZkMultiFloor({ connectString: zk.connectString, durationMs: 5000, valueBytes: 256 });
  console.log(`floor: a bare multi of the same shape p50 ${f.latencyMs.p50} ms, p90 ${f.latencyMs.p90} ms (${f.multis} multis)`);
};
try {
  cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'probe', logLevel: 'info', nodeArgs: ['--metrics', '127.0.0.1:0', ...extraArgs],
    onLine: (id, line) => { const m = /"metrics":"(http:[^"]+)"/.exec(line); if (m) addrs[id] = m[1]; } });
  c = await connect({ zk: zk.connectString, cluster: 'probe', deadlineMs: 30000 });
  await load(8, 2000); // warm-up: the JIT's compiles are not charged to the first phase
  await floor();
  await writerPhase('both voters');
  const leader = await cluster.waitForLeader(5000);
  await cluster.kill(cluster.ids().find((x) => x !== leader));
  await new Promise((r) => setTimeout(r, 1000));
  await writerPhase('the leader alone (follower SIGKILLed)');
  await floor();
} finally { await c?.close(); await cluster?.stop(); await zk.stop(); }
process.exit(0);
