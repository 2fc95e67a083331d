// duoraft bench --suite --only listeners, second stage: issue 13's promotion target, "the
// cluster is again able to lose either voter within 5 s of the command".
//
// Each round, on its own cluster of real processes and under a closed-loop write load:
// 1. a fresh listener starts and catches up;
// 2. a voter is destroyed: SIGKILL, then its data folder wiped (the follower in odd rounds,
//    the leader in even ones, so both cases are measured);
// 3. the promotion is asked for again and again (every PROMOTE_RETRY_MS) while it is refused
//    because the destroyed voter's ZooKeeper session has not expired yet. That wait is
//    reported on its own: it is the session timeout, not the promotion. The request is the
//    one `duoraft admin promote L --replace V` makes (promoteListener, in this process:
//    spawning the command every 100 ms would load the machine under test);
// 4. "able to lose either voter" (readyMs, from the accepted command) is the first poll at
//    which all of these hold: the promoted member reports a voter's role; it and the voter
//    that remained are in the same term and agree on one leader (so the leader sends to the
//    promoted member: the remaining voter's peer is it); and the follower of the two has
//    applied everything the leader had committed when the command was accepted (the commit
//    point of the command);
// 5. that claim is then checked for real: the voter that leads is SIGKILLed at once (the one
//    that remained, or the promoted member when it already leads: killing a follower would
//    measure no failover at all), and the other must take over in a higher term than the
//    killed one led in at readyMs (a new election; else the round fails, saying so):
//    failoverMs is from that SIGKILL to the first write the other acknowledged; the round
//    says which was killed and both terms. The
//    killed voter is then started again on its data (it is still a voter), and the next
//    round starts from the whole cluster.
// A round that fails (a wait that ran out, a refusal that is not retryable) is recorded with
// its error and ends the stage: bench-targets.ts judges the target NOT MET, and the other
// parts' results are kept.
// After the last round, every acknowledged write is read back (linearizable): lost counts
// those missing or different. The teardown runs every step, each bounded (CLEANUP_STEP_MS;
// the SIGKILLs run even after a hung step); a teardown failure after complete rounds is
// recorded beside them (cleanupFailed), never in their place.
import { performance } from 'node:perf_hooks';
import { PromotionRefusedError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { realClock } from '../common/real-clock.js';
import { ClusterPaths } from '../coordination/layout.js';
import { promoteListener } from '../coordination/listener-config.js';
import { connectZk } from '../coordination/zk-client.js';
import { connect, type DuoraftClient } from '../client/client.js';
import { percentile } from './failover.js';
import { runCleanup } from './cleanup-steps.js';
import { type MemberView, ProcessCluster } from './process-cluster.js';
import { countLost, WriteLoad } from './write-load.js';
import type { ZooKeeperEnv, ZooKeeperJvmProfile } from './zk-java.js';
import { startZooKeeper } from './zk-launcher.js';
import { sleep, withTimeout } from './chaos/time.js';

export const MAX_PROMOTION_ROUNDS = 8;
const PROMOTE_RETRY_MS = 100;
/** Bound on the wait for the destroyed voter's session to expire (the node default is 4 s). */
const PROMOTE_WAIT_MS = 60_000;
const READY_POLL_MS = 20;
const READY_WAIT_MS = 30_000;
const CATCH_UP_WAIT_MS = 60_000;
const FAILOVER_WAIT_MS = 30_000;
/** Bound on each teardown step but the SIGKILLs: a hung load.stop() or c.close() must not keep the processes running. */
const CLEANUP_STEP_MS = 10_000;
/** The cluster's step SIGKILLs every node and waits up to 5 s for each to exit. */
const CLEANUP_CLUSTER_MS = 60_000;

export interface PromotionRound {
  readonly round: number;
  /** The voter destroyed, and whether it led then. */
  readonly destroyed: string;
  readonly destroyedRole: 'leader' | 'follower';
  readonly promoted: string;
  readonly remained: string;
  /** From the SIGKILL to the accepted promotion: the destroyed voter's session expiring. */
  readonly refusedForMs: number;
  readonly refusals: number;
  /** From the accepted command to the cluster able to lose either voter (see the file's comment). */
  readonly readyMs: number;
  /** The leader's commit index when the command was accepted, which the follower had applied at readyMs. */
  readonly commitPoint: number;
  /** The voter that led at readyMs, SIGKILLed then: the one that remained, or the promoted member. */
  readonly failoverKilled: string;
  /** From that SIGKILL to the first write the other voter acknowledged. */
  readonly failoverMs: number;
  /** The term in which failoverKilled led at readyMs, and the term in which the other leads after its SIGKILL (always higher: a new election). */
  readonly readyTerm: number;
  readonly failoverTerm: number;
}

export interface PromotionBenchResult {
  readonly rounds: readonly PromotionRound[];
  readonly readyMs: { readonly p50: number; readonly max: number };
  readonly refusedForMs: { readonly p50: number; readonly max: number };
  readonly failoverMs: { readonly p50: number; readonly max: number };
  /** Rounds whose readyMs was within 5 s (issue 13's target). */
  readonly withinTarget: number;
  readonly acknowledged: number;
  readonly lost: number;
  /** Why the stage stopped early (a round or its setup failed): no round after it ran. Null: every round ran. */
  readonly failed: string | null;
  /** A teardown step that failed after the rounds ran (the rounds stand); null when it went clean. */
  readonly cleanupFailed: string | null;
}

/** The result of a stage that could not run at all (bench.ts: the other parts' results are kept). */
export function failedPromotionBench(error: string): PromotionBenchResult {
  const none = { p50: Number.NaN, max: Number.NaN };
  return { rounds: [], readyMs: none, refusedForMs: none, failoverMs: none, withinTarget: 0, acknowledged: 0, lost: 0, failed: error, cleanupFailed: null };
}

export async function benchPromotion(o: { env: ZooKeeperEnv; zkJvm?: ZooKeeperJvmProfile; nodeArgs: readonly string[]; rounds: number; say: (line: string) => void }): Promise<PromotionBenchResult> {
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > MAX_PROMOTION_ROUNDS) throw new Error(`promotion rounds must be 1 to ${MAX_PROMOTION_ROUNDS}, not ${o.rounds}`);
  const zk = await startZooKeeper({ env: o.env, jvmProfile: o.zkJvm ?? 'production' });
  const name = 'bench-promotion';
  const listeners = Array.from({ length: o.rounds }, (_, k) => `p${k + 1}`);
  let cluster: ProcessCluster | null = null;
  let c: DuoraftClient | null = null;
  let load: WriteLoad | null = null;
  const session = connectZk({ connectString: zk.connectString, logger: silentLogger });
  let failure: unknown = null;
  let finished: PromotionBenchResult | null = null;
  try {
    cluster = await ProcessCluster.start({
      zk: zk.connectString,
      cluster: name,
      logLevel: 'warn',
      ids: ['a', 'b', ...listeners],
      deferred: listeners,
      nodeArgs: o.nodeArgs,
      nodeArgsFor: (id) => (listeners.includes(id) ? ['--role', 'listener'] : []),
    });
    await session.waitConnected(10_000);
    c = await connect({ zk: zk.connectString, cluster: name, deadlineMs: 30_000 });
    load = new WriteLoad(c, { writers: 2, valueBytes: 64, prefix: 'pr' });
    load.start();
    o.say(`promotion: ${o.rounds} rounds, each: destroy a voter (SIGKILL + wipe), promote a listener in its place, SIGKILL the voter that remained; under 2 writers`);
    const rounds: PromotionRound[] = [];
    let voters: [string, string] = ['a', 'b'];
    let failed: string | null = null;
    for (let k = 0; k < o.rounds; k++) {
      let round: PromotionRound;
      try {
        round = await promotionRound(cluster, session, new ClusterPaths(name), load, { round: k + 1, voters, listener: listeners[k]!, destroyLeader: k % 2 === 1 });
      } catch (err) {
        // The cluster's state is unknown after a failed round: record it, run no more.
        failed = `round ${k + 1}: ${err instanceof Error ? err.message : String(err)}`;
        o.say(`  ${k + 1}/${o.rounds}: FAILED: ${failed}`);
        break;
      }
      rounds.push(round);
      voters = [round.remained, round.promoted];
      const survivor = round.failoverKilled === round.promoted ? round.remained : round.promoted;
      o.say(
        `  ${round.round}/${o.rounds}: ${round.destroyedRole} ${round.destroyed} destroyed; promotion refused for ${round.refusedForMs} ms (${round.refusals}x, its session expiring); ` +
          `${round.promoted} promoted: able to lose either voter ${round.readyMs} ms after the command (commit point ${round.commitPoint}); ` +
          `the leader ${round.failoverKilled}${round.failoverKilled === round.promoted ? ' (the promoted member)' : ''} SIGKILLed then: ${survivor} took over in ${round.failoverMs} ms`,
      );
    }
    await withTimeout(load.stop(), CLEANUP_STEP_MS, `the write load did not stop within ${CLEANUP_STEP_MS} ms after the rounds`);
    const lost = await countLost(c, load);
    const stat = (xs: number[]): { p50: number; max: number } => ({ p50: percentile(xs, 50), max: percentile(xs, 100) });
    const result: PromotionBenchResult = {
      rounds,
      readyMs: stat(rounds.map((r) => r.readyMs)),
      refusedForMs: stat(rounds.map((r) => r.refusedForMs)),
      failoverMs: stat(rounds.map((r) => r.failoverMs)),
      withinTarget: rounds.filter((r) => r.readyMs <= 5000).length,
      acknowledged: load.acknowledged(),
      lost,
      failed,
      cleanupFailed: null,
    };
    o.say(
      `  able to lose either voter: p50 ${result.readyMs.p50} ms, max ${result.readyMs.max} ms after the command (${result.withinTarget}/${rounds.length} within 5 s); ` +
        `refused while the session expired: p50 ${result.refusedForMs.p50} ms; failover to the promoted member: p50 ${result.failoverMs.p50} ms, max ${result.failoverMs.max} ms; ` +
        `${result.acknowledged} writes acknowledged, ${lost} lost`,
    );
    finished = result;
  } catch (err) {
    failure = err;
  }
  // Every step, even after one throws or hangs (each bounded): a client that fails to close
  // must not leave the processes and ZooKeeper running.
  const failures = await runCleanup([
    ['write load', () => load?.stop(), CLEANUP_STEP_MS],
    ['client', () => c?.close(), CLEANUP_STEP_MS],
    ['ZooKeeper session', () => session.close(), CLEANUP_STEP_MS],
    ['cluster', () => cluster?.stop(), CLEANUP_CLUSTER_MS],
    ['ZooKeeper', () => zk.stop(), CLEANUP_CLUSTER_MS],
  ]);
  if (failures.length > 0) o.say(`  promotion: cleaning up failed: ${failures.join('; ')}`);
  // The stage's own error first (the cleanup's was said above); finished rounds are kept, the cleanup's failure beside them.
  if (finished === null) throw failure;
  return withCleanup(finished, failures);
}

/** The finished stage with the teardown's failures recorded beside its rounds (never in place of them). */
export function withCleanup(result: PromotionBenchResult, failures: readonly string[]): PromotionBenchResult {
  return failures.length === 0 ? result : { ...result, cleanupFailed: failures.join('; ') };
}

async function promotionRound(
  cluster: ProcessCluster,
  session: ReturnType<typeof connectZk>,
  paths: ClusterPaths,
  load: WriteLoad,
  r: { round: number; voters: readonly [string, string]; listener: string; destroyLeader: boolean },
): Promise<PromotionRound> {
  const leader = await cluster.waitForLeader(20_000);
  if (!r.voters.includes(leader)) throw new Error(`leader ${leader} is not one of the voters ${r.voters.join(', ')}`);
  // The voters are whole: the follower has what the leader committed (it was restarted last round).
  await caughtUp(cluster, r.voters, leader, (await cluster.memberStatus(leader))?.commitIndex ?? 0, CATCH_UP_WAIT_MS);
  cluster.startNode(r.listener);
  await listenerCaughtUp(cluster, r.listener, leader);
  const destroyed = r.destroyLeader ? leader : r.voters.find((v) => v !== leader)!;
  const remained = r.voters.find((v) => v !== destroyed)!;
  const killedAt = performance.now();
  await cluster.kill(destroyed);
  await cluster.wipe(destroyed);
  let refusals = 0;
  for (;;) {
    try {
      await promoteListener(session, paths, { listener: r.listener, replace: destroyed, clock: realClock });
      break;
    } catch (err) {
      if (!(err instanceof PromotionRefusedError && err.retryable)) throw err;
      refusals++;
      if (performance.now() - killedAt > PROMOTE_WAIT_MS) throw new Error(`promotion of ${r.listener} still refused ${PROMOTE_WAIT_MS} ms after ${destroyed} was killed: ${err.message}`);
      await sleep(PROMOTE_RETRY_MS);
    }
  }
  const acceptedAt = performance.now();
  // The commit point of the command: the remaining voter leads by now (it took over if the
  // leader was destroyed: the promotion waited out the session, which is longer than a failover).
  const commitPoint = await leaderCommit(cluster, remained);
  const whole = await ready(cluster, [remained, r.listener], commitPoint);
  const readyAt = performance.now();
  // Check the claim: lose the leader at once, whichever it is (a follower's death is no failover).
  const killed = leaderOf(whole);
  const readyTerm = termOf(whole, killed);
  const survivor = killed === remained ? r.listener : remained;
  const survivorAddress = cluster.node(survivor).address;
  const failKilledAt = performance.now();
  await cluster.kill(killed);
  const first = await withTimeout(load.firstAckAfter(failKilledAt, (a) => a.by === survivorAddress), FAILOVER_WAIT_MS, `${survivor} acknowledged no write within ${FAILOVER_WAIT_MS} ms of ${killed}'s SIGKILL`);
  const failoverMs = first.at - failKilledAt;
  const newLeader = await cluster.waitForLeader(20_000, { not: killed });
  if (newLeader !== survivor) throw new Error(`after ${killed}'s SIGKILL the leader is ${newLeader}, not ${survivor}`);
  const failoverTerm = newTermAfter(killed, readyTerm, await cluster.memberStatus(newLeader, 1000));
  // The killed voter had its data: back as a voter, for the next round.
  cluster.startNode(killed);
  return {
    round: r.round,
    destroyed,
    destroyedRole: r.destroyLeader ? 'leader' : 'follower',
    promoted: r.listener,
    remained,
    refusedForMs: Math.round(acceptedAt - killedAt),
    refusals,
    readyMs: Math.round(readyAt - acceptedAt),
    commitPoint,
    failoverKilled: killed,
    failoverMs: Math.round(failoverMs),
    readyTerm,
    failoverTerm,
  };
}

/** The term of `id` in `views`. */
function termOf(views: ReadonlyArray<MemberView | null>, id: string): number {
  const v = views.find((x) => x?.id === id);
  if (!v) throw new Error(`no status of ${id} among ${JSON.stringify(views)}`);
  return v.term;
}

/**
 * The new leader's term, which must be above `readyTerm` (the killed leader's at readyMs): a
 * failover is a new election. A status that still shows the old term (or none) means the
 * measured ack did not come from a leader elected after the SIGKILL: the round fails, saying so.
 */
export function newTermAfter(killed: string, readyTerm: number, leader: MemberView | null): number {
  if (!leader) throw new Error(`after ${killed}'s SIGKILL the new leader did not answer its status: its term is unknown, so no new election (above term ${readyTerm}) is shown`);
  if (leader.term <= readyTerm) {
    throw new Error(`after ${killed}'s SIGKILL ${leader.id} reports term ${leader.term}, not above term ${readyTerm} in which ${killed} led: no new election was seen, so this is no failover`);
  }
  return leader.term;
}

/** The commit index of `id` once it leads (bounded). */
async function leaderCommit(cluster: ProcessCluster, id: string): Promise<number> {
  const deadline = performance.now() + READY_WAIT_MS;
  while (performance.now() < deadline) {
    const s = await cluster.memberStatus(id, 1000);
    if (s?.role === 'leader') return s.commitIndex;
    await sleep(READY_POLL_MS);
  }
  throw new Error(`${id} did not lead within ${READY_WAIT_MS} ms after the promotion`);
}

/** Waits (bounded) until the two voters agree on a leader in one term and the follower applied `commitPoint`; returns those views. */
async function ready(cluster: ProcessCluster, voters: readonly string[], commitPoint: number): Promise<ReadonlyArray<MemberView | null>> {
  const deadline = performance.now() + READY_WAIT_MS;
  let last: Array<MemberView | null> = [];
  while (performance.now() < deadline) {
    last = await Promise.all(voters.map((id) => cluster.memberStatus(id, 1000)));
    if (wholeAt(last, commitPoint)) return last;
    await sleep(READY_POLL_MS);
  }
  throw new Error(`the voters ${voters.join(', ')} were not whole within ${READY_WAIT_MS} ms of the promotion: ${JSON.stringify(last)}`);
}

/** Both voters in one term, one leading, the other following it with `commitPoint` applied. */
export function wholeAt(views: ReadonlyArray<MemberView | null>, commitPoint: number): boolean {
  const [x, y] = views;
  if (!x || !y || x.term !== y.term) return false;
  const leader = x.role === 'leader' ? x : y.role === 'leader' ? y : null;
  const follower = leader === x ? y : x;
  if (!leader || follower.role !== 'follower' || follower.leaderId !== leader.id) return false;
  return follower.appliedIndex >= commitPoint;
}

/** The id of the voter that leads in `views` (which wholeAt accepted): the one to kill to measure a failover. */
export function leaderOf(views: ReadonlyArray<MemberView | null>): string {
  const leader = views.find((v) => v?.role === 'leader');
  if (!leader) throw new Error(`no leader among ${JSON.stringify(views)}`);
  return leader.id;
}

async function caughtUp(cluster: ProcessCluster, voters: readonly string[], leader: string, commitPoint: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const views = await Promise.all(voters.map((id) => cluster.memberStatus(id, 1000)));
    if (wholeAt(views, commitPoint) && views.some((v) => v?.id === leader)) return;
    await sleep(100);
  }
  throw new Error(`the voters ${voters.join(', ')} were not whole within ${timeoutMs} ms`);
}

/** Waits (bounded) until the listener applied what the leader had committed when it started. */
async function listenerCaughtUp(cluster: ProcessCluster, id: string, leader: string): Promise<void> {
  const target = (await cluster.memberStatus(leader))?.commitIndex ?? 0;
  const deadline = performance.now() + CATCH_UP_WAIT_MS;
  while (performance.now() < deadline) {
    const s = await cluster.memberStatus(id, 1000);
    if (s?.role === 'listener' && s.appliedIndex >= target) return;
    await sleep(100);
  }
  throw new Error(`listener ${id} did not apply index ${target} within ${CATCH_UP_WAIT_MS} ms`);
}


