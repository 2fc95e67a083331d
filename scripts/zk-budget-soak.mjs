#!/usr/bin/env node
// What the cluster keeps in ZooKeeper under sustained writes, at the default snapshot
// settings and budget unless told otherwise (notes/snapshots.md, "The ZooKeeper budget").
//
// Starts its own ZooKeeper and two voters, fills --keys keys of --value-bytes, then
// overwrites them with --writers writers for --seconds, counting the cluster's znodes from
// ZooKeeper (inspectZk) every --sample-ms all along. Prints the largest and the last count,
// the modes the leader went through, the snapshots it took and published, the writes and
// how many were refused (ZK_BUDGET_EXCEEDED). Also: how many ZooKeeper bytes an entry costs
// in wal/ after the fill (wal/ bytes over the entries it holds, from the first segment to the
// tail, so that a compaction during the fill does not skew it).
// Needs `npm run build` first.
//   node scripts/zk-budget-soak.mjs [--keys 40000] [--value-bytes 256] [--writers 16] [--seconds 60]
//        [--sample-ms 250] [--node-args "--zk-budget-bytes 67108864"] [--json]
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '40000' },
    'value-bytes': { type: 'string', default: '256' },
    writers: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '60' },
    'sample-ms': { type: 'string', default: '250' },
    'node-args': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const keys = Number(args.keys);
const valueBytes = Number(args['value-bytes']);
const writers = Number(args.writers);
const seconds = Number(args.seconds);
const sampleMs = Number(args['sample-ms']);
const nodeArgs = args['node-args'].split(' ').filter(Boolean);
for (const [flag, n] of [['keys', keys], ['value-bytes', valueBytes], ['writers', writers], ['seconds', seconds], ['sample-ms', sampleMs]]) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag} must be a positive integer (got ${args[flag]})`);
    process.exit(2);
  }
}

const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));
const { startZooKeeper } = await import(dist('harness/zk-launcher.js'));
const { ProcessCluster } = await import(dist('harness/process-cluster.js'));
const { connect } = await import(dist('client/client.js'));
const { connectZk } = await import(dist('coordination/zk-client.js'));
const { inspectZk } = await import(dist('coordination/zk-inspect.js'));
const { ClusterPaths } = await import(dist('coordination/layout.js'));
const { realClock } = await import(dist('common/real-clock.js'));

const zk = await startZooKeeper();
const name = 'budget-soak';
const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs });
const c = await connect({ zk: zk.connectString, cluster: name, deadlineMs: 30_000 });
const session = connectZk({ connectString: zk.connectString });
await session.waitConnected(5000);
const count = () => inspectZk(session, new ClusterPaths(name), { clock: realClock });
const loads = [loadavg()[0]];
const value = (n) => `${n}:`.padEnd(valueBytes, 'x');

try {
  // Fill, one writer per slice of keys.
  let filled = 0;
  const fillStarted = Date.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let k = w; k < keys; k += writers) {
        await c.put(`k-${k}`, value(0));
        filled++;
      }
    }),
  );
  const fillMs = Date.now() - fillStarted;
  const afterFill = await count();

  // Overwrite for --seconds, sampling ZooKeeper all along.
  const samples = [];
  const modes = new Map();
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const t = Date.now();
      samples.push({ t, u: await count() });
      const leader = (await c.status()).find((m) => m.role === 'leader');
      const mode = leader?.zkBudget?.mode ?? 'uncounted';
      modes.set(mode, (modes.get(mode) ?? 0) + 1);
      loads.push(loadavg()[0]);
      await new Promise((r) => setTimeout(r, Math.max(0, sampleMs - (Date.now() - t))));
    }
  })();
  let writes = 0;
  const refused = new Map();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 1; Date.now() < end; n++) {
        try {
          await c.put(`k-${(n * writers + w) % keys}`, value(n));
          writes++;
        } catch (err) {
          refused.set(err.code ?? 'error', (refused.get(err.code ?? 'error') ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  stop = true;
  await sampler;

  const leader = (await c.status()).find((m) => m.role === 'leader');
  const log = leader ? await readFile(cluster.node(leader.id).logFile, 'utf8') : '';
  const countLines = (msg) => log.split('\n').filter((l) => l.includes(msg)).length;
  if (samples.length === 0) throw new Error('no sample of ZooKeeper was taken: give --seconds more than --sample-ms');
  const max = samples.reduce((m, s) => (s.u.budgetBytes > m.u.budgetBytes ? s : m), samples[0]);
  const last = samples[samples.length - 1];
  const flagAt = nodeArgs.indexOf('--zk-budget-bytes');
  const budgetBytes = leader?.zkBudget?.budgetBytes ?? (flagAt >= 0 ? Number(nodeArgs[flagAt + 1]) : 64 * 1024 * 1024);
  const result = {
    keys,
    valueBytes,
    writers,
    seconds,
    nodeArgs,
    fill: { writes: filled, ms: fillMs, walBytesPerEntry: Math.round(afterFill.wal.dataBytes / Math.max(1, afterFill.wal.tailLastIndex - afterFill.wal.firstSegmentIndex + 1)) },
    writes,
    writesPerSecond: Math.round(writes / seconds),
    refused: Object.fromEntries(refused),
    samples: samples.length,
    budgetBytes,
    max: { budgetBytes: max.u.budgetBytes, walBytes: max.u.wal.dataBytes, segments: max.u.wal.segments, snapshots: max.u.snapshots.map((s) => [s.index, s.state, s.dataBytes]) },
    last: { budgetBytes: last.u.budgetBytes, walBytes: last.u.wal.dataBytes, snapshots: last.u.snapshots.map((s) => [s.index, s.state, s.dataBytes]) },
    modes: Object.fromEntries(modes),
    leader: { id: leader?.id, snapshotBytes: leader?.snapshotBytes, snapshotsTaken: countLines('"snapshot taken"'), published: countLines('snapshot published to ZooKeeper'), overLines: countLines('ZooKeeper budget exceeded') },
    loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
  };
  if (args.json) console.log(JSON.stringify(result));
  else {
    const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
    console.log(`${keys} keys of ${valueBytes} B, ${writers} writers, ${seconds} s, node args: ${nodeArgs.join(' ') || '(defaults)'}`);
    console.log(`fill: ${filled} writes in ${fillMs} ms, ${result.fill.walBytesPerEntry} bytes of wal/ per entry`);
    console.log(`overwrite: ${writes} writes (${result.writesPerSecond}/s), refused ${JSON.stringify(result.refused)}`);
    console.log(`ZooKeeper (wal + snapshots), ${samples.length} samples: max ${mib(max.u.budgetBytes)} (wal ${mib(max.u.wal.dataBytes)} in ${max.u.wal.segments} segments, snapshots ${JSON.stringify(result.max.snapshots)}), last ${mib(last.u.budgetBytes)}, budget ${mib(budgetBytes)}`);
    console.log(`leader ${leader?.id}: snapshot ${mib(leader?.snapshotBytes ?? 0)}, ${result.leader.snapshotsTaken} taken, ${result.leader.published} published, ${result.leader.overLines} over-budget lines; modes sampled ${JSON.stringify(result.modes)}`);
    console.log(`load average ${result.loadAverage.min.toFixed(1)} - ${result.loadAverage.max.toFixed(1)} (2 cores)`);
  }
} finally {
  await c.close();
  await session.close();
  await cluster.stop();
  await zk.stop();
}
