// The fault schedule, drawn up front from the seed: which kind comes when, and every random
// parameter of each fault (delays, durations, cut modes, steady time after it). The same
// seed gives the same schedule. Targets are roles ("the leader"), resolved when the fault
// is injected, since who leads at that moment is up to the cluster.
import { SeededRandom } from '../../core/random.js';
import type { ProxyCutMode } from '../tcp-proxy.js';
import type { FaultKind } from './fault-kinds.js';
import { EXPIRY_STAGES, KILL_AFTER_FAILOVER_DELAY_MS, type TakeoverFaultPlan } from './takeover-faults.js';
import { ZK_PAUSE_MS, type ZkServerFaultPlan } from './zk-server-faults.js';

/** A voter by role, or (for kill-zk and pause-zk) a ZooKeeper server by its role in the ensemble. */
export type TargetRole = 'leader' | 'follower' | 'zk-leader' | 'zk-follower' | 'listener';

export interface PlanBase {
  /** 1-based position in the run. */
  readonly index: number;
  readonly target: TargetRole;
  /** Steady load once the cluster has settled after this fault, before the next one. */
  readonly steadyMs: number;
}

export type FaultPlan =
  | (PlanBase & { readonly kind: 'kill-leader' | 'kill-follower' | 'wipe-restart'; readonly restartDelayMs: number })
  | (PlanBase & {
      readonly kind: 'restart-both' | 'wipe-both';
      readonly restartDelayMs: number;
      /** Which voter comes back first (by its role before the fault), and how long after it the other starts. */
      readonly firstBack: 'leader' | 'follower';
      readonly staggerMs: number;
    })
  | (PlanBase & { readonly kind: 'pause-leader'; readonly pauseMs: number })
  | (PlanBase & { readonly kind: 'cut-link' | 'cut-zk'; readonly cutMs: number; readonly mode: ProxyCutMode })
  | (PlanBase & { readonly kind: 'partition-voters' | 'partition-leader' | 'partition-clients'; readonly cutMs: number })
  | (PlanBase & { readonly kind: 'latency'; readonly cutMs: number; readonly latencyMs: number; readonly jitterMs: number; readonly links: LatencyScope })
  | (PlanBase & { readonly kind: 'loss'; readonly cutMs: number; readonly percent: number; readonly scope: LossScope })
  | ZkServerFaultPlan
  | TakeoverFaultPlan
  /** A listener (kill-listener), or the member feeding one (kill-upstream): `pick` chooses which listener. */
  | (PlanBase & { readonly kind: 'kill-listener' | 'kill-upstream'; readonly restartDelayMs: number; readonly pick: number });

/** Which links a latency fault slows: all of them, the leader's to ZooKeeper or to the clients, or both peer links. */
export type LatencyScope = 'all' | 'zk' | 'peer' | 'client';
export const LATENCY_SCOPES: readonly LatencyScope[] = ['all', 'zk', 'peer', 'client'];
/** Whose packets a loss fault drops: both voters', or the leader's only. */
export type LossScope = 'all' | 'leader';
/** One-way latency of a latency fault, ms; the jitter is half of it. */
export const LATENCY_MS: readonly [number, number] = [2, 20];
/** Packet loss of a loss fault, percent each way. */
export const LOSS_PERCENT: readonly [number, number] = [1, 5];

export const RESTART_DELAY_MS: readonly [number, number] = [100, 600];
/**
 * restart-both and wipe-both: from the first voter's start to the second's. From 0 (both
 * race for the term, both rebuilding at once) to longer than a rebuild of a small state
 * (the first leads alone, then the second joins and catches up).
 */
export const BOTH_STAGGER_MS: readonly [number, number] = [0, 600];
export const PAUSE_MS: readonly [number, number] = [500, 2500];
export const CUT_MS: readonly [number, number] = [1000, 3000];

/**
 * How long pauses and cuts last (ms ranges). A pause or a cut between the voters forces a
 * take-over once it exceeds the election timeout; a cut from ZooKeeper alone only once it
 * exceeds the lapse silence (lapseSilenceMs) plus the election timeout: a lapsed leader
 * keeps leading through a shorter one.
 */
export interface FaultDurations {
  readonly pauseMs: readonly [number, number];
  readonly cutMs: readonly [number, number];
  /** How long pause-zk stops a ZooKeeper server (default ZK_PAUSE_MS). */
  readonly zkPauseMs?: readonly [number, number];
}

export const DEFAULT_DURATIONS: FaultDurations = { pauseMs: PAUSE_MS, cutMs: CUT_MS, zkPauseMs: ZK_PAUSE_MS };

/** An integer in [lo, hi]. */
export function between(rng: SeededRandom, range: readonly [number, number]): number {
  return range[0] + rng.nextInt(range[1] - range[0] + 1);
}

/** Fisher-Yates with the seeded source. */
export function shuffled<T>(rng: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/**
 * `count` faults: the kinds in rounds, each round a fresh seeded shuffle, so every kind
 * gets count/kinds faults, give or take one, and no kind bunches up.
 */
export function planFaults(
  seed: number,
  count: number,
  kinds: readonly FaultKind[],
  steadyRange: readonly [number, number],
  durations: FaultDurations = DEFAULT_DURATIONS,
): FaultPlan[] {
  // A stream of its own, so the clients' choices (seeded from the same seed) do not shift the schedule.
  const rng = new SeededRandom((seed ^ 0x5eed_fa17) >>> 0);
  const order: FaultKind[] = [];
  while (order.length < count) order.push(...shuffled(rng, kinds));
  let wipes = 0;
  // ZooKeeper faults alternate between the ensemble's leader and a follower; expiries
  // cycle through the take-over's stages; the old leader is deposed by a pause or a cut.
  let zkKills = 0;
  let zkPauses = 0;
  let expiries = 0;
  let deposals = 0;
  const bothDown = { 'restart-both': 0, 'wipe-both': 0 };
  return order.slice(0, count).map((kind, k): FaultPlan => {
    const base = { index: k + 1, steadyMs: between(rng, steadyRange) };
    switch (kind) {
      case 'kill-leader':
        return { ...base, kind, target: 'leader', restartDelayMs: between(rng, RESTART_DELAY_MS) };
      case 'kill-follower':
        return { ...base, kind, target: 'follower', restartDelayMs: between(rng, RESTART_DELAY_MS) };
      case 'wipe-restart':
        // Alternate, so both a leader and a follower lose their disk equally often.
        return { ...base, kind, target: wipes++ % 2 === 0 ? 'leader' : 'follower', restartDelayMs: between(rng, RESTART_DELAY_MS) };
      case 'restart-both':
      case 'wipe-both':
        // Alternate per kind, so each sees the old leader and the old follower come back first equally often.
        return {
          ...base,
          kind,
          target: 'leader',
          restartDelayMs: between(rng, RESTART_DELAY_MS),
          firstBack: bothDown[kind]++ % 2 === 0 ? 'leader' : 'follower',
          staggerMs: between(rng, BOTH_STAGGER_MS),
        };
      case 'pause-leader':
        return { ...base, kind, target: 'leader', pauseMs: between(rng, durations.pauseMs) };
      case 'cut-link':
        // Both voters lose the link; "target" names the side whose view matters (the leader keeps leading).
        return { ...base, kind, target: 'leader', cutMs: between(rng, durations.cutMs), mode: rng.nextInt(2) === 0 ? 'reset' : 'blackhole' };
      case 'cut-zk':
        return { ...base, kind, target: 'leader', cutMs: between(rng, durations.cutMs), mode: rng.nextInt(2) === 0 ? 'reset' : 'blackhole' };
      case 'kill-zk':
        return { ...base, kind, target: zkKills++ % 2 === 0 ? 'zk-leader' : 'zk-follower', restartDelayMs: between(rng, RESTART_DELAY_MS) };
      case 'pause-zk':
        return { ...base, kind, target: zkPauses++ % 2 === 0 ? 'zk-leader' : 'zk-follower', pauseMs: between(rng, durations.zkPauseMs ?? ZK_PAUSE_MS) };
      case 'expire-session':
        return { ...base, kind, target: 'follower', stage: EXPIRY_STAGES[expiries++ % EXPIRY_STAGES.length]!, restartDelayMs: between(rng, RESTART_DELAY_MS) };
      case 'kill-follower-after-failover':
        return {
          ...base,
          kind,
          target: 'leader',
          depose: deposals++ % 2 === 0 ? 'pause' : 'cut-zk',
          killDelayMs: between(rng, KILL_AFTER_FAILOVER_DELAY_MS),
          restartDelayMs: between(rng, RESTART_DELAY_MS),
        };
      case 'partition-voters':
      case 'partition-leader':
      case 'partition-clients':
        return { ...base, kind, target: 'leader', cutMs: between(rng, durations.cutMs) };
      case 'latency': {
        const latencyMs = between(rng, LATENCY_MS);
        const links = LATENCY_SCOPES[rng.nextInt(LATENCY_SCOPES.length)]!;
        return { ...base, kind, target: 'leader', cutMs: between(rng, durations.cutMs), latencyMs, jitterMs: Math.floor(latencyMs / 2), links };
      }
      case 'loss':
        return { ...base, kind, target: 'leader', cutMs: between(rng, durations.cutMs), percent: between(rng, LOSS_PERCENT), scope: rng.nextInt(2) === 0 ? 'all' : 'leader' };
      case 'kill-listener':
      case 'kill-upstream':
        return { ...base, kind, target: 'listener', restartDelayMs: between(rng, RESTART_DELAY_MS), pick: rng.nextInt(1 << 30) };
    }
  });
}

/** The fault's own parameters, for progress lines, result.json and the report. */
export function planDetail(p: FaultPlan): Record<string, number | string> {
  switch (p.kind) {
    case 'kill-leader':
    case 'kill-follower':
    case 'wipe-restart':
      return { restartDelayMs: p.restartDelayMs };
    case 'restart-both':
    case 'wipe-both':
      return { restartDelayMs: p.restartDelayMs, firstBack: p.firstBack, staggerMs: p.staggerMs };
    case 'pause-leader':
      return { pauseMs: p.pauseMs };
    case 'cut-link':
    case 'cut-zk':
      return { cutMs: p.cutMs, mode: p.mode };
    case 'kill-zk':
      return { restartDelayMs: p.restartDelayMs };
    case 'pause-zk':
      return { pauseMs: p.pauseMs };
    case 'expire-session':
      return { stage: p.stage, restartDelayMs: p.restartDelayMs };
    case 'kill-follower-after-failover':
      return { depose: p.depose, killDelayMs: p.killDelayMs, restartDelayMs: p.restartDelayMs };
    case 'partition-voters':
    case 'partition-leader':
    case 'partition-clients':
      return { cutMs: p.cutMs };
    case 'latency':
      return { cutMs: p.cutMs, latency: `${p.latencyMs}±${p.jitterMs} ms`, links: p.links };
    case 'loss':
      return { cutMs: p.cutMs, loss: `${p.percent} %`, at: p.scope };
    case 'kill-listener':
    case 'kill-upstream':
      return { restartDelayMs: p.restartDelayMs, pick: p.pick };
  }
}
