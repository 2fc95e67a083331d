// One simulated run from a seed: two real node drivers on simulated parts, clients, and a
// fault schedule drawn from the seed. A safety phase with faults, then a healed liveness
// phase. S1-S3 and the leader znode's liveness are checked after every event; S4
// (linearizability) and S5 (exactly-once) on the history at the end. The same seed
// replays the same run.
import { checkLinearizable } from '../../../src/harness/checker/index.js';
import type { Operation } from '../../../src/harness/checker/history.js';
import type { Logger } from '../../../src/common/logger.js';
import type { TestFaults } from '../../../src/server/node-config.js';
import { defaultSnapshotPolicy, type SnapshotPolicy } from '../../../src/server/snapshotter.js';
import { SimScheduler } from '../sim-scheduler.js';
import { ZkModel } from '../zk-model.js';
import { type FaultMix, localSessionMixes, scheduleFaults } from './fault-schedule.js';
import { InvariantChecker } from './invariants.js';
import { type AckRecord, SimClient } from './sim-client.js';
import { SimNetwork } from './sim-network.js';
import { SimNode } from './sim-node.js';
import { SimFeedNetwork } from './sim-feed-network.js';
import { SimListener } from './sim-listener.js';
import { ListenerInvariants } from './listener-invariants.js';

export interface SimOptions {
  readonly seed: number;
  /** Virtual ms of the fault phase (default 2500). */
  readonly faultMs?: number;
  /** Virtual ms of the healed phase at the end (default 2500). */
  readonly livenessMs?: number;
  readonly clients?: number;
  /** Test-only faults of the build under test (the broken builds the simulator must catch). */
  readonly brokenBuild?: TestFaults;
  /** Which faults (default 'all'; the others aim at one window: fault-schedule.ts). */
  readonly faultMix?: FaultMix;
  /**
   * Whether ZooKeeper runs with local sessions (localSessionsEnabled: a new session is
   * answered by its server before the ensemble ordered its creation, so it can read older
   * state than its client saw). Default: drawn from the seed, half the seeds each way, except
   * under a mix aimed at a window only local sessions have (always local then).
   */
  readonly zkLocalSessions?: boolean;
  /** Bound on events (a runaway guard). */
  readonly maxEvents?: number;
  /** Print the fault schedule and each violation as it happens. */
  readonly trace?: (line: string) => void;
  /** The nodes' loggers (default silent), given the node id and the virtual clock: for reading a replayed seed. */
  readonly nodeLogger?: (id: string, now: () => number) => Logger;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly faults: readonly string[];
  readonly events: number;
  readonly virtualMs: number;
  readonly ops: { readonly acked: number; readonly unknown: number; readonly failed: number };
  readonly linearizable: boolean | 'unknown';
  readonly leaderTerms: number;
  /** Whether ZooKeeper ran with local sessions in this run. */
  readonly zkLocalSessions: boolean;
  /** What the clients saw (for reading a failure). */
  readonly history: readonly Operation[];
  /** Snapshots checked (P1-P3): loaded by a node, made durable, published to ZooKeeper; segments compacted. */
  readonly snapshotChecks: { readonly loaded: number; readonly saved: number; readonly published: number; readonly compacted: number };
  /** Under --mix listeners: listeners run, feed streams opened, entries they applied that were checked against ZooKeeper (L3). */
  readonly listenerChecks: {
    readonly listeners: number;
    readonly streams: number;
    readonly entries: number;
    /** 1 when a listener was fed by a voter (a follower), by another listener, by ZooKeeper directly during the run. */
    readonly fedByVoter: number;
    readonly fedByListener: number;
    readonly fedByZooKeeper: number;
  };
}

const CLUSTER = 'sim';
/** ZooKeeper servers in the ensemble (0 leads; 1 and 2 follow, and can be held). */
const ZK_SERVERS = 3;
const KEYS = ['k0', 'k1', 'k2', 'k3'];
const COUNTERS = ['c0', 'c1'];
/** Virtual ms the listeners get after the healed phase to catch up with ZooKeeper's log (L4). */
const LISTENER_CATCH_UP_MS = 10_000;

export async function runSimulation(o: SimOptions): Promise<SimResult> {
  const sched = new SimScheduler(o.seed);
  const rnd = sched.random;
  const faultMs = o.faultMs ?? 2500;
  const livenessMs = o.livenessMs ?? 2500;
  const end = faultMs + livenessMs;
  const trace = o.trace ?? ((): void => undefined);
  // Drawn whenever not given (as before the mixes that imply it), so seeds replay as they did.
  const localSessions = o.zkLocalSessions ?? (rnd.nextInt(2) === 0 || localSessionMixes.includes(o.faultMix ?? 'all'));
  const model = new ZkModel(sched, { servers: ZK_SERVERS, localSessions, latencyMs: [1, 3], sessionTimeoutMs: 4000, requestTimeoutMs: 3000 });
  model.setApplyOnLossProbability(0.5);
  const net = new SimNetwork(sched);
  // Snapshots every few dozen entries (or a few KiB of them), so that a run takes, uploads,
  // compacts behind, installs and rebuilds from them many times; a short in-memory tail, so
  // that a follower a little behind already needs one; and pieces of a few hundred bytes,
  // so that a transfer takes many calls, each of which a fault can cut.
  const snapshotPolicy: SnapshotPolicy = {
    everyEntries: 24 + rnd.nextInt(73),
    everyBytes: 2048 + rnd.nextInt(6 * 1024),
    retainEntries: rnd.nextInt(3) === 0 ? 0 : rnd.nextInt(24),
    keep: 2,
    // The model's ZooKeeper holds a few KiB: the budget never binds here (its unit tests cover it).
    zkBudgetBytes: defaultSnapshotPolicy.zkBudgetBytes,
  };
  const snapshotPieces = { zkChunkBytes: 32 + rnd.nextInt(225), rangeBytes: 32 + rnd.nextInt(225) };
  const checker = new InvariantChecker(model, CLUSTER, () => sched.now());
  // Listeners (only under --mix listeners, drawn after everything above so that the other
  // mixes keep their draws): 2-3 of them, each feeding at most 1-2, heartbeats of 100-500 ms.
  const withListeners = o.faultMix === 'listeners';
  const feed = withListeners ? new SimFeedNetwork(sched) : null;
  const listenerIds = withListeners ? Array.from({ length: 2 + rnd.nextInt(2) }, (_, k) => `l${k + 1}`) : [];
  const fanout = withListeners ? 1 + rnd.nextInt(2) : 1;
  const heartbeatMs = withListeners ? [100, 200, 500][rnd.nextInt(3)]! : 500;
  const listenerChecks = new ListenerInvariants(model, CLUSTER, checker.zk, checker.snapshots.reference, new Set(listenerIds), (m) => checker.violations.length < 20 && checker.violations.push(m));
  const nodes = new Map<string, SimNode>();
  for (const id of ['a', 'b']) {
    nodes.set(
      id,
      new SimNode({
        id,
        cluster: CLUSTER,
        sched,
        model,
        net,
        wallOffsetMs: 1_700_000_000_000 + rnd.nextInt(2000) - 1000,
        snapshotPolicy,
        snapshotPieces,
        snapshotObserver: checker.snapshots,
        ...(feed ? { feed: { net: feed, fanout, heartbeatMs } } : {}),
        ...(o.brokenBuild ? { faults: o.brokenBuild } : {}),
        ...(o.nodeLogger ? { logger: o.nodeLogger(id, () => sched.now()) } : {}),
      }),
    );
  }
  for (const n of nodes.values()) n.start();
  const nodeList = [...nodes.values()];
  const listeners = listenerIds.map(
    (id) =>
      new SimListener({
        id,
        cluster: CLUSTER,
        sched,
        model,
        feed: feed!,
        fanout,
        heartbeatMs,
        wallOffsetMs: 1_700_000_000_000 + rnd.nextInt(2000) - 1000,
        snapshotPolicy,
        zkChunkBytes: snapshotPieces.zkChunkBytes,
        snapshotObserver: checker.snapshots,
        onZkWrite: (who, paths) => listenerChecks.zkWrite(who, paths),
        ...(o.nodeLogger ? { logger: o.nodeLogger(id, () => sched.now()) } : {}),
      }),
  );
  // Started a little after the voters (one started before the tree exists retries).
  for (const l of listeners) sched.schedule(100 + rnd.nextInt(500), () => l.state === 'down' && l.start());

  const history: Operation[] = [];
  const acks: AckRecord[] = [];
  let opId = 0;
  const clients = Array.from(
    { length: o.clients ?? 3 },
    (_, k) => new SimClient(k, sched, nodes, history, acks, () => ++opId, model.connect(`client-${k}`), CLUSTER),
  );
  const counters = new Map<string, { acked: number; maybe: number }>(COUNTERS.map((c) => [c, { acked: 0, maybe: 0 }]));
  let clientsRunning = true;
  const livenessStart = faultMs + 1500; // after healing, give the cluster time to settle
  const lateFailures: string[] = [];
  const runClient = async (c: SimClient, k: number): Promise<void> => {
    for (let n = 0; clientsRunning && sched.now() < end; n++) {
      const r = rnd.nextInt(100);
      const key = KEYS[rnd.nextInt(KEYS.length)]!;
      const before = { ...c.stats };
      const t0 = sched.now();
      if (r < 35) await c.put(key, `c${k}-${n}`);
      else if (r < 60) await c.get(key, rnd.nextInt(2) === 0 ? 'linearizable' : 'lease');
      else if (r < 80) {
        const counter = COUNTERS[rnd.nextInt(COUNTERS.length)]!;
        await c.incr(counter, 1);
        const entry = counters.get(counter)!;
        if (c.stats.acked > before.acked) entry.acked++;
        else if (c.stats.unknown > before.unknown) entry.maybe++;
      } else if (r < 92) await c.cas(key, rnd.nextInt(3) === 0 ? null : `c${rnd.nextInt(3)}-${rnd.nextInt(Math.max(1, n))}`, `c${k}-${n}x`);
      else await c.del(key);
      if (t0 >= livenessStart && (c.stats.unknown > before.unknown || c.stats.failed > before.failed)) {
        lateFailures.push(`client ${k} at t=${t0}: an operation did not complete in the healed phase`);
      }
      await new Promise((res) => sched.schedule(rnd.nextInt(15), () => res(undefined)));
    }
  };
  const clientDone = clients.map((c, k) => runClient(c, k));

  // The fault schedule.
  const faults: string[] = [];
  const note = (f: string): void => {
    const line = `t=${sched.now()} ${f}`;
    faults.push(line);
    trace(line);
  };
  const aimed = scheduleFaults({
    sched,
    model,
    net,
    nodes: nodeList,
    faultMs,
    mix: o.faultMix ?? 'all',
    zkServers: ZK_SERVERS,
    cluster: CLUSTER,
    note,
    ...(feed ? { listeners: { members: listeners, feed } } : {}),
  });
  // Heal everything for the liveness phase.
  sched.schedule(faultMs, () => {
    note('heal: all faults end');
    net.healAll();
    net.faults.latencyMs = [1, 3];
    for (let server = 1; server < ZK_SERVERS; server++) model.releaseServer(server);
    for (const n of nodes.values()) {
      n.healZk();
      if (n.state === 'paused') n.resume();
    }
    feed?.healAll();
    for (const l of listeners) {
      l.healZk();
      if (l.state === 'paused') l.resume();
    }
    sched.schedule(300, () => {
      for (const n of nodes.values()) if (n.state === 'down') n.start();
      for (const l of listeners) if (l.state === 'down') l.start();
    });
  });

  const maxEvents = o.maxEvents ?? 2_000_000;
  let events = 0;
  while (events < maxEvents && sched.nextAt() <= end) {
    await sched.step();
    events++;
    aimed.afterEvent();
    checker.step(nodeList, acks, sched.now());
    if (feed) listenerChecks.step(listeners, nodeList, sched.now());
    if (checker.violations.length > 0) break;
  }
  clientsRunning = false;
  const violations = [...checker.violations];
  // Stopped early: what the clients had under way is recorded as unknown, so the history
  // checked below holds every operation that may have taken effect.
  if (violations.length > 0) for (const c of clients) c.abandon();
  if (violations.length === 0) {
    // Let the clients finish what they are doing, then compare everything.
    const settleEnd = sched.now() + 8000;
    const allDone = Promise.all(clientDone);
    let done = false;
    void allDone.then(() => {
      done = true;
    });
    while (!done && events < maxEvents && sched.nextAt() <= settleEnd) {
      await sched.step();
      events++;
      checker.step(nodeList, acks, sched.now());
      if (feed) listenerChecks.step(listeners, nodeList, sched.now());
    }
    await sched.runUntil(sched.now() + 300, 100_000);
    if (feed) {
      // Healed: every listener catches up with ZooKeeper's log (bounded: a listener between
      // upstreams looks again every 2 s, avoids one that failed it for 3 s).
      const catchUpEnd = sched.now() + LISTENER_CATCH_UP_MS;
      while (events < maxEvents && sched.nextAt() <= catchUpEnd && !listenerChecks.caughtUp(listeners, checker.zk.tail())) {
        await sched.step();
        events++;
        checker.step(nodeList, acks, sched.now());
        listenerChecks.step(listeners, nodeList, sched.now());
      }
      listenerChecks.final(listeners, checker.zk.tail());
    }
    checker.final(nodeList, acks);
    violations.push(...checker.violations);
    // Liveness: the healed cluster has a leader and served every request of the healed phase.
    const leaders = [...nodes.values()].filter((n) => n.driver?.inspect().softState.role === 'leader');
    if (leaders.length !== 1) violations.push(`liveness: ${leaders.length} leaders after the healed phase`);
    violations.push(...lateFailures.slice(0, 5));
  }
  // S4: the history is linearizable.
  const lin = checkLinearizable(history, { stepBudgetPerKey: 2_000_000 });
  let linearizable: boolean | 'unknown' = lin.ok;
  if (lin.unknown) linearizable = 'unknown';
  if (!lin.ok && !lin.unknown) violations.push(`S4: not linearizable: ${lin.violation?.explanation ?? 'no explanation'}`);
  // S5: every counter holds at least its acknowledged increments and no more than those that may have applied.
  const finalReader = [...nodes.values()].find((n) => n.driver?.inspect().softState.role === 'leader')?.driver;
  if (finalReader && violations.length === 0) {
    for (const [key, c] of counters) {
      const raw = finalReader.inspect().kv.get(key);
      const value = raw ? Number(new TextDecoder().decode(raw)) : 0;
      if (value < c.acked) violations.push(`S5: ${key} is ${value}, below the ${c.acked} acknowledged increments (a write lost)`);
      if (value > c.acked + c.maybe) violations.push(`S5: ${key} is ${value}, above the ${c.acked + c.maybe} increments that may have applied (one applied twice)`);
    }
  }
  const ops = clients.reduce((s, c) => ({ acked: s.acked + c.stats.acked, unknown: s.unknown + c.stats.unknown, failed: s.failed + c.stats.failed }), {
    acked: 0,
    unknown: 0,
    failed: 0,
  });
  return {
    seed: o.seed,
    ok: violations.length === 0,
    violations,
    faults,
    events,
    virtualMs: sched.now(),
    ops,
    linearizable,
    leaderTerms: new Set(faults).size,
    zkLocalSessions: localSessions,
    history,
    snapshotChecks: { ...checker.snapshots.counts },
    listenerChecks: {
      listeners: listeners.length,
      streams: feed?.opened ?? 0,
      entries: listenerChecks.entriesChecked,
      fedByVoter: listenerChecks.fedBy.voter,
      fedByListener: listenerChecks.fedBy.listener,
      fedByZooKeeper: listenerChecks.fedBy.zookeeper,
    },
  };
}
