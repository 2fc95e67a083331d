// duoraft bench --suite --only listeners: the targets of issue 13.
// - Apply lag of listeners at depth 1 and depth 3 under an open-loop load of `rate`
//   writes/s: for each acknowledged write, the time from its acknowledgement (commit, as
//   the client sees it) until the listener reports an applied index at or past it. The
//   listener is asked for its status every POLL_MS, so the figure is rounded up to the poll
//   (plus one status call); a listener that applied before the ack arrived counts 0.
// - The leader's CPU per write (from /proc/<pid>/stat) with 0, 1 and 3 listeners, one
//   phase of `seconds` each, in one run and on one cluster.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../client/client.js';
import { percentile } from './failover.js';
import { ProcessCluster } from './process-cluster.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';

const POLL_MS = 2;
/** Writes in flight at once (the open loop skips a tick's writes beyond it, and counts them). */
const MAX_OUTSTANDING = 1024;
const TICK_MS = 5;
const CLOCK_TICKS_PER_SECOND = 100;

export interface LagFigures {
  readonly listener: string;
  /** Its depth at the start of the phase, and how often it changed during it (a move to another upstream or to ZooKeeper). */
  readonly depth: number;
  readonly depthChanges: number;
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ListenerPhase {
  readonly listeners: number;
  readonly writes: number;
  readonly writesPerSecond: number;
  readonly skipped: number;
  readonly leaderCpuMsPerThousandWrites: number;
  readonly lag: readonly LagFigures[];
}

export interface ListenerBenchResult {
  readonly rate: number;
  readonly seconds: number;
  readonly pollMs: number;
  readonly phases: readonly ListenerPhase[];
}

export async function benchListeners(o: { env: ZooKeeperEnv; zkJvm?: ZooKeeperJvmProfile; nodeArgs: readonly string[]; rate: number; seconds: number; say: (line: string) => void }): Promise<ListenerBenchResult> {
  const zk = await startZooKeeper({ env: o.env, jvmProfile: o.zkJvm ?? 'production' });
  let cluster: ProcessCluster | null = null;
  let c: DuoraftClient | null = null;
  try {
    const ids = ['a', 'b', 'l1', 'l2', 'l3'];
    cluster = await ProcessCluster.start({
      zk: zk.connectString,
      cluster: 'bench-listeners',
      // BENCH_KEEP_DIR=folder keeps the members' logs (at info) there, to see why a listener moved.
      logLevel: process.env.BENCH_KEEP_DIR ? 'info' : 'warn',
      ...(process.env.BENCH_KEEP_DIR ? { workDir: process.env.BENCH_KEEP_DIR } : {}),
      ids,
      deferred: ['l1', 'l2', 'l3'],
      // Fanout 1 makes the three listeners a chain: depths 1, 2 and 3.
      nodeArgs: [...o.nodeArgs, '--listener-fanout', '1'],
      nodeArgsFor: (id) => (id.startsWith('l') ? ['--role', 'listener'] : []),
    });
    const cl = cluster;
    c = await connect({ zk: zk.connectString, cluster: 'bench-listeners', deadlineMs: 30_000 });
    const phases: ListenerPhase[] = [];
    const run = async (listeners: readonly string[]): Promise<ListenerPhase> => {
      const leader = await cl.waitForLeader(20_000);
      const pid = cl.pid(leader);
      if (pid === null) throw new Error('the leader has no process');
      const phase = await openLoop(c!, cl, o.rate, o.seconds, listeners, pid);
      o.say(
        `  ${listeners.length} listeners: ${phase.writesPerSecond} writes/s, leader CPU ${phase.leaderCpuMsPerThousandWrites} ms per 1,000 writes` +
          phase.lag.map((l) => `; ${l.listener} (depth ${l.depth}${l.depthChanges > 0 ? `, moved ${l.depthChanges}x` : ''}) lag p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`).join(''),
      );
      return phase;
    };
    o.say(`listeners: open loop of ${o.rate} writes/s, ${o.seconds} s per phase, status polled every ${POLL_MS} ms`);
    await c.put('warm-up', 'x');
    phases.push(await run([]));
    cl.startNode('l1');
    await waitDepth(cl, 'l1', 1);
    phases.push(await run(['l1']));
    cl.startNode('l2');
    await waitDepth(cl, 'l2', 2);
    cl.startNode('l3');
    await waitDepth(cl, 'l3', 3);
    phases.push(await run(['l1', 'l2', 'l3']));
    return { rate: o.rate, seconds: o.seconds, pollMs: POLL_MS, phases };
  } finally {
    await c?.close();
    await cluster?.stop();
    await zk.stop();
  }
}

async function waitDepth(cluster: ProcessCluster, id: string, depth: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = await cluster.memberStatus(id);
    if (s?.listener?.depth === depth) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`listener ${id} did not reach depth ${depth} within 30 s`);
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

async function openLoop(c: DuoraftClient, cluster: ProcessCluster, rate: number, seconds: number, listeners: readonly string[], leaderPid: number): Promise<ListenerPhase> {
  const acks: Array<{ index: number; at: number }> = [];
  const polls = new Map<string, Array<{ at: number; applied: number; depth: number }>>(listeners.map((l) => [l, []]));
  let outstanding = 0;
  let skipped = 0;
  let n = 0;
  let polling = true;
  const pollers = listeners.map(async (id) => {
    const out = polls.get(id)!;
    while (polling) {
      const s = await cluster.memberStatus(id, 1000);
      if (s) out.push({ at: performance.now(), applied: s.appliedIndex, depth: s.listener?.depth ?? -1 });
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });
  const cpuBefore = cpuMs(leaderPid);
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (n < due) {
      n++;
      if (outstanding >= MAX_OUTSTANDING) {
        skipped++;
        continue;
      }
      outstanding++;
      c.put(`lag-${n % 10_000}`, 'v').then(
        (r) => {
          outstanding--;
          acks.push({ index: r.index, at: performance.now() });
        },
        () => {
          outstanding--;
        },
      );
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const waitEnd = performance.now() + 10_000;
  while (outstanding > 0 && performance.now() < waitEnd) await new Promise((r) => setTimeout(r, 10));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMs(leaderPid) - cpuBefore;
  // Let the listeners catch up before the lag is computed.
  await new Promise((r) => setTimeout(r, 500));
  polling = false;
  await Promise.all(pollers);
  const lag: LagFigures[] = listeners.map((id) => {
    const p = polls.get(id)!;
    const lags: number[] = [];
    let k = 0;
    for (const a of [...acks].sort((x, y) => x.index - y.index)) {
      while (k < p.length && p[k]!.applied < a.index) k++;
      if (k >= p.length) break;
      lags.push(Math.max(0, p[k]!.at - a.at));
    }
    const r = (x: number): number => Math.round(x * 10) / 10;
    let changes = 0;
    for (let i = 1; i < p.length; i++) if (p[i]!.depth !== p[i - 1]!.depth) changes++;
    return { listener: id, depth: p[0]?.depth ?? -1, depthChanges: changes, samples: lags.length, p50: r(percentile(lags, 50)), p99: r(percentile(lags, 99)), max: r(percentile(lags, 100)) };
  });
  return {
    listeners: listeners.length,
    writes: acks.length,
    writesPerSecond: Math.round(acks.length / elapsed),
    skipped,
    leaderCpuMsPerThousandWrites: Math.round((cpu / Math.max(1, acks.length)) * 1000 * 10) / 10,
    lag,
  };
}
