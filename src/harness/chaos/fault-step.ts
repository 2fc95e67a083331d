// One fault, start to end: inject it, measure the downtime the clients see, let the fault
// run its course (restart, SIGCONT, heal), and wait until the cluster is whole again.
import { performance } from 'node:perf_hooks';
import type { NetFaults } from '../netns/faults.js';
import type { ProcessCluster } from '../process-cluster.js';
import type { AckTracker } from './ack-tracker.js';
import type { FaultEnv } from './fault-env.js';
import type { GapMeter } from './gap-meter.js';
import { injectFault } from './injectors.js';
import type { FailoverRecord } from './result.js';
import { type FaultPlan, planDetail } from './schedule.js';
import { type Settled, waitSettled } from './settle.js';
import { withTimeout } from './time.js';

export interface FaultStepContext {
  readonly cluster: ProcessCluster;
  /** The network faults, when the voters are in namespaces. */
  readonly net: NetFaults | null;
  readonly acks: AckTracker;
  /** Faults planned (0: open-ended, a soak). */
  readonly total: number;
  readonly recoveryTimeoutMs: number;
  /** Called just before the injection, so calls made from then on use fresh keys. */
  readonly beforeInjection: (plan: FaultPlan) => void;
  /** ZooKeeper servers and the nodes' log lines, for the kinds that need them. */
  readonly env?: FaultEnv;
  /** The longest write gap per fault: duoraft's clients, and a bare ZooKeeper client beside them. */
  readonly gaps?: { readonly duoraft: GapMeter; readonly zkClient: GapMeter };
}

export async function runFault(ctx: FaultStepContext, plan: FaultPlan, before: Settled): Promise<{ record: FailoverRecord; settled: Settled }> {
  const { cluster, acks } = ctx;
  const name = `fault ${plan.index}${ctx.total > 0 ? `/${ctx.total}` : ''} (${plan.kind})`;
  ctx.beforeInjection(plan);
  const startedAt = performance.now();
  // Registered before the injection, so no acknowledgement after it can be missed.
  // Until the injection has taken effect (a process exited, rules loaded), only a write the
  // other member acknowledges shows that writes flow again.
  let appliedAt = Number.POSITIVE_INFINITY;
  const resumed = acks.firstWriteAfter(startedAt, cluster.node(before.leader).address, () => appliedAt);
  ctx.gaps?.duoraft.open(startedAt);
  ctx.gaps?.zkClient.open(startedAt);
  try {
    const injected = await injectFault(cluster, plan, before, ctx.net, ctx.env);
    appliedAt = performance.now();
    const what = `${name} on ${injected.target}`;
    const ack = withTimeout(resumed.ack, ctx.recoveryTimeoutMs, `${what}: no write was acknowledged within ${ctx.recoveryTimeoutMs} ms`);
    // Whatever happens to the downtime wait, the fault's own course (restart, SIGCONT,
    // heal) must end before we go on: nothing may act on the cluster behind our back.
    const [acked, finished] = await Promise.allSettled([ack, injected.finished]);
    if (finished.status === 'rejected') throw finished.reason;
    if (acked.status === 'rejected') throw acked.reason;
    const settled = await waitSettled(cluster, ctx.recoveryTimeoutMs, `after ${what}`);
    const recoveredAt = performance.now();
    const gaps = ctx.gaps;
    const record: FailoverRecord = {
      index: plan.index,
      kind: plan.kind,
      target: injected.target,
      targetRole: plan.target,
      detail: { ...planDetail(plan), ...injected.observed },
      startedAt: Math.round(startedAt - acks.origin),
      downtimeMs: Math.round((acked.value.at - startedAt) * 10) / 10,
      leaderBefore: before.leader,
      leaderAfter: settled.leader,
      leaderChanges: 0, // counted by the run, up to the next fault (run.ts)
      recoveredMs: Math.round(recoveredAt - startedAt),
      ...(gaps ? { writeGap: { duoraftMs: gaps.duoraft.close(recoveredAt), zkClientMs: gaps.zkClient.close(recoveredAt) } } : {}),
    };
    return { record, settled };
  } finally {
    resumed.cancel();
  }
}
