#!/usr/bin/env node
// CPU of the per-write steps changed for "CPU per write" (notes/results.md), old way and new
// way, in one process, alternating, by process.cpuUsage() (robust on a shared machine):
//   npm run build && node scripts/write-path-microbench.mjs [ROUNDS]     (default 3)
// 1. encodeCommand: the former object spreads vs the fixed-shape message (same bytes).
// 2. a WAL entry's message: its spread vs a fixed shape (same bytes; measured no faster,
//    so src/storage/wal-record.ts keeps the spread).
// 3. validateKey: TextEncoder.encode(key).length vs Buffer.byteLength(key).
// 4. one unary gRPC call on loopback (client and server in this process), the channel's
//    channelz on (grpc-js's default) vs off, as the voters' channels and the client now run
//    (the server keeps it on: see src/transport/peer-service.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { pb } = await import(join(dist, 'common', 'proto.js'));
const { encodeCommand } = await import(join(dist, 'statemachine', 'command.js'));
const { encodeWalRecord } = await import(join(dist, 'storage', 'wal-record.js'));
const grpc = await import('@grpc/grpc-js');

const rounds = Number(process.argv[2] ?? 3);
const value = new Uint8Array(256).fill(120);
const ctx = { sessionId: 7, sequence: 11, firstOutstanding: 9 };

/** µs of CPU per call of fn, over n calls. */
function cpuPerCall(n, fn) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}
async function cpuPerCallAsync(n, fn) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

function formerEncodeCommand(key, v, stampMs, c) {
  const session = c ? { sessionId: c.sessionId, sequence: c.sequence, firstOutstanding: c.firstOutstanding } : {};
  const base = { stampMs, ...session };
  return pb.kv.Command.encode({ ...base, put: { key, value: v } }).finish();
}
const chain = new Uint8Array(32).fill(3);
function formerEntryPayload(entry) {
  return pb.wal.Entry.encode({ index: entry.index, term: entry.term, type: 1, data: entry.data, ...(entry.chain ? { chain: entry.chain } : {}) }).finish();
}
/** The fixed shape that was tried (not kept). */
function entryPayloadNow(entry) {
  return pb.wal.Entry.encode({ index: entry.index, term: entry.term, type: 1, data: entry.data, chain: entry.chain ?? null }).finish();
}
const encoder = new TextEncoder();

// A unary Echo-like call over the Peer service's own machinery is heavy to set up here; a
// generic service with raw Buffers measures grpc-js's per-call work, which is what channelz adds to.
const service = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};
async function grpcPair(channelz) {
  const opts = channelz ? {} : { 'grpc.enable_channelz': 0 };
  const server = new grpc.Server();
  server.addService(service, { echo: (call, cb) => cb(null, call.request) });
  const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { ...opts, 'grpc.use_local_subchannel_pool': 1 });
  const payload = Buffer.alloc(300, 1);
  const call = () => new Promise((res, rej) => client.echo(payload, { deadline: Date.now() + 5000 }, (e, r) => (e ? rej(e) : res(r))));
  for (let i = 0; i < 2000; i++) await call(); // connect, warm up
  return { call, close: () => { client.close(); server.forceShutdown(); } };
}

const results = {};
const note = (name, v) => (results[name] ??= []).push(v);
for (let r = 0; r < rounds; r++) {
  const n = 200_000;
  note('encodeCommand, former', cpuPerCall(n, (i) => formerEncodeCommand(`bench-${i % 10_000}`, value, 1_700_000_000_000 + i, i & 1 ? ctx : undefined)));
  note('encodeCommand, now', cpuPerCall(n, (i) => encodeCommand({ kind: 'put', key: `bench-${i % 10_000}`, value }, 1_700_000_000_000 + i, i & 1 ? ctx : undefined)));
  const entry = (i) => ({ index: i + 1, term: 3, type: 1, data: value, ...(i & 1 ? { chain } : {}) });
  note('WAL entry payload, spread (kept)', cpuPerCall(n, (i) => formerEntryPayload(entry(i))));
  note('WAL entry payload, fixed shape (tried)', cpuPerCall(n, (i) => entryPayloadNow(entry(i))));
  note('WAL entry record, whole (frame and CRC too)', cpuPerCall(n, (i) => encodeWalRecord({ kind: 'entry', entry: entry(i) })));
  note('key length, TextEncoder', cpuPerCall(n, (i) => encoder.encode(`bench-${i % 10_000}`).length));
  note('key length, Buffer.byteLength', cpuPerCall(n, (i) => Buffer.byteLength(`bench-${i % 10_000}`, 'utf8')));
  for (const channelz of [true, false]) {
    const p = await grpcPair(channelz);
    note(`unary gRPC call, channel's channelz ${channelz ? 'on' : 'off'}`, await cpuPerCallAsync(5000, p.call));
    p.close();
  }
}
for (const [name, vs] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(44)} ${vs.map((v) => v.toFixed(2).padStart(7)).join(' ')}  µs of CPU per call\n`);
}
