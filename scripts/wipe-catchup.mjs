#!/usr/bin/env node
// How long a follower with a wiped disk takes to catch up (notes/chaos.md):
//   npm run build && node scripts/wipe-catchup.mjs [ENTRIES]      (default 50000)
// Starts its own ZooKeeper and two voters, writes ENTRIES 100-byte values with 64 writers,
// SIGKILLs the follower, deletes its data, restarts it under a light writer, and prints
// the follower's commit index each second until it is within 50 of the leader's.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { ProcessCluster } = await import(join(dist, 'harness', 'process-cluster.js'));
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { connect } = await import(join(dist, 'client', 'client.js'));

const N = Number(process.argv[2] ?? 50000);
const workDir = await mkdtemp(join(tmpdir(), 'duoraft-wipe-'));
const zk = await startZooKeeper({ env: {} });
const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: 'w', peerProxies: true, zkProxies: true, workDir });
const c = await connect({ zk: zk.connectString, cluster: 'w' });
try {
  let i = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (i < N) { const k = i++; await c.put(`k${k}`, 'v'.repeat(100)); } }));
  const leader = await cluster.waitForLeader(5000);
  const follower = cluster.ids().find((x) => x !== leader);
  let stop = false;
  const bg = (async () => { let j = 0; while (!stop) { await c.put(`bg${j++}`, 'x'); await new Promise((r) => setTimeout(r, 2)); } })();
  await cluster.kill(follower);
  const t0 = Date.now();
  await cluster.restart(follower, { wipe: true });
  let caughtUp = false;
  for (let s = 0; s < 120 && !caughtUp; s++) {
    const f = await cluster.memberStatus(follower);
    const l = await cluster.memberStatus(leader);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s  follower ${f?.role ?? '-'} commit ${f?.commitIndex ?? '-'}  leader commit ${l?.commitIndex ?? '-'}\n`);
    caughtUp = Boolean(f && l && f.commitIndex >= l.commitIndex - 50);
    if (!caughtUp) await new Promise((r) => setTimeout(r, 1000));
  }
  process.stdout.write(caughtUp ? `caught up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` : 'did not catch up within 120 s\n');
  stop = true;
  await bg;
} finally {
  await c.close();
  await cluster.stop();
  await zk.stop();
  await rm(workDir, { recursive: true, force: true });
}
process.exit(0);
