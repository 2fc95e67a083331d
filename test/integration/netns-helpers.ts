// Shared pieces of the network-namespace tests: whether they can run here (and why not),
// and a checked load (recorded clients, then lost / duplicated / linearizable) on a
// cluster whose voters sit in their own namespaces.
import { CheckedLoad, type LoadVerdict } from '../../src/harness/chaos/index.js';
import { waitSettled } from '../../src/harness/chaos/settle.js';
import { netnsSupport } from '../../src/harness/netns/index.js';
import type { ProcessCluster } from '../../src/harness/process-cluster.js';

const support = await netnsSupport();
/** Why these tests skip here, or null when they can run. */
export const netnsSkipReason: string | null = support.ok ? null : support.reason;
if (netnsSkipReason !== null) process.stdout.write(`network-namespace tests skipped: ${netnsSkipReason}\n`);
/** The suite's title, naming the reason when it is skipped. */
export function netnsTitle(title: string): string {
  return netnsSkipReason === null ? title : `${title} (skipped: ${netnsSkipReason})`;
}

export function startCheckedLoad(zk: string, cluster: string, seed: number): Promise<CheckedLoad> {
  return CheckedLoad.start({ zk, cluster, clients: 4, seed, thinkMs: 5, clientDeadlineMs: 10_000, maxRecordedOps: 200_000 });
}

/** Stops the load, waits until the cluster is whole, reads every key back; the verdict comes from verdict(). */
export async function finishLoad(load: CheckedLoad, cluster: ProcessCluster): Promise<void> {
  await load.stop();
  await waitSettled(cluster, 30_000, 'before the read-back');
  await load.readBack();
}

/** In a finally: stops the clients if still running, then closes them. */
export async function endLoad(load: CheckedLoad): Promise<void> {
  await load.stop().catch(() => undefined);
  await load.close();
}

/** The properties every network test asserts at the end, as one object for a readable failure. */
export function safety(v: LoadVerdict): Record<string, unknown> {
  return {
    lost: v.lost,
    duplicated: v.duplicated,
    violation: v.linearizability.violation?.explanation ?? null,
    linearizable: v.linearizability.linearizable,
    unreadable: v.unreadableKeys.length,
  };
}

export const SAFE = { lost: 0, duplicated: 0, violation: null, linearizable: true, unreadable: 0 };

/** Acknowledged writes per whole second between two performance.now() times, from 250 ms buckets. */
export function writesPerSecond(throughput: ReadonlyArray<{ t: number; writes: number }>, originMs: number, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let s = fromMs; s + 1000 <= toMs; s += 1000) {
    const lo = (s - originMs) / 1000;
    const hi = lo + 1;
    out.push(throughput.filter((b) => b.t >= lo - 1e-9 && b.t + 0.25 <= hi + 1e-9).reduce((n, b) => n + b.writes, 0));
  }
  return out;
}
