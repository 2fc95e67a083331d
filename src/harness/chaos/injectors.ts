// Injecting one planned fault into a ProcessCluster: the harmful step happens at once
// (SIGKILL, SIGSTOP, a cut proxy); the rest of the fault's timeline (restart, SIGCONT, heal)
// runs in `finished`. Only processes the cluster started are ever signalled.
import type { ProcessCluster } from '../process-cluster.js';
import { waitForRunState } from '../process-state.js';
import type { FaultEnv } from './fault-env.js';
import type { FaultPlan } from './schedule.js';
import { injectTakeoverFault } from './takeover-faults.js';
import { sleep } from './time.js';
import { injectZkServerFault } from './zk-server-faults.js';

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
  env?: FaultEnv,
): Promise<Injected> {
  const target = plan.target === 'leader' ? roles.leader : roles.follower;
  switch (plan.kind) {
    case 'kill-zk':
    case 'pause-zk': {
      if (!env?.ensemble) throw new Error(`${plan.kind} needs a ZooKeeper ensemble (--zk-ensemble 3)`);
      return injectZkServerFault(cluster, env.ensemble, env.zkTargets, plan, env.recoveryTimeoutMs);
    }
    case 'expire-session':
    case 'kill-follower-after-failover': {
      if (!env) throw new Error(`${plan.kind} needs the nodes' log watch (FaultEnv)`);
      return injectTakeoverFault(cluster, plan, roles, env);
    }
    case 'kill-leader':
    case 'kill-follower':
    case 'wipe-restart': {
      await cluster.kill(target);
      const wipe = plan.kind === 'wipe-restart';
      const finished = sleep(plan.restartDelayMs).then(() => (wipe ? cluster.restart(target, { wipe: true }) : cluster.startNode(target)));
      return { target, finished };
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
  }
}
