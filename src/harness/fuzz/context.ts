// What every fuzz target works with: the running cluster, the harness's own ZooKeeper
// session, the round's random stream, and the ledgers the end-of-run checks read (keys only
// forged messages ever wrote, which must never become visible; acknowledged writes of the
// fuzzer's own, which must read back).
import type { ZkSession } from '../../coordination/zk-api.js';
import type { ProcessCluster } from '../process-cluster.js';
import type { FuzzRandom } from './fuzz-random.js';
import type { ZkLogView } from './zk-log-view.js';

export type FuzzTarget = 'peer' | 'client' | 'wal' | 'znode';

export const FUZZ_TARGETS: readonly FuzzTarget[] = ['peer', 'client', 'wal', 'znode'];

export function parseFuzzTargets(list: string): FuzzTarget[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(FUZZ_TARGETS as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--targets takes a comma list of ${FUZZ_TARGETS.join(', ')}, not ${JSON.stringify(list)}`);
  return names as FuzzTarget[];
}

export class FuzzLedger {
  /** Keys that only forged peer messages ever carried: visible at the end means a forgery was committed. */
  readonly forgedKeys = new Set<string>();
  /** Acknowledged writes of the fuzzer's own (unique keys, never mutated): each must read back. */
  readonly acknowledged = new Map<string, string>();
}

export interface FuzzContext {
  readonly cluster: ProcessCluster;
  readonly clusterName: string;
  readonly zk: ZkSession;
  readonly view: ZkLogView;
  readonly rng: FuzzRandom;
  readonly round: number;
  readonly ledger: FuzzLedger;
}

/** What one round did, in numbers and a few words. */
export interface RoundReport {
  readonly summary: string;
  /** Outcome counts (e.g. "AppendEntries->follower:no_reply": 12). */
  readonly counts: Readonly<Record<string, number>>;
  /** Oddities worth a look that fail nothing by themselves (a gRPC INTERNAL status, say). */
  readonly oddities: readonly string[];
  /** What the round itself found wrong (the run fails on each). */
  readonly failures?: readonly string[];
}

export class Counter {
  private readonly counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Runs `tasks` with at most `limit` at once. */
export async function bounded<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  });
  await Promise.all(workers);
  return out;
}
