#!/usr/bin/env node
// The suite's floor under one writer (a bare ZooKeeper multi of the leader's one-write shape,
// src/harness/zk-multi-floor.ts) is measured while the cluster is idle. This probe measures
// it beside the writer too (notes/results.md, "One writer: the floor is measured on an idle
// ZooKeeper"): on a fresh two-voter cluster with its own production ZooKeeper, each round runs
// 5 s of the bare multi alone, 5 s of one writer alone, then 5 s of both at once, and prints
// the p50 and p90 of each; then the same with the follower SIGKILLed (the leader alone).
// Starts everything it uses and ends it.
//   npm run build && node scripts/floor-beside-writer.mjs [--rounds N]   (default 3, at most 10)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));
const { runLoad } = await import(join(dist, 'harness', 'bench.js'));
const { measureZkMultiFloor } = await import(join(dist, 'harness', 'zk-multi-floor.js'));

const at = process.argv.indexOf('--rounds');
const ROUNDS = at >= 0 ? Number(process.argv[at + 1]) : 3;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 10) {
  process.stderr.write('--rounds takes an integer in 1..10\n');
  process.exit(2);
}
const PHASE_MS = 5000;
const zk = await startZooKeeper({ env: {}, jvmProfile: 'production' });
let cluster;
let client;
const writer = () => runLoad(client, { workload: 'write', concurrency: 1, valueBytes: 256, durationMs: PHASE_MS, consistency: 'linearizable', readRatio: 0, keys: 1000 });
const floor = () => measureZkMultiFloor({ connectString: zk.connectString, durationMs: PHASE_MS, valueBytes: 256 });
const shown = (r) => `p50 ${r.latencyMs.p50} p90 ${r.latencyMs.p90}`;
async function rounds(label) {
  for (let round = 1; round <= ROUNDS; round++) {
    const multiAlone = await floor();
    const writerAlone = await writer();
    const [multiBeside, writerBeside] = await Promise.all([floor(), writer()]);
    console.log(`${label}, round ${round} (ms): bare multi alone ${shown(multiAlone)} | one writer alone ${shown(writerAlone)} | bare multi beside the writer ${shown(multiBeside)} | writer beside the multi ${shown(writerBeside)}`);
  }
}
try {
  cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'floor-probe', logLevel: 'warn' });
  client = await connect({ zk: zk.connectString, cluster: 'floor-probe', deadlineMs: 30_000 });
  await runLoad(client, { workload: 'write', concurrency: 8, valueBytes: 256, durationMs: 3000, consistency: 'linearizable', readRatio: 0, keys: 1000 }); // warm-up (the JIT)
  await rounds('both voters');
  const leader = await cluster.waitForLeader(5000);
  await cluster.kill(cluster.ids().find((id) => id !== leader));
  await new Promise((r) => setTimeout(r, 1000));
  await rounds('the leader alone');
} finally {
  await client?.close();
  await cluster?.stop();
  await zk.stop();
}
process.exit(0);
