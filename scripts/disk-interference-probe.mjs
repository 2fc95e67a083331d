#!/usr/bin/env node
// Does a neighbour's fdatasync slow ZooKeeper's multi, and would preallocated WAL segments
// help (notes/results.md, "Preallocated WAL segments: measured, not built")? Starts its own
// ZooKeeper (production JVM), warms it up, then measures the suite's bare multi (the leader's
// one-write shape) for S seconds in three rounds each time: nothing else writing; a neighbour
// appending 300 B + fdatasync every 2 ms to a growing file (what a voter's WAL does); the same
// neighbour overwriting a zero-filled, fsynced 64 MiB file (what a preallocated segment would
// do: no size change, no block allocation, so no journal commit per fdatasync on ext4).
//   npm run build && node scripts/disk-interference-probe.mjs [--seconds S] [--rounds R]
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { startZooKeeper } = await import(join(dist, 'harness', 'zk-launcher.js'));
const { measureZkMultiFloor } = await import(join(dist, 'harness', 'zk-multi-floor.js'));

const flag = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const seconds = flag('--seconds', 8);
const rounds = flag('--rounds', 2);
const PREALLOCATED_BYTES = 64 << 20;

/** Writes 300 B and fdatasyncs every 2 ms until stop() (bounded by the file's 64 MiB). */
async function neighbour(dir, kind) {
  const h = await open(join(dir, `wal-${kind}`), 'w+');
  if (kind === 'overwrite') {
    const zeros = Buffer.alloc(1 << 20);
    for (let at = 0; at < PREALLOCATED_BYTES; at += zeros.length) await h.write(zeros, 0, zeros.length, at);
    await h.sync();
  }
  const chunk = Buffer.alloc(300, 7);
  let stopped = false;
  let syncs = 0;
  const done = (async () => {
    for (let at = 0; !stopped && at + chunk.length <= PREALLOCATED_BYTES; at += chunk.length) {
      await h.write(chunk, 0, chunk.length, at);
      await h.datasync();
      syncs++;
      await new Promise((r) => setTimeout(r, 2));
    }
    await h.close();
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return syncs;
    },
  };
}

const zk = await startZooKeeper({ jvmProfile: 'production' });
const dir = await mkdtemp(join(tmpdir(), 'duoraft-disk-probe-'));
try {
  await measureZkMultiFloor({ connectString: zk.connectString, durationMs: 2000, valueBytes: 256 });
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['none', 'append', 'overwrite']) {
      const n = kind === 'none' ? null : await neighbour(dir, kind);
      const started = Date.now();
      const r = await measureZkMultiFloor({ connectString: zk.connectString, durationMs: seconds * 1000, valueBytes: 256 });
      const syncs = n ? await n.stop() : 0;
      const l = r.latencyMs;
      console.log(`round ${round} ${kind.padEnd(9)} neighbour ${String(Math.round(syncs / ((Date.now() - started) / 1000))).padStart(4)} fdatasyncs/s; multi p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} ms (${r.multis} multis)`);
    }
  }
} finally {
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
}
