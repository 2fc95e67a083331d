// One measured failover: SIGKILL the leader, wait for the first write a new leader
// acknowledges (the downtime as the client sees it), restart the killed node and wait
// until it has caught up as a follower.
import { performance } from 'node:perf_hooks';
import type { ProcessCluster } from './process-cluster.js';
import type { WriteLoad } from './write-load.js';

export interface FailoverResult {
  readonly killed: string;
  readonly newLeader: string;
  readonly term: number;
  /** From the SIGKILL to the first write acknowledged by the new leader. */
  readonly downtimeMs: number;
  /** From the restart of the killed node until the cluster was whole again (a leader, the other voter caught up). */
  readonly rejoinMs: number;
}

export interface FailoverOptions {
  /** Give up waiting for writes to resume after this long. */
  readonly resumeTimeoutMs?: number;
  /** Restart the killed node (default true), optionally with an empty data folder. */
  readonly restart?: boolean;
  readonly wipe?: boolean;
}

export async function killLeaderAndMeasure(cluster: ProcessCluster, load: WriteLoad, o: FailoverOptions = {}): Promise<FailoverResult> {
  const leader = await cluster.waitForLeader(10_000);
  const killedAddress = cluster.node(leader).address;
  const killedAt = performance.now();
  await cluster.kill(leader);
  const resumed = await withTimeout(
    load.firstAckAfter(killedAt, (a) => a.by !== killedAddress),
    o.resumeTimeoutMs ?? 30_000,
    `writes did not resume within ${o.resumeTimeoutMs ?? 30_000} ms after the leader ${leader} was killed`,
  );
  const downtimeMs = resumed.at - killedAt;
  const newLeader = [...cluster.nodes.values()].find((n) => n.address === resumed.by)?.id ?? resumed.by;
  const status = await cluster.memberStatus(newLeader);
  let rejoinMs = 0;
  if (o.restart !== false) {
    const restartedAt = performance.now();
    await cluster.restart(leader, { wipe: o.wipe ?? false });
    await waitWhole(cluster, 30_000);
    rejoinMs = performance.now() - restartedAt;
  }
  return { killed: leader, newLeader, term: status?.term ?? 0, downtimeMs, rejoinMs };
}

/**
 * Waits until the cluster is whole: a leader, and the other voter following it with what
 * the leader had committed applied. The leader is found afresh on each try: on a loaded
 * machine the restarted voter may take over from the live one (its lease looked lapsed
 * through an event-loop stall), which is allowed and must not read as a voter that never
 * rejoined.
 */
export async function waitWhole(cluster: ProcessCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const leader = await cluster.waitForLeader(Math.max(1, deadline - Date.now()));
    const follower = cluster.ids().find((id) => id !== leader);
    if (follower === undefined) return;
    try {
      await waitRejoined(cluster, follower, leader, Math.max(1, Math.min(deadline - Date.now(), 3_000)));
      return;
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`the cluster was not whole again within ${timeoutMs} ms (${last})`);
}

/** Waits until `id` follows `leader` and has applied what the leader had committed when we asked. */
export async function waitRejoined(cluster: ProcessCluster, id: string, leader: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const target = (await cluster.memberStatus(leader))?.commitIndex ?? 0;
  for (;;) {
    const s = await cluster.memberStatus(id);
    if (s && s.role === 'follower' && s.leaderId === leader && s.appliedIndex >= target) return;
    if (Date.now() > deadline) throw new Error(`${id} did not rejoin ${leader} within ${timeoutMs} ms (last: ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
