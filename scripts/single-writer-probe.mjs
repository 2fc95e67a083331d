#!/usr/bin/env node
// Where a single writer's time goes (notes/results.md, "The suite on the final commit"): one
// writer for 10 s on a fresh two-voter cluster with --metrics, and the means of the voters'
// histograms over that time: a put at the leader (arrival to answer), its WAL multi, and each
// voter's local WAL fsyncs. Starts its own ZooKeeper (production JVM) and ends everything.
//   npm run build && node scripts/single-writer-probe.mjs
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));
const { runLoad } = await import(join(dist, 'harness', 'bench.js'));
const zk = await startZooKeeper({ env: {}, jvmProfile: 'production' });
const addrs = {};
let cluster, c;
try {
  cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'probe', logLevel: 'info', nodeArgs: ['--metrics', '127.0.0.1:0'],
    onLine: (id, line) => { const m = /"metrics":"(http:[^"]+)"/.exec(line); if (m) addrs[id] = m[1]; } });
  c = await connect({ zk: zk.connectString, cluster: 'probe', deadlineMs: 30000 });
  await runLoad(c, { workload: 'write', concurrency: 8, valueBytes: 256, durationMs: 2000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
  const scrape = async () => { const out = {}; for (const [id, u] of Object.entries(addrs)) out[id] = await (await fetch(u)).text(); return out; };
  const pick = (text, name, label) => { let sum = 0, count = 0; for (const l of text.split('\n')) { if (l.startsWith(name + '_sum') && (!label || l.includes(label))) sum += Number(l.split(' ').pop()); if (l.startsWith(name + '_count') && (!label || l.includes(label))) count += Number(l.split(' ').pop()); } return { sum, count }; };
  const before = await scrape();
  const r = await runLoad(c, { workload: 'write', concurrency: 1, valueBytes: 256, durationMs: 10000, consistency: 'linearizable', readRatio: 0, keys: 1000 });
  const after = await scrape();
  console.log('client-side single writer', r.latencyMs, r.opsPerSecond + '/s');
  for (const id of Object.keys(after)) {
    for (const [name, label] of [['duoraft_zk_multi_duration_seconds', 'outcome="ok"'], ['duoraft_client_request_duration_seconds', 'kind="put"'], ['duoraft_wal_fsync_duration_seconds', '']]) {
      const a = pick(after[id], name, label), b = pick(before[id], name, label);
      const n = a.count - b.count; if (n > 0) console.log(id, name, label, 'count', n, 'mean ms', ((a.sum - b.sum) / n * 1000).toFixed(3));
    }
  }
} finally { await c?.close(); await cluster?.stop(); await zk.stop(); }
process.exit(0);
