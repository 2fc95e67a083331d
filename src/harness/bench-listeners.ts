// duoraft bench --suite --only listeners: the targets of issue 13.
// - Apply lag of listeners at depth 1 and depth 3 under an open-loop load of `rate`
//   writes/s: for each acknowledged write, the time from its acknowledgement (the client
//   holding the leader's answer: after the leader's commit in ZooKeeper and its apply, so
//   this is a little less than the lag behind the commit itself) until the listener applied
//   it. The apply time is the listener's own (it keeps the last batches it applied with the
//   time, on the machine's monotonic clock, which every process here shares; the bench reads
//   them every TRACE_POLL_MS). Polling for the applied index instead (every 2 ms, as the first
//   version did) added up to a poll and a status call to each figure, and 1,500 status calls
//   a second to the machine under test.
// - The leader's CPU per write (from /proc/<pid>/stat) with 0, 1 and 3 listeners, then 0
//   again (the listeners stopped), one phase of `seconds` each, in one run and on one cluster, after an unmeasured warm-up (the
//   first measured phase otherwise pays the JIT's warm-up, and so does a listener just
//   started); the follower's too (listeners'
//   work lands there). A phase during which leadership moved is marked: its CPU figure
//   mixes two processes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type DuoraftClient } from '../client/client.js';
import { AppliedBatches, applyLags } from './apply-lag.js';
import { machineMicros } from '../server/listener/apply-trace.js';
import { percentile } from './failover.js';
import { ProcessCluster } from './process-cluster.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';

/** The listeners keep their last 256 applied batches; polled this often, none is missed below 12,800 batches/s. */
const TRACE_POLL_MS = 20;
/** A listener counts as caught up this close to the commit index it heard of. */
const CAUGHT_UP_ENTRIES = 100;
const CAUGHT_UP_WAIT_MS = 60_000;
/** The unmeasured phase before the first measured one. */
const WARM_UP_SECONDS = 3;
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
  /** Acknowledged writes whose apply time is not known exactly (polls missed their batch) or that were not applied. */
  readonly untraced: number;
  /** Writes applied before the client saw their acknowledgement (counted as 0 ms). */
  readonly beforeAck: number;
  /** The upstreams it was fed by during the phase. */
  readonly upstreams: readonly string[];
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Its own CPU per 1,000 writes (apply, local WAL, feeding the next). */
  readonly cpuMsPerThousandWrites: number;
}

export interface ListenerPhase {
  readonly listeners: number;
  readonly writes: number;
  readonly writesPerSecond: number;
  readonly skipped: number;
  readonly leader: string;
  readonly leaderCpuMsPerThousandWrites: number;
  readonly followerCpuMsPerThousandWrites: number;
  /** The leader at the end of the phase differs from the one at its start (the CPU figures mix processes). */
  readonly leaderChanged: boolean;
  /** A listener was fed by the leader during the phase (must never happen). */
  readonly fedByLeader: boolean;
  readonly lag: readonly LagFigures[];
}

export interface ListenerBenchResult {
  readonly rate: number;
  readonly seconds: number;
  readonly tracePollMs: number;
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
    const run = async (listeners: readonly string[], seconds: number): Promise<ListenerPhase> => {
      const leader = await cl.waitForLeader(20_000);
      const follower = ids.slice(0, 2).find((id) => id !== leader)!;
      const leaderPid = cl.pid(leader);
      const followerPid = cl.pid(follower);
      if (leaderPid === null || followerPid === null) throw new Error('a voter has no process');
      const term = (await cl.memberStatus(leader))?.term ?? -1;
      const phase = await openLoop(c!, cl, o.rate, seconds, listeners, { id: leader, pid: leaderPid, term }, followerPid);
      return phase;
    };
    const say = (phase: ListenerPhase): void =>
      o.say(
        `  ${phase.listeners} listeners: ${phase.writesPerSecond} writes/s, CPU per 1,000 writes: leader ${phase.leaderCpuMsPerThousandWrites} ms, follower ${phase.followerCpuMsPerThousandWrites} ms` +
          (phase.leaderChanged ? ' (LEADER CHANGED during the phase)' : '') +
          (phase.fedByLeader ? ' (A LISTENER WAS FED BY THE LEADER)' : '') +
          phase.lag
            .map(
              (l) =>
                `; ${l.listener} (depth ${l.depth}${l.depthChanges > 0 ? `, moved ${l.depthChanges}x` : ''}, via ${l.upstreams.join('/')}) lag p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms, CPU ${l.cpuMsPerThousandWrites} ms` +
                (l.untraced > 0 ? ` (${l.untraced} untraced)` : ''),
            )
            .join(''),
      );
    o.say(`listeners: open loop of ${o.rate} writes/s, ${o.seconds} s per phase after a ${WARM_UP_SECONDS} s warm-up, applies traced by the listeners (read every ${TRACE_POLL_MS} ms)`);
    await c.put('warm-up', 'x');
    await run([], WARM_UP_SECONDS);
    const measure = async (listeners: readonly string[]): Promise<void> => {
      const phase = await run(listeners, o.seconds);
      say(phase);
      phases.push(phase);
    };
    await measure([]);
    cl.startNode('l1');
    await waitDepth(cl, 'l1', 1, o.say);
    // A listener process just started runs cold (JIT) for its first second or so under load.
    await run([], WARM_UP_SECONDS);
    await measure(['l1']);
    cl.startNode('l2');
    await waitDepth(cl, 'l2', 2, o.say);
    cl.startNode('l3');
    await waitDepth(cl, 'l3', 3, o.say);
    await run([], WARM_UP_SECONDS);
    await measure(['l1', 'l2', 'l3']);
    // No listeners again, last: the leader's CPU per write also moves with the order of the
    // phases and with how loaded the machine is (a slower commit makes bigger batches, which
    // cost less per write); this phase tells that apart from what listeners do.
    for (const id of ['l3', 'l2', 'l1']) await cl.signal(id, 'SIGTERM');
    await run([], WARM_UP_SECONDS);
    await measure([]);
    return { rate: o.rate, seconds: o.seconds, tracePollMs: TRACE_POLL_MS, phases };
  } finally {
    await c?.close();
    await cluster?.stop();
    await zk.stop();
  }
}

/**
 * Waits until `id` is fed at `depth` and caught up, three polls in a row. A listener that
 * starts after the log outgrew its upstream's window (20,000 entries) is told "compacted"
 * and first reads ZooKeeper's log: it shows the depth for a moment before that. Measuring
 * then (the first version did) measured a catch-up from ZooKeeper under load, which also
 * slowed the leader's commits. A failover can re-form the chain (a listener takes the
 * freed follower): after half the wait, any depth fed by an upstream will do, and the
 * phase reports the depths it had.
 */
async function waitDepth(cluster: ProcessCluster, id: string, depth: number, say: (line: string) => void): Promise<void> {
  const started = Date.now();
  const deadline = started + CAUGHT_UP_WAIT_MS;
  let inARow = 0;
  while (Date.now() < deadline) {
    const s = await cluster.memberStatus(id);
    const l = s?.listener;
    const anyDepth = Date.now() - started > CAUGHT_UP_WAIT_MS / 2;
    const fed = l !== undefined && l.upstream !== '' && l.upstream !== 'zookeeper' && (l.depth === depth || (anyDepth && l.depth >= 1));
    inARow = fed && l !== undefined && l.lagEntries <= CAUGHT_UP_ENTRIES ? inARow + 1 : 0;
    if (inARow >= 3 && l !== undefined) {
      if (l.depth !== depth) say(`  (${id} joined at depth ${l.depth}, not ${depth}: the chain re-formed, a failover most likely)`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`listener ${id} was not fed by an upstream and caught up within ${CAUGHT_UP_WAIT_MS} ms`);
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

async function openLoop(
  c: DuoraftClient,
  cluster: ProcessCluster,
  rate: number,
  seconds: number,
  listeners: readonly string[],
  leader: { id: string; pid: number; term: number },
  followerPid: number,
): Promise<ListenerPhase> {
  const acks: Array<{ index: number; atUs: number }> = [];
  const traced = new Map<string, { batches: AppliedBatches; depths: number[]; upstreams: Set<string> }>(
    listeners.map((l) => [l, { batches: new AppliedBatches(), depths: [], upstreams: new Set<string>() }]),
  );
  let outstanding = 0;
  let skipped = 0;
  let n = 0;
  let polling = true;
  const pollers = listeners.map(async (id) => {
    const t = traced.get(id)!;
    while (polling) {
      const s = await cluster.memberStatus(id, 1000);
      if (s?.listener) {
        t.batches.add(s.listener.recentApplies);
        t.depths.push(s.listener.depth);
        t.upstreams.add(s.listener.upstream || '-');
      }
      await new Promise((r) => setTimeout(r, TRACE_POLL_MS));
    }
  });
  const listenerPids = new Map(listeners.map((id) => [id, cluster.pid(id)]));
  const listenerCpu = (id: string): number => {
    const pid = listenerPids.get(id);
    return pid ? cpuMs(pid) : 0;
  };
  const listenerCpuBefore = new Map(listeners.map((id) => [id, listenerCpu(id)]));
  const cpuBefore = { leader: cpuMs(leader.pid), follower: cpuMs(followerPid) };
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
          acks.push({ index: r.index, atUs: machineMicros() });
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
  const cpu = { leader: cpuMs(leader.pid) - cpuBefore.leader, follower: cpuMs(followerPid) - cpuBefore.follower };
  const listenerCpuMs = new Map(listeners.map((id) => [id, listenerCpu(id) - listenerCpuBefore.get(id)!]));
  const after = await cluster.memberStatus(leader.id, 1000);
  // Let the listeners catch up before the lag is computed.
  await new Promise((r) => setTimeout(r, 500));
  polling = false;
  await Promise.all(pollers);
  const r = (x: number): number => Math.round(x * 10) / 10;
  const perThousand = (ms: number): number => Math.round((ms / Math.max(1, acks.length)) * 1000 * 10) / 10;
  const keep = process.env.BENCH_KEEP_DIR;
  const lag: LagFigures[] = listeners.map((id) => {
    const t = traced.get(id)!;
    const samples = applyLags(acks, t.batches);
    // BENCH_KEEP_DIR=folder: each write's ack and apply time, to see when the tail happens.
    if (keep) {
      const rows = acks.map((a) => `${a.index},${a.atUs},${t.batches.appliedAt(a.index) ?? ''}`);
      writeFileSync(join(keep, `lag-${listeners.length}-${id}.csv`), `index,ackUs,appliedUs\n${rows.join('\n')}\n`);
    }
    let changes = 0;
    for (let i = 1; i < t.depths.length; i++) if (t.depths[i] !== t.depths[i - 1]) changes++;
    return {
      listener: id,
      depth: t.depths[0] ?? -1,
      depthChanges: changes,
      samples: samples.lagsMs.length,
      untraced: samples.untraced,
      beforeAck: samples.beforeAck,
      upstreams: [...t.upstreams],
      p50: r(percentile(samples.lagsMs, 50)),
      p99: r(percentile(samples.lagsMs, 99)),
      max: r(percentile(samples.lagsMs, 100)),
      cpuMsPerThousandWrites: perThousand(listenerCpuMs.get(id)!),
    };
  });
  return {
    listeners: listeners.length,
    writes: acks.length,
    writesPerSecond: Math.round(acks.length / elapsed),
    skipped,
    leader: leader.id,
    leaderCpuMsPerThousandWrites: perThousand(cpu.leader),
    followerCpuMsPerThousandWrites: perThousand(cpu.follower),
    // The same leader in the same term at the end: leadership never moved (a failover and back would show a new term).
    leaderChanged: after?.role !== 'leader' || after.term !== leader.term,
    // Only telling while the leader stayed the same (after a failover the old leader is a follower and may feed).
    fedByLeader: after?.role === 'leader' && after.term === leader.term && lag.some((l) => l.upstreams.includes(leader.id)),
    lag,
  };
}
