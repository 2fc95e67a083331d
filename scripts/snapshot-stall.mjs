#!/usr/bin/env node
// How much taking and loading a snapshot stalls the event loop (notes/snapshots.md).
// Builds a KvStore of --keys keys (default 100,000) with --value-bytes values (256), then
// runs a write loop that applies --writes-per-turn puts/deletes per turn of the event loop
// (each turn scheduled with setImmediate, as the driver's apply loop is) and measures:
//   - baseline: the longest event-loop delay and the longest gap between two write-loop
//     turns while nothing else runs (the noise floor of this machine);
//   - save: the same while LocalSnapshotStore.save writes the snapshot (temp file, fsync,
//     rename, directory fsync), and how long the save takes;
//   - load: the same while LocalSnapshotStore.load reads it back into a fresh store.
// Event-loop delay: perf_hooks.monitorEventLoopDelay (10 ms resolution: its timer fires
// late by the stall). Needs `npm run build` first.
//   node scripts/snapshot-stall.mjs [--keys 100000] [--value-bytes 256] [--writes-per-turn 20]
//                                   [--slice-keys 1024] [--slice-bytes 262144] [--read-chunk 262144] [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    'value-bytes': { type: 'string', default: '256' },
    'writes-per-turn': { type: 'string', default: '20' },
    'slice-keys': { type: 'string' },
    'slice-bytes': { type: 'string' },
    'read-chunk': { type: 'string' },
    'baseline-ms': { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});
const int = (name) => {
  const n = Number(args[name]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${args[name]}`);
  return n;
};
const keys = int('keys');
const valueBytes = int('value-bytes');
const writesPerTurn = int('writes-per-turn');
const baselineMs = int('baseline-ms');

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const { KvStore } = await import(join(dist, 'statemachine/kv-store.js'));
const { encodeCommand } = await import(join(dist, 'statemachine/command.js'));
const { openLocalSnapshotStore } = await import(join(dist, 'storage/snapshot-store.js'));
const { zeroChain } = await import(join(dist, 'common/snapshot-point.js'));

const NORMAL = 0; // EntryType.Normal
const store = new KvStore();
let stamp = 1;
const apply = (command) => store.apply({ index: store.applied() + 1, term: 1, type: NORMAL, data: encodeCommand(command, stamp++) });
const value = (seed) => {
  const v = new Uint8Array(valueBytes);
  for (let i = 0; i < valueBytes; i++) v[i] = (seed * 31 + i) & 0xff;
  return v;
};
const buildStart = performance.now();
for (let i = 0; i < keys; i++) apply({ kind: 'put', key: `key-${String(i).padStart(8, '0')}`, value: value(i) });
const buildMs = performance.now() - buildStart;

// The write loop: puts over existing and new keys, some deletes. Gaps between turns are what a client sees as stalls.
let running = false;
let writes = 0;
let lastTurn = 0;
let maxGapMs = 0;
let gaps = [];
let rnd = 12345;
const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
function turn() {
  if (!running) return;
  const now = performance.now();
  if (lastTurn > 0) {
    maxGapMs = Math.max(maxGapMs, now - lastTurn);
    gaps.push(now - lastTurn);
  }
  lastTurn = now;
  for (let i = 0; i < writesPerTurn; i++) {
    const k = next() % (keys + keys / 10);
    const key = `key-${String(k).padStart(8, '0')}`;
    if (next() % 10 === 0) apply({ kind: 'delete', key });
    else apply({ kind: 'put', key, value: value(writes) });
    writes++;
  }
  setImmediate(turn);
}

/** Runs `work` with the write loop going; returns its result and the stall numbers. */
async function measured(work) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  running = true;
  writes = 0;
  lastTurn = 0;
  maxGapMs = 0;
  gaps = [];
  setImmediate(turn);
  histogram.enable();
  const start = performance.now();
  const result = await work();
  const ms = performance.now() - start;
  histogram.disable();
  running = false;
  await new Promise((resolve) => setImmediate(resolve));
  return {
    result,
    ms: round(ms),
    maxLoopDelayMs: round(histogram.max / 1e6),
    p99LoopDelayMs: round(histogram.percentile(99) / 1e6),
    maxWriteGapMs: round(maxGapMs),
    p99WriteGapMs: round(percentile(gaps, 0.99)),
    writes,
  };
}
const round = (x) => Math.round(x * 10) / 10;
const percentile = (xs, p) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]);

const dir = await mkdtemp(join(tmpdir(), 'snapstall-'));
try {
  const slices = {};
  if (args['slice-keys']) slices.sliceKeys = int('slice-keys');
  if (args['slice-bytes']) slices.sliceBytes = int('slice-bytes');
  const snaps = await openLocalSnapshotStore({
    dir: join(dir, 'snapshots'),
    cluster: 'bench',
    slices,
    ...(args['read-chunk'] ? { readChunkBytes: int('read-chunk') } : {}),
  });
  const baseline = await measured(() => new Promise((resolve) => setTimeout(resolve, baselineMs)));
  const save = await measured(async () => {
    const view = store.openView();
    return snaps.save({ index: view.index, term: 1, chain: zeroChain() }, view);
  });
  const saved = save.result;
  const load = await measured(() => snaps.load(saved));
  const loadedKeys = load.result.store.size();
  const out = {
    keys,
    valueBytes,
    writesPerTurn,
    buildMs: round(buildMs),
    fileBytes: saved.sizeBytes,
    loadedKeys,
    baseline: strip(baseline),
    save: strip(save),
    load: strip(load),
  };
  if (args.json) console.log(JSON.stringify(out));
  else {
    console.log(`${keys} keys x ${valueBytes} B, file ${(saved.sizeBytes / 1e6).toFixed(1)} MB, write loop ${writesPerTurn} writes/turn`);
    for (const [name, m] of [['baseline', baseline], ['save', save], ['load', load]]) {
      console.log(
        `${name.padEnd(8)} ${String(m.ms).padStart(7)} ms  max loop delay ${String(m.maxLoopDelayMs).padStart(5)} ms  p99 ${String(m.p99LoopDelayMs).padStart(5)} ms  gap between write turns max ${String(m.maxWriteGapMs).padStart(5)} ms p99 ${String(m.p99WriteGapMs).padStart(5)} ms  writes ${m.writes}`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

function strip({ result: _, ...rest }) {
  return rest;
}
