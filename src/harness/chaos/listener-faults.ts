// Listeners in a chaos run (duoraft chaos --listeners N, issue 13): they run beside the
// voters as their own process group (the voters' harness counts two voters everywhere),
// two fault kinds aim at them, and at the end every listener's state is compared with the
// voters' final state.
// - kill-listener: SIGKILL a listener, restart it on its data folder after the delay.
// - kill-upstream: SIGKILL the member feeding a listener (a follower or another listener;
//   never the leader), restart it after the delay. A listener reading ZooKeeper directly
//   has no upstream: then the listener itself is killed, and the record says so.
import { DirectStaleReader } from './listener-reads.js';
import type { ProcessCluster } from '../process-cluster.js';
import { ProcessCluster as Cluster } from '../process-cluster.js';
import type { Injected } from './injectors.js';
import type { FaultPlan } from './schedule.js';
import { sleep } from './time.js';

export interface ListenerVerdict {
  readonly id: string;
  readonly appliedIndex: number;
  /** Keys whose value differs from the voters' final read (or could not be read there). */
  readonly mismatches: number;
  readonly examples: readonly string[];
  /** Set when it did not catch up with the voters' commit index in time. */
  readonly behind?: string;
}

export async function startChaosListeners(o: { zk: string; cluster: string; count: number; nodeArgs: readonly string[]; workDir?: string; onLine?: (id: string, line: string) => void }): Promise<ProcessCluster> {
  const ids = Array.from({ length: o.count }, (_, k) => `l${k + 1}`);
  return Cluster.start({
    zk: o.zk,
    cluster: o.cluster,
    ids,
    nodeArgs: [...o.nodeArgs, '--role', 'listener'],
    logLevel: 'info',
    waitForLeader: false,
    ...(o.workDir !== undefined ? { workDir: o.workDir } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  });
}

export async function injectListenerFault(voters: ProcessCluster, listeners: ProcessCluster, plan: FaultPlan & { kind: 'kill-listener' | 'kill-upstream' }): Promise<Injected> {
  const ids = listeners.ids();
  const chosen = ids[plan.pick % ids.length]!;
  if (plan.kind === 'kill-listener') {
    await listeners.kill(chosen);
    return { target: chosen, finished: sleep(plan.restartDelayMs).then(() => listeners.startNode(chosen)) };
  }
  const status = await listeners.memberStatus(chosen);
  const upstream = status?.listener?.upstream ?? '';
  const group = voters.ids().includes(upstream) ? voters : ids.includes(upstream) ? listeners : null;
  if (group === null) {
    // Reading ZooKeeper itself (or starting): no upstream to kill; the listener goes instead.
    await listeners.kill(chosen);
    return { target: chosen, finished: sleep(plan.restartDelayMs).then(() => listeners.startNode(chosen)), observed: { upstream: upstream || 'none', killed: chosen } };
  }
  await group.kill(upstream);
  return { target: upstream, finished: sleep(plan.restartDelayMs).then(() => group.startNode(upstream)), observed: { listener: chosen, upstream } };
}

/**
 * Waits (bounded) until every listener has applied the voters' commit index, then reads
 * every key of `finals` stale from it and counts the values that differ.
 */
export async function checkListeners(voters: ProcessCluster, listeners: ProcessCluster, finals: ReadonlyMap<string, string | null>, timeoutMs: number): Promise<ListenerVerdict[]> {
  const commit = Math.max(0, ...(await voters.statuses()).map((s) => s.commitIndex));
  const out: ListenerVerdict[] = [];
  for (const id of listeners.ids()) {
    const deadline = Date.now() + timeoutMs;
    let applied = 0;
    for (;;) {
      applied = (await listeners.memberStatus(id))?.appliedIndex ?? 0;
      if (applied >= commit || Date.now() > deadline) break;
      await sleep(50);
    }
    if (applied < commit) {
      out.push({ id, appliedIndex: applied, mismatches: 0, examples: [], behind: `applied ${applied}, the voters committed ${commit}, after ${timeoutMs} ms` });
      continue;
    }
    const reader = new DirectStaleReader(listeners.node(id).address);
    const examples: string[] = [];
    let mismatches = 0;
    try {
      for (const [key, want] of finals) {
        const got = await reader.get(key, commit).catch((err: unknown) => `error: ${(err as Error).message}`);
        if (got !== want) {
          mismatches++;
          if (examples.length < 5) examples.push(`${key}: ${JSON.stringify(got)} here, ${JSON.stringify(want)} at the voters`);
        }
      }
    } finally {
      reader.close();
    }
    out.push({ id, appliedIndex: applied, mismatches, examples });
  }
  return out;
}
