#!/usr/bin/env node
// Renders the README's performance tables from one suite run's JSON, so that the figures
// published are exactly those of a run anyone can repeat:
//   npm run bench -- --json > bench.json
//   node scripts/bench-table.mjs bench.json
// The JSON is the last line of the file (earlier lines, if any, are the setup's output).
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/bench-table.mjs FILE   (FILE holds the output of `npm run bench -- --json`)\n');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').trim().split('\n');
let r;
try {
  r = JSON.parse(lines[lines.length - 1]);
} catch (err) {
  process.stderr.write(`${file}: its last line is not the suite's JSON (${err.message})\n`);
  process.exit(1);
}

const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
const out = [];
const row = (...cells) => out.push(`| ${cells.join(' | ')} |`);

const [loadStart, loadEnd] = r.machine.loadAverage ?? [];
out.push(`Machine: ${r.machine.cpus} cores, Node ${r.machine.node}; 1-minute load average ${loadStart} at the start, ${loadEnd} at the end.`, '');

out.push('**Targets** (as the suite judged them):', '');
row('issue', 'target', 'measured', 'met');
row('---', '---', '---', '---');
for (const t of r.targets ?? []) row(t.issue, t.target, t.measured, t.met ? 'yes' : '**no**');
out.push('');

out.push('**Other figures of the same run:**', '');
row('measurement', 'duoraft', 'etcd, same run');
row('---', '---', '---');
const e = r.etcd ?? {};
const lat = (l) => `p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms`;
if (r.singleWriter) row('one writer, 256 B', `${n(r.singleWriter.opsPerSecond)}/s, ${lat(r.singleWriter)}`, e.singleWriter ? `${n(e.singleWriter.opsPerSecond)}/s, ${lat(e.singleWriter)}` : '');
if (r.zkMultiFloor) row("a bare ZooKeeper multi of the leader's one-write shape (same ZooKeeper)", `${n(r.zkMultiFloor.multis)} multis, ${lat(r.zkMultiFloor)}`, '');
if (r.staleReader) row('one reader, stale reads (a gRPC round trip)', `${n(r.staleReader.opsPerSecond)}/s, ${lat(r.staleReader)}`, '');
if (r.writers64) row('64 writers, 256 B', `${n(r.writers64.opsPerSecond)}/s, ${lat(r.writers64)}`, e.writers64 ? `${n(e.writers64.opsPerSecond)}/s, ${lat(e.writers64)}` : '');
for (const rd of r.readers64 ?? []) row(`64 readers, ${rd.consistency}`, `${n(rd.opsPerSecond)}/s, ${lat(rd)}`, '');
if (r.transfer) row(`leadership transfer, ${r.transfer.count} times under 4 writers: write pause`, `p50 ${r.transfer.pauseMs.p50} ms, p99 ${r.transfer.pauseMs.p99} ms, ${r.transfer.failedWrites} failed, ${r.transfer.lost} lost`, '');
if (r.failover) row(`SIGKILL of the leader, ${r.failover.count} times under 4 writers: downtime`, `p50 ${r.failover.downtimeMs.p50} ms, p99 ${r.failover.downtimeMs.p99} ms, max ${r.failover.downtimeMs.max} ms; ${n(r.failover.acknowledged)} acknowledged, ${r.failover.lost} lost`, e.failover ? `p50 ${n(e.failover.downtimeMs.p50)} ms, p99 ${n(e.failover.downtimeMs.p99)} ms` : '');
const s = r.steady;
if (s) {
  const nodes = Object.entries(s.nodes ?? {})
    .map(([id, f]) => `${id}: ${f.stalls?.count ?? '?'} stalls (max ${f.stalls?.maxMs ?? '?'} ms)`)
    .join(', ');
  row(`64 writers for ${s.minutes} min beside a process burning a core`, `${s.leaderChanges} changes of leader; ${n(s.writesPerSecond)}/s, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms; ${s.failedWrites} failed, ${s.lost} lost; ${nodes}`, '');
}
const pl = r.netnsPartitionLeader;
if (pl) row(`netns: leader silently cut off from follower and ZooKeeper, ${pl.count} times`, `follower serving after p50 ${pl.downtimeMs.p50} ms, p99 ${pl.downtimeMs.p99} ms; ${pl.lost} lost`, '');
// How late the relays delivered (runs from the seventh session on): a stall there froze every link.
const relays = (x) => (x ? `; relays (${x.realtime ? 'real-time priority' : 'normal priority'}) at most ${x.maxLateMs} ms late, their event loop held up at most ${x.maxLoopStallMs} ms` : '');
const pv = r.netnsPartitionVoters;
if (pv) row(`netns: voters cut off from each other for ${pv.seconds} s`, `${pv.leaderChanges} changes of leader, ${n(pv.acknowledged)} writes acknowledged, longest gap ${pv.longestGapMs} ms, ${pv.lost} lost${relays(pv.relay)}`, '');
const ll = r.netnsLatencyLoss;
if (ll) row(`netns: ${ll.latencyMs} ± ${ll.jitterMs} ms on every link, ${ll.lossPercent} % loss, ${ll.seconds} s`, `${ll.falseFailovers} false failovers; ${n(ll.writesPerSecond)} writes/s, p50 ${ll.writeLatencyMs.p50} ms, p99 ${ll.writeLatencyMs.p99} ms; ${ll.lost} lost${relays(ll.relay)}`, '');
if (r.netnsSkipped) row('netns parts', `skipped: ${r.netnsSkipped}`, '');
const sn = r.snapshots ?? {};
if (sn.rebuild) row(`both voters wiped, rebuilt from ZooKeeper (${n(sn.rebuild.keys)} keys)`, `p50 ${n(sn.rebuild.ms.p50)} ms, max ${n(sn.rebuild.ms.max)} ms (${sn.rebuild.ms.count} rounds)`, '');
if (sn.restart) row(`a voter restarted after ${n(sn.restart.historyWrites)} writes: caught up`, `p50 ${n(sn.restart.ms.p50)} ms, max ${n(sn.restart.ms.max)} ms (${sn.restart.ms.count} rounds)`, '');
if (sn.stall) row('64 writers: write p99 while a snapshot is taken and uploaded, minus outside', `+${sn.stall.addedP99Ms} ms (${sn.stall.during.p99} vs ${sn.stall.outside.p99} ms; ${sn.stall.snapshots} snapshots of ${n(sn.stall.stateBytes)} B)`, '');
if (sn.failover) row('failover after the long history vs fresh (p50, p99)', `${sn.failover.ratioP50}x, ${sn.failover.ratioP99}x (${sn.failover.afterHistory.p50} vs ${sn.failover.fresh.p50} ms); ${sn.failover.lost} lost`, '');
const li = r.listeners;
if (li) {
  for (const p of li.phases) {
    const lags = p.lag.map((l) => `${l.listener} (depth ${l.depth}) p50 ${l.p50} ms, p99 ${l.p99} ms`).join('; ');
    row(`${p.listeners} listeners at ${n(li.rate)} writes/s offered`, `leader CPU ${p.leaderCpuMsPerThousandWrites} ms per 1,000 writes${lags ? `; ${lags}` : ''}`, '');
  }
  const pr = li.promotion;
  if (pr) row(`promotion of a listener in place of a destroyed voter, ${pr.rounds.length} rounds`, `able to lose either voter after p50 ${pr.readyMs.p50} ms, max ${pr.readyMs.max} ms of the accepted command (refused before for p50 ${pr.refusedForMs.p50} ms: the dead voter's session); failover then p50 ${pr.failoverMs.p50} ms; ${pr.lost} lost${pr.failed ? `; stopped: ${pr.failed}` : ''}`, '');
}
process.stdout.write(`${out.join('\n')}\n`);
