// kill-zk and pause-zk: one server of the ZooKeeper ensemble is SIGKILLed (and restarted
// on its data after a delay) or SIGSTOPped (and resumed), while the voters and a bare
// ZooKeeper client write. The plan names the server by its role: the ensemble's leader
// (as `srvr` reports it at the injection) or a follower; plans alternate the two, and
// followers take turns, so every server is hit within a few faults. The fault is over
// once the ensemble is whole again: every server serving, exactly one leader.
import type { ProcessCluster } from '../process-cluster.js';
import { type EnsembleMember, type LocalEnsemble, waitForQuorum } from '../zk-ensemble.js';
import type { Injected } from './injectors.js';
import type { PlanBase } from './schedule.js';
import { sleep } from './time.js';

/** pause-zk's default range: long enough, at its top, to outlast the voters' ZooKeeper read timeout (2/3 of 4 s) and the ensemble's syncLimit (2 s). */
export const ZK_PAUSE_MS: readonly [number, number] = [1000, 4000];

export type ZkServerRole = 'zk-leader' | 'zk-follower';

export type ZkServerFaultPlan =
  | (PlanBase & { readonly kind: 'kill-zk'; readonly target: ZkServerRole; readonly restartDelayMs: number })
  | (PlanBase & { readonly kind: 'pause-zk'; readonly target: ZkServerRole; readonly pauseMs: number });

/** How long to look for the ensemble's leader when an election is still running. */
const FIND_LEADER_MS = 10_000;

/**
 * Chooses the server a fault hits. A follower is the one this kind has hit least often
 * (ties: the next id after the last one hit), so with leader and follower plans
 * alternating, every server of the ensemble is hit within a few faults of each kind.
 */
export class ZkTargetPicker {
  private readonly hits = new Map<string, Map<number, number>>();
  private lastFollower = 0;

  async pick(ensemble: LocalEnsemble, kind: string, role: ZkServerRole): Promise<EnsembleMember> {
    const deadline = Date.now() + FIND_LEADER_MS;
    const hits = this.hits.get(kind) ?? new Map<number, number>();
    this.hits.set(kind, hits);
    for (;;) {
      const modes = await Promise.all(ensemble.servers.map(async (m) => ({ m, mode: m.pid === -1 ? 'down' : await m.mode() })));
      const leader = modes.find((x) => x.mode === 'leader')?.m;
      const followers = modes.filter((x) => x.mode === 'follower').map((x) => x.m);
      let chosen: EnsembleMember | undefined;
      if (role === 'zk-leader') chosen = leader;
      else if (followers.length > 0) {
        const fewest = Math.min(...followers.map((m) => hits.get(m.id) ?? 0));
        const candidates = followers.filter((m) => (hits.get(m.id) ?? 0) === fewest);
        chosen = candidates.find((m) => m.id > this.lastFollower) ?? candidates[0]!;
        this.lastFollower = chosen.id;
      }
      if (chosen) {
        hits.set(chosen.id, (hits.get(chosen.id) ?? 0) + 1);
        return chosen;
      }
      if (Date.now() >= deadline) throw new Error(`no ZooKeeper ${role === 'zk-leader' ? 'leader' : 'follower'} found within ${FIND_LEADER_MS} ms (modes: ${modes.map((x) => `${x.m.id}=${x.mode}`).join(', ')})`);
      await sleep(50);
    }
  }
}

export function zkServerName(m: EnsembleMember): string {
  return `zk${m.id}`;
}

/** The voters whose ZooKeeper connection goes to this server (their proxy to it holds a connection). */
export function votersOn(cluster: ProcessCluster, serverIndex: number): string[] {
  return cluster.ids().filter((id) => (cluster.node(id).zkProxies[serverIndex]?.connectionCount ?? 0) > 0);
}

export async function injectZkServerFault(cluster: ProcessCluster, ensemble: LocalEnsemble, picker: ZkTargetPicker, plan: ZkServerFaultPlan, wholeTimeoutMs: number): Promise<Injected> {
  const member = await picker.pick(ensemble, plan.kind, plan.target);
  // Which voters' sessions it carried: a voter whose server dies must move its session.
  const voters = votersOn(cluster, ensemble.servers.indexOf(member));
  const observed: Record<string, number | string> = { server: member.id, voters: voters.length > 0 ? voters.join('+') : 'none' };
  const whole = (): Promise<void> => waitForQuorum(ensemble.servers, wholeTimeoutMs);
  switch (plan.kind) {
    case 'kill-zk': {
      await member.kill();
      const finished = sleep(plan.restartDelayMs)
        .then(() => member.restart())
        .then(whole);
      return { target: zkServerName(member), finished, observed };
    }
    case 'pause-zk': {
      await member.pause();
      const finished = sleep(plan.pauseMs)
        .then(() => member.resume())
        .then(whole);
      return { target: zkServerName(member), finished, observed };
    }
  }
}
