#!/usr/bin/env node
// How much taking and loading a snapshot stalls the event loop (notes/snapshots.md).
//
// Builds a KvStore of --keys keys (default 100,000) with --value-bytes values (256), then
// runs a write loop that applies --writes-per-turn puts and deletes (10) on a timer every
// --pace-ms (1; 0 = back to back with setImmediate, the harshest load), about 10,000
// writes/s by default, and measures three phases of it:
//   baseline  nothing else runs: the noise floor of this (shared) machine;
//   save      LocalSnapshotStore.save writes the snapshot (view, sliced serializer, temp
//             file, fsync, rename, directory fsync), with the loop mutating the store;
//   load      LocalSnapshotStore.load reads it back into a fresh store (sliced);
//   control   no snapshot: plain computation in slices as long as the save's median slice,
//             for as long as the save took. On a shared machine a process that is busy
//             gets preempted; this shows how much of the save's tail is that, not the save.
// For each: the phase's duration; the gaps between write-loop turns (p50, p99, max): a gap
// is the pace plus how late the loop's timer fired, so the longest event-loop stall is the
// max gap minus the pace; perf_hooks.monitorEventLoopDelay (1 ms resolution; its numbers
// include the 1 ms) as a cross-check; and for save, load and control the wall time of
// each slice of work (from resuming after one yield to the next yield; for save it also
// holds awaited file writes, which do not block the loop).
// Needs `npm run build` first.
//   node scripts/snapshot-stall.mjs [--keys 100000] [--value-bytes 256] [--writes-per-turn 10] [--pace-ms 1]
//        [--slice-keys 1024] [--slice-bytes 262144] [--read-chunk 262144] [--baseline-ms 2000] [--rounds 2] [--json]
// Each round saves, loads and runs the control again: the first round runs cold code (the
// JIT has not optimized the encoders yet), later rounds show a node that has taken
// snapshots before.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    'value-bytes': { type: 'string', default: '256' },
    'writes-per-turn': { type: 'string', default: '10' },
    'pace-ms': { type: 'string', default: '1' },
    'slice-keys': { type: 'string' },
    'slice-bytes': { type: 'string' },
    'read-chunk': { type: 'string' },
    'baseline-ms': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const int = (name, min = 1) => {
  const n = Number(args[name]);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${args[name]}`);
  return n;
};
const keys = int('keys');
const valueBytes = int('value-bytes');
const writesPerTurn = int('writes-per-turn');
const paceMs = int('pace-ms', 0);
const baselineMs = int('baseline-ms');
const rounds = int('rounds');

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
const keyOf = (i) => `key-${String(i).padStart(8, '0')}`;
for (let i = 0; i < keys; i++) apply({ kind: 'put', key: keyOf(i), value: value(i) });

// The write loop: puts over existing and new keys, one delete in ten.
let running = false;
let writes = 0;
let lastTurn = 0;
let gaps = [];
let rnd = 12345;
const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
const schedule = (fn) => (paceMs === 0 ? setImmediate(fn) : setTimeout(fn, paceMs));
function turn() {
  if (!running) return;
  const now = performance.now();
  if (lastTurn > 0) gaps.push(now - lastTurn);
  lastTurn = now;
  for (let i = 0; i < writesPerTurn; i++) {
    const key = keyOf(next() % Math.floor(keys * 1.1));
    if (next() % 10 === 0) apply({ kind: 'delete', key });
    else apply({ kind: 'put', key, value: value(writes) });
    writes++;
  }
  schedule(turn);
}

// Slices of snapshot work: the time between resuming after one yield and the next yield.
let slices = [];
let sliceStart = 0;
const yieldTurn = async () => {
  if (sliceStart > 0) slices.push(performance.now() - sliceStart);
  await new Promise((resolve) => setImmediate(resolve));
  sliceStart = performance.now();
};

/** Runs `work` with the write loop going; returns its result and the stall numbers. */
async function measured(work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  running = true;
  writes = 0;
  lastTurn = 0;
  gaps = [];
  slices = [];
  sliceStart = 0;
  schedule(turn);
  histogram.enable();
  const start = performance.now();
  const result = await work();
  const ms = performance.now() - start;
  histogram.disable();
  running = false;
  await new Promise((resolve) => setTimeout(resolve, paceMs + 5));
  return {
    result,
    ms: round1(ms),
    loopDelayMs: { p99: round1(histogram.percentile(99) / 1e6), max: round1(histogram.max / 1e6) },
    writeGapMs: spread(gaps),
    sliceMs: slices.length > 0 ? { count: slices.length, ...spread(slices) } : null,
    writes,
  };
}
const round1 = (x) => Math.round(x * 10) / 10;
function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => (s.length === 0 ? 0 : round1(s[Math.min(s.length - 1, Math.floor(p * s.length))]));
  return { p50: at(0.5), p99: at(0.99), max: s.length === 0 ? 0 : round1(s[s.length - 1]) };
}

const dir = await mkdtemp(join(tmpdir(), 'snapstall-'));
try {
  const sliceOptions = { yieldTurn };
  if (args['slice-keys']) sliceOptions.sliceKeys = int('slice-keys');
  if (args['slice-bytes']) sliceOptions.sliceBytes = int('slice-bytes');
  const snaps = await openLocalSnapshotStore({
    dir: join(dir, 'snapshots'),
    cluster: 'bench',
    slices: sliceOptions,
    yieldTurn,
    ...(args['read-chunk'] ? { readChunkBytes: int('read-chunk') } : {}),
  });
  const loadBefore = loadavg()[0];
  const baseline = await measured(() => new Promise((resolve) => setTimeout(resolve, baselineMs)));
  const phases = [['baseline', baseline]];
  let saved = null;
  let loadedKeys = 0;
  for (let round = 1; round <= rounds; round++) {
    const save = await measured(async () => {
      const view = store.openView();
      return snaps.save({ index: view.index, term: 1, chain: zeroChain() }, view);
    });
    saved = save.result;
    const load = await measured(() => snaps.load(saved));
    loadedKeys = load.result.store.size();
    const control = await measured(async () => {
      const sliceMs = save.sliceMs.p50;
      const end = performance.now() + save.ms;
      let sink = 0;
      while (performance.now() < end) {
        const start = performance.now();
        while (performance.now() - start < sliceMs) sink++;
        await yieldTurn();
      }
      return sink;
    });
    phases.push([`save ${round}`, save], [`load ${round}`, load], [`control ${round}`, control]);
    await snaps.prune(1);
  }
  const out = {
    keys,
    valueBytes,
    writesPerTurn,
    paceMs,
    loadAverage: round1(loadBefore),
    fileBytes: saved.sizeBytes,
    loadedKeys,
    phases: Object.fromEntries(phases.map(([name, m]) => [name, strip(m)])),
  };
  if (args.json) console.log(JSON.stringify(out));
  else {
    console.log(
      `${keys} keys x ${valueBytes} B, file ${(saved.sizeBytes / 1e6).toFixed(1)} MB; write loop ${writesPerTurn} writes every ${paceMs} ms; load average ${out.loadAverage}`,
    );
    for (const [name, m] of phases) {
      const g = m.writeGapMs;
      const sl = m.sliceMs ? `  slices ${m.sliceMs.count} p50/p99/max ${m.sliceMs.p50}/${m.sliceMs.p99}/${m.sliceMs.max} ms` : '';
      console.log(
        `${name.padEnd(10)} ${String(m.ms).padStart(7)} ms  write gaps p50/p99/max ${g.p50}/${g.p99}/${g.max} ms  loop delay p99/max ${m.loopDelayMs.p99}/${m.loopDelayMs.max} ms  writes ${m.writes}${sl}`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

function strip({ result: _, ...rest }) {
  return rest;
}
