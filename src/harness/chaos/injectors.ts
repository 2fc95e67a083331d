// Injecting one planned fault into a ProcessCluster: the harmful step happens at once
// (SIGKILL, SIGSTOP, a cut proxy, packets dropped or delayed in the namespaces); the rest
// of the fault's timeline (restart, SIGCONT, heal) runs in `finished`. Only processes the
// cluster started are ever signalled.
import { linkName, type NetFaults } from '../netns/faults.js';
import type { ProcessCluster } from '../process-cluster.js';
import { waitForRunState } from '../process-state.js';
import type { FaultEnv } from './fault-env.js';
import type { FaultPlan } from './schedule.js';
import { injectTakeoverFault } from './takeover-faults.js';
import { sleep } from './time.js';
import { injectZkServerFault } from './zk-server-faults.js';
import { injectListenerFault } from './listener-faults.js';

export interface Injected {
  /** The node the fault hit (for cut-link: the leader, whose link to its follower was cut). */
  readonly target: string;
  /** Resolves when the fault is over: the node restarted, resumed or reconnected. */
  readonly finished: Promise<void>;
  /** What the fault found out as it ran (which server it hit, where an expiry landed); read once finished. */
  readonly observed?: Readonly<Record<string, number | string>>;
}

export async function injectFault(
  cluster: ProcessCluster,
  plan: FaultPlan,
  roles: { readonly leader: string; readonly follower: string },
  net: NetFaults | null,
  env?: FaultEnv,
): Promise<Injected> {
  if (plan.kind === 'kill-listener' || plan.kind === 'kill-upstream') {
    if (!env?.listeners) throw new Error(`${plan.kind} needs listeners (--listeners N)`);
    return injectListenerFault(cluster, env.listeners, plan);
  }
  const target = plan.target === 'leader' ? roles.leader : roles.follower;
  const needNet = (): NetFaults => {
    if (net === null) throw new Error(`${plan.kind} needs the voters in network namespaces (--net netns)`);
    return net;
  };
  switch (plan.kind) {
    case 'kill-zk':
    case 'pause-zk': {
      if (!env?.ensemble) throw new Error(`${plan.kind} needs a ZooKeeper ensemble (--zk-ensemble 3)`);
      return injectZkServerFault(cluster, env.ensemble, env.zkTargets, plan, env.recoveryTimeoutMs);
    }
    case 'expire-session':
    case 'kill-follower-after-failover': {
      if (!env) throw new Error(`${plan.kind} needs the nodes' log watch (FaultEnv)`);
      return injectTakeoverFault(cluster, plan, roles, env, net);
    }
    case 'kill-leader':
    case 'kill-follower':
    case 'wipe-restart': {
      await cluster.kill(target);
      const wipe = plan.kind === 'wipe-restart';
      const finished = sleep(plan.restartDelayMs).then(() => (wipe ? cluster.restart(target, { wipe: true }) : cluster.startNode(target)));
      return { target, finished };
    }
    case 'restart-both':
    case 'wipe-both': {
      // Together: neither voter may outlive the other, or the survivor would just take over.
      await Promise.all([cluster.kill(roles.leader), cluster.kill(roles.follower)]);
      const wipe = plan.kind === 'wipe-both';
      if (wipe) await Promise.all([cluster.wipe(roles.leader), cluster.wipe(roles.follower)]);
      const [first, second] = plan.firstBack === 'leader' ? [roles.leader, roles.follower] : [roles.follower, roles.leader];
      const finished = (async (): Promise<void> => {
        await sleep(plan.restartDelayMs);
        cluster.startNode(first);
        await sleep(plan.staggerMs);
        cluster.startNode(second);
      })();
      return { target: `${roles.leader}+${roles.follower}`, finished, observed: { firstBack: first } };
    }
    case 'pause-leader': {
      const pid = cluster.pid(target);
      await cluster.pause(target);
      // kill() only queues the signal: wait until the process really stopped, so the pause
      // lasts as long as planned.
      if (pid !== null) await waitForRunState(pid, 'stopped', 5_000);
      const finished = sleep(plan.pauseMs).then(() => cluster.resume(target));
      return { target, finished };
    }
    case 'cut-link': {
      cluster.cutPeerLinks(plan.mode);
      const finished = sleep(plan.cutMs).then(() => cluster.healPeerLinks());
      return { target, finished };
    }
    case 'cut-zk': {
      cluster.cutZk(target, plan.mode);
      const finished = sleep(plan.cutMs).then(() => cluster.healZk(target));
      return { target, finished };
    }
    case 'partition-voters': {
      const n = needNet();
      await n.cutVoters();
      return { target, finished: sleep(plan.cutMs).then(() => n.healVoters()) };
    }
    case 'partition-leader': {
      const n = needNet();
      await n.isolate(target);
      return { target, finished: sleep(plan.cutMs).then(() => n.rejoin(target)) };
    }
    case 'partition-clients': {
      const n = needNet();
      await n.cutFromClients(target);
      return { target, finished: sleep(plan.cutMs).then(() => n.rejoin(target)) };
    }
    case 'latency': {
      const n = needNet();
      const links =
        plan.links === 'all' ? n.links() : plan.links === 'peer' ? cluster.ids().map((id) => linkName('peer', id)) : [linkName(plan.links, target)];
      await n.setLatency({ latencyMs: plan.latencyMs, jitterMs: plan.jitterMs }, links);
      return { target, finished: sleep(plan.cutMs).then(() => n.setLatency({ latencyMs: 0, jitterMs: 0 }, links)) };
    }
    case 'loss': {
      const n = needNet();
      const ids = plan.scope === 'all' ? cluster.ids() : [target];
      await n.setLoss(plan.percent, ids);
      return { target, finished: sleep(plan.cutMs).then(() => n.setLoss(0, ids)) };
    }
  }
}
