#!/usr/bin/env node
// What the WAL's sync mark costs (notes/design.md, "What the local WAL lost"): the time
// of one mark write (a 36-byte pwrite, no fsync) beside one append + sync of the file WAL
// (a write and an fdatasync). Needs `npm run build` first.
//   node scripts/wal-mark-cost.mjs
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/storage/', import.meta.url));
const { SyncMarkWriter } = await import(join(dist, 'sync-mark.js'));
const { openFileWal } = await import(join(dist, 'file-wal.js'));
const dir = await mkdtemp(join(tmpdir(), 'markbench-'));
const w = await SyncMarkWriter.open(dir);
let t = process.hrtime.bigint();
for (let i = 0; i < 10000; i++) await w.write({ sequence: 1, size: i * 100, lastIndex: i });
const markUs = Number(process.hrtime.bigint() - t) / 1000 / 10000;
await w.close();
const { wal } = await openFileWal(join(dir, 'wal'));
const data = new Uint8Array(256);
t = process.hrtime.bigint();
for (let i = 1; i <= 2000; i++) { wal.appendEntries([{ index: i, term: 1, type: 0, data }]); await wal.sync(); }
const syncUs = Number(process.hrtime.bigint() - t) / 1000 / 2000;
await wal.close();
await rm(dir, { recursive: true });
console.log(`mark write: ${markUs.toFixed(1)} us each; append+sync (fdatasync) of one 256-byte entry: ${syncUs.toFixed(1)} us each`);
