// Faults aimed at the few milliseconds around a take-over (issue 9), timed by the voters'
// own log lines (node-log-watch.ts):
//
// - expire-session: SIGKILL the leader; when the follower logs the planned stage of its
//   take-over ('taking over: fencing ZooKeeper', 'fenced ZooKeeper: epoch is ours', or
//   'leading' once it serves), close its ZooKeeper session from outside (zk-session-closer:
//   a connection opened beforehand, one write), so the fence, the replay or the first
//   moments as leader run into SESSION_EXPIRED and a new session, possibly on a lagging
//   server of the ensemble. The old leader restarts after a delay.
// - kill-follower-after-failover: depose the leader without killing it (SIGSTOP, or cut it
//   off from ZooKeeper), wait until the other voter leads and the old leader follows it
//   (it then takes the new leader's appends over its own unreplicated suffix, in memory),
//   then SIGKILL it a few ms later and restart it: the window of issue 9's first hole,
//   where a restarted follower could come back with the suffix the new leader overwrote.
import { performance } from 'node:perf_hooks';
import type { NetFaults } from '../netns/faults.js';
import type { ProcessCluster } from '../process-cluster.js';
import { waitForRunState } from '../process-state.js';
import { armSessionClose, type ArmedCloser } from '../zk-session-closer.js';
import type { FaultEnv } from './fault-env.js';
import type { Injected } from './injectors.js';
import { NODE_MESSAGES, type NodeLine } from './node-log-watch.js';
import type { PlanBase } from './schedule.js';
import { sleep } from './time.js';

export const EXPIRY_STAGES = ['fencing', 'fenced', 'leading'] as const;
export type ExpiryStage = (typeof EXPIRY_STAGES)[number];

/** How long after the old leader follows the new one it is killed: inside the new leader's first appends. */
export const KILL_AFTER_FAILOVER_DELAY_MS: readonly [number, number] = [0, 20];

export type TakeoverFaultPlan =
  | (PlanBase & { readonly kind: 'expire-session'; readonly target: 'follower'; readonly stage: ExpiryStage; readonly restartDelayMs: number })
  | (PlanBase & {
      readonly kind: 'kill-follower-after-failover';
      readonly target: 'leader';
      /** How the leader loses its office while alive. */
      readonly depose: 'pause' | 'cut-zk';
      readonly killDelayMs: number;
      readonly restartDelayMs: number;
    });

const STAGE_MESSAGE: Readonly<Record<ExpiryStage, string>> = {
  fencing: NODE_MESSAGES.takingOver,
  fenced: NODE_MESSAGES.fenced,
  leading: NODE_MESSAGES.leading,
};

/** A close can lose the race against the owner's reconnect; each try is bounded, and so is their number. */
const EXPIRY_ATTEMPTS = 5;
const CLOSE_TIMEOUT_MS = 5_000;
/** After the owner came back on the same session, how long an expiry may still follow (the close may land after it). */
const RECONNECT_GRACE_MS = 1_000;
/** How long the old leader gets to follow the new one before it is killed anyway. */
const FOLLOW_WAIT_MS = 5_000;

type Observed = Record<string, number | string>;

export function injectTakeoverFault(
  cluster: ProcessCluster,
  plan: TakeoverFaultPlan,
  roles: { readonly leader: string; readonly follower: string },
  env: FaultEnv,
  net: NetFaults | null,
): Promise<Injected> {
  switch (plan.kind) {
    case 'expire-session':
      return expireInTakeover(cluster, plan, roles.leader, roles.follower, env);
    case 'kill-follower-after-failover':
      return killOldLeaderAfterFailover(cluster, plan, roles.leader, roles.follower, env, zkCut(cluster, net, roles.leader));
  }
}

async function expireInTakeover(
  cluster: ProcessCluster,
  plan: Extract<TakeoverFaultPlan, { kind: 'expire-session' }>,
  oldLeader: string,
  heir: string,
  env: FaultEnv,
): Promise<Injected> {
  const observed: Observed = {};
  const waitMs = env.recoveryTimeoutMs;
  // Connected before the kill, so the close goes out within a millisecond of the line.
  const armed = await armOn(env, cluster, heir);
  const stage = env.watch.nextMessage(heir, STAGE_MESSAGE[plan.stage], waitMs);
  const progress = takeoverProgress(env, heir, waitMs);
  await cluster.kill(oldLeader);
  const killedAt = performance.now();
  const restart = sleep(plan.restartDelayMs).then(() => cluster.startNode(oldLeader));
  const finished = (async (): Promise<void> => {
    try {
      const line = await stage.line;
      if (line === null) {
        observed['landed'] = `no "${STAGE_MESSAGE[plan.stage]}" line from ${heir} within ${waitMs} ms`;
        return;
      }
      observed['stageMs'] = Math.round(line.at - killedAt);
      await expireSession(env, cluster, heir, armed, observed, progress, line);
    } finally {
      armed.disarm();
      stage.cancel();
      progress.cancel();
      await restart;
    }
  })();
  return { target: heir, finished, observed };
}

/** The heir's take-overs as its log tells them: every 'fenced', 'take-over done' and 'take-over failed' line, in order. */
interface TakeoverProgress {
  /** The first outcome line after `seq`, or null. */
  readonly outcomeAfter: (seq: number) => NodeLine | null;
  /** The first 'fenced' line after `seq`, or null. */
  readonly fencedAfter: (seq: number) => NodeLine | null;
  cancel(): void;
}

function takeoverProgress(env: FaultEnv, node: string, waitMs: number): TakeoverProgress {
  const outcomes: NodeLine[] = [];
  // Never accepts: it only listens, until cancelled.
  const listener = env.watch.next(
    node,
    (l) => {
      const tracked = l.msg === NODE_MESSAGES.takeoverDone || l.msg === NODE_MESSAGES.takeoverFailed || l.msg === NODE_MESSAGES.fenced;
      if (tracked && outcomes.length < 100) outcomes.push(l);
      return false;
    },
    waitMs,
  );
  return {
    outcomeAfter: (seq) => outcomes.find((l) => l.seq > seq && l.msg !== NODE_MESSAGES.fenced) ?? null,
    fencedAfter: (seq) => outcomes.find((l) => l.seq > seq && l.msg === NODE_MESSAGES.fenced) ?? null,
    cancel: () => listener.cancel(),
  };
}

/**
 * A connection for the close, to a server the node is not connected to when there is one.
 * On the node's own server, resuming the session drops the node's connection at once and
 * the node comes back within milliseconds, often before the close (a lost race). On
 * another server of the ensemble the node's connection stays until the close commits, so
 * the close lands first and the node learns of it only then.
 */
async function armOn(env: FaultEnv, cluster: ProcessCluster, node: string): Promise<ArmedCloser> {
  const servers = env.zkServers();
  const proxies = cluster.node(node).zkProxies;
  const live = servers.filter((s) => s.live);
  const elsewhere = servers.filter((s, i) => s.live && (proxies[i]?.connectionCount ?? 0) === 0);
  const server = elsewhere[0] ?? live[0];
  if (server === undefined) throw new Error('no ZooKeeper server is running to close a session on');
  return armSessionClose(server.host, server.port);
}

/**
 * Closes the node's current session and waits until the node reports it expired. When the
 * node won the race (it came back on the same session), tries again on a fresh connection.
 * Records where the expiry landed relative to the take-over, in the node's own line order.
 */
async function expireSession(
  env: FaultEnv,
  cluster: ProcessCluster,
  node: string,
  first: ArmedCloser,
  observed: Observed,
  progress: TakeoverProgress,
  stageLine: NodeLine,
): Promise<void> {
  let closer: ArmedCloser | null = first;
  // The last lost race's wait for the expiry: its close may still expire the session after
  // the node came back on it, and a retry that finds the session gone must count that one.
  let earlier: { readonly line: Promise<NodeLine | null>; cancel(): void } | null = null;
  for (let attempt = 1; attempt <= EXPIRY_ATTEMPTS; attempt++) {
    const session = env.watch.session(node);
    if (session === null) throw new Error(`expire-session: ${node} never logged a ZooKeeper session`);
    // The node's last disconnect before it learns of the expiry is when the close took its
    // connection away: the moment that counts for "where did it land".
    let lastCut: NodeLine | null = null;
    const cut = env.watch.next(
      node,
      (l) => {
        if (l.msg === NODE_MESSAGES.disconnected && l.fields['sessionId'] === session.id) lastCut = l;
        return false;
      },
      session.timeoutMs + CLOSE_TIMEOUT_MS,
    );
    const expired = env.watch.nextMessage(node, NODE_MESSAGES.sessionExpired, session.timeoutMs + CLOSE_TIMEOUT_MS, (f) => f['sessionId'] === session.id);
    const back = env.watch.nextMessage(node, NODE_MESSAGES.sessionConnected, session.timeoutMs + CLOSE_TIMEOUT_MS, (f) => f['sessionId'] === session.id);
    closer ??= await armOn(env, cluster, node);
    const firedAt = performance.now();
    let verdict: string;
    try {
      verdict = await closer.fire(session.id, session.timeoutMs, CLOSE_TIMEOUT_MS);
    } catch (err) {
      verdict = `error: ${(err as Error).message}`;
    } finally {
      closer = null;
    }
    observed['closeMsAfterStage'] = Math.round(firedAt - stageLine.at);
    observed['attempts'] = attempt;
    if (verdict === 'gone') {
      cut.cancel();
      expired.cancel();
      back.cancel();
      // An earlier close that seemed to lose the race may have expired it after all: the node
      // says so in its own log (bounded: that wait ends at its own timeout).
      const late = earlier === null ? null : await earlier.line;
      earlier = null;
      if (late !== null) {
        observed['expiredMsAfterStage'] = Math.round(late.at - stageLine.at);
        observed['landed'] = landedWhere(progress, stageLine, late);
        return;
      }
      // Expired or closed already (the node may have lost it by itself): nothing to aim.
      observed['landed'] = 'the session was gone already';
      return;
    }
    const lostRace = back.line.then(async (l) => {
      if (l !== null) await sleep(RECONNECT_GRACE_MS);
      return null;
    });
    const outcome = await Promise.race([expired.line, lostRace]);
    cut.cancel();
    back.cancel();
    earlier?.cancel();
    earlier = null;
    if (outcome === null) earlier = expired;
    else expired.cancel();
    if (outcome !== null) {
      const at: NodeLine = lastCut ?? outcome;
      observed['expiredMsAfterStage'] = Math.round(outcome.at - stageLine.at);
      observed['landed'] = landedWhere(progress, stageLine, at);
      return;
    }
  }
  earlier?.cancel();
  observed['landed'] = `the session did not expire after ${EXPIRY_ATTEMPTS} closes (the node won every race)`;
}

/** Where the expiry hit the take-over the stage line belongs to, in the node's own line order. */
function landedWhere(progress: TakeoverProgress, stageLine: NodeLine, hit: NodeLine): string {
  if (stageLine.msg === NODE_MESSAGES.leading) return 'right after the take-over (leading)';
  const outcome = progress.outcomeAfter(stageLine.seq);
  if (outcome === null || outcome.seq > hit.seq) {
    // In the take-over: before its fence answered, or in the replay that follows it.
    const fenced = stageLine.msg === NODE_MESSAGES.fenced ? stageLine : progress.fencedAfter(stageLine.seq);
    return fenced !== null && fenced.seq < hit.seq ? 'during the take-over (replay)' : 'during the take-over (fence)';
  }
  return outcome.msg === NODE_MESSAGES.takeoverDone ? 'after the take-over' : 'after the take-over failed';
}

async function killOldLeaderAfterFailover(
  cluster: ProcessCluster,
  plan: Extract<TakeoverFaultPlan, { kind: 'kill-follower-after-failover' }>,
  oldLeader: string,
  heir: string,
  env: FaultEnv,
  cut: ZkCut,
): Promise<Injected> {
  const observed: Observed = {};
  const waitMs = env.recoveryTimeoutMs;
  const leading = env.watch.nextMessage(heir, NODE_MESSAGES.leading, waitMs);
  // Registered before the deposal, so the line cannot slip past.
  const follows = env.watch.nextMessage(oldLeader, NODE_MESSAGES.roleChanged, waitMs, (f) => f['to'] === 'follower' && f['leader'] === heir);
  const pid = cluster.pid(oldLeader);
  if (plan.depose === 'pause') {
    await cluster.pause(oldLeader);
    if (pid !== null) await waitForRunState(pid, 'stopped', 5_000);
  } else {
    // A blackhole: the old leader keeps running and keeps its peer link, so the new
    // leader's appends reach it at once, but it cannot write ZooKeeper or touch its lease.
    await cut.cut();
  }
  const deposedAt = performance.now();
  const finished = (async (): Promise<void> => {
    try {
      const led = await leading.line;
      observed['newLeaderMs'] = led === null ? -1 : Math.round(led.at - deposedAt);
      if (plan.depose === 'pause') await cluster.resume(oldLeader);
      const followed = await Promise.race([follows.line, sleep(FOLLOW_WAIT_MS).then(() => null)]);
      observed['oldLeaderFollowed'] = followed === null ? 'no' : 'yes';
      await sleep(plan.killDelayMs);
      const killedAt = performance.now();
      await cluster.kill(oldLeader);
      if (led !== null) observed['killedMsAfterNewLeader'] = Math.round(killedAt - led.at);
      if (followed !== null) observed['killedMsAfterFollow'] = Math.round(killedAt - followed.at);
    } finally {
      leading.cancel();
      follows.cancel();
      if (plan.depose === 'cut-zk') await cut.heal();
      else await cluster.resume(oldLeader);
    }
    await sleep(plan.restartDelayMs);
    if (!cluster.running(oldLeader)) cluster.startNode(oldLeader);
  })();
  return { target: oldLeader, finished, observed };
}

interface ZkCut {
  cut(): Promise<void>;
  heal(): Promise<void>;
}

/**
 * A silent cut of one voter from ZooKeeper that leaves its peer link alone: its ZooKeeper
 * proxies blackholed on loopback, its packets to ZooKeeper dropped by nftables in its
 * namespace (--net netns, where the voters have no proxies).
 */
function zkCut(cluster: ProcessCluster, net: NetFaults | null, id: string): ZkCut {
  if (net !== null) return { cut: () => net.cutFromZk(id), heal: () => net.rejoin(id) };
  return {
    cut: async () => cluster.cutZk(id, 'blackhole'),
    heal: async () => cluster.healZk(id),
  };
}
