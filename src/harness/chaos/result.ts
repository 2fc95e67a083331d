// result.json: what a chaos run saw and what the checks found.
import type { ListenerVerdict } from './listener-faults.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { percentile } from '../failover.js';
import type { DuplicatedCounter, LostDetail } from './checks.js';
import { type FaultKind, type NetMode, NO_FAILOVER_NEEDED } from './fault-kinds.js';
import type { OpCounts } from './recorder.js';
import type { FaultDurations, TargetRole } from './schedule.js';
import type { SnapshotActivitySummary } from './snapshot-activity.js';
import type { WriteGapSummary } from './write-gaps.js';
import type { ZkDataSummary } from './zk-data-sampler.js';

export interface FailoverRecord {
  readonly index: number;
  readonly kind: FaultKind;
  /** The node the fault hit. */
  readonly target: string;
  readonly targetRole: TargetRole;
  /** The fault's own parameters (restart delay, pause or cut length, cut mode). */
  readonly detail: Readonly<Record<string, number | string>>;
  /** When it was injected, in ms since the run started. */
  readonly startedAt: number;
  /** From the injection to the first write acknowledged after it (see ack-tracker.ts). */
  readonly downtimeMs: number;
  readonly leaderBefore: string;
  readonly leaderAfter: string;
  /** New leaders from the injection until the next fault (fences of the epoch znode in ZooKeeper). */
  readonly leaderChanges: number;
  /** From the injection until the cluster was whole again (follower caught up). */
  readonly recoveredMs: number;
  /**
   * The longest stretch without an acknowledged write between the injection and "whole
   * again": for duoraft's clients, and for a bare ZooKeeper client writing beside them
   * (runs with --zk-ensemble; see write-gaps.ts).
   */
  readonly writeGap?: { readonly duoraftMs: number; readonly zkClientMs: number };
}

export interface DowntimeStats {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ChaosResult {
  readonly seed: number;
  /** ISO time the run started. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly options: {
    readonly failovers: number;
    readonly minutes: number;
    readonly durations: FaultDurations;
    readonly kinds: readonly FaultKind[];
    readonly clients: number;
    readonly thinkMs: number;
    readonly nodeArgs: readonly string[];
    readonly maxRecordedOps: number;
    readonly net: NetMode;
  };
  readonly failovers: readonly FailoverRecord[];
  readonly downtime: DowntimeStats & { readonly byKind: Partial<Record<FaultKind, DowntimeStats>> };
  readonly ops: OpCounts;
  /** Changes of leader during faults that need none (latency, loss, a partition the leader survives, ...) or before the first fault. */
  readonly falseFailovers: number;
  /** Acknowledged writes not found at the end (write-once keys + missing increments). */
  readonly lost: number;
  readonly lostDetail: LostDetail;
  /** Increments applied more often than they were made (sum over counters of the excess). */
  readonly duplicated: number;
  readonly duplicatedCounters: readonly DuplicatedCounter[];
  /** True only when proven for every key. */
  readonly linearizable: boolean;
  /** The checker's budget ran out without finding a violation: not proven, not refuted. */
  readonly linearizabilityUnknown: boolean;
  /** Present when the checker found a key with no linearization. */
  readonly violation?: { readonly key: string; readonly explanation: string; readonly failingKeys: readonly string[] };
  readonly checker: { readonly partitions: number; readonly steps: number; readonly ms: number; readonly unknownKeys: readonly string[] };
  /** Keys whose final read failed (the checks above could not cover them). */
  readonly unreadableKeys: readonly string[];
  /** With --listeners N: each listener's final state against the voters' (issue 13). */
  readonly listeners?: readonly ListenerVerdict[];
  /** Acknowledged operations per 250 ms: t in seconds since the run started. */
  readonly throughput: ReadonlyArray<{ readonly t: number; readonly acks: number; readonly writes: number }>;
  /** Why the run stopped early (the cluster did not recover in time, ...), if it did. */
  readonly error?: string;
  /** ZooKeeper servers the run started (1: standalone). */
  readonly zkServers?: number;
  /** Longest write gaps per kind, duoraft beside a bare ZooKeeper client (runs with --zk-ensemble). */
  readonly writeGaps?: WriteGapSummary;
  /** Snapshots taken, published, installed and rebuilt from, as the voters logged them. */
  readonly snapshots?: SnapshotActivitySummary;
  /** ZooKeeper's data over the run: the whole tree every second (mntr), the budgeted bytes every 15 s (zk inspect). */
  readonly zkData?: ZkDataSummary;
}

/** Leader changes during faults after which the old leader could have stayed. */
export function countFalseFailovers(failovers: readonly FailoverRecord[], beforeFirstFault: number): number {
  return beforeFirstFault + failovers.filter((f) => NO_FAILOVER_NEEDED.has(f.kind)).reduce((sum, f) => sum + f.leaderChanges, 0);
}

export function downtimeStats(values: readonly number[]): DowntimeStats {
  const r = (x: number): number => (Number.isNaN(x) ? 0 : Math.round(x * 10) / 10);
  return { count: values.length, p50: r(percentile(values, 50)), p99: r(percentile(values, 99)), max: r(percentile(values, 100)) };
}

export function summarizeDowntime(failovers: readonly FailoverRecord[]): ChaosResult['downtime'] {
  const byKind: Partial<Record<FaultKind, DowntimeStats>> = {};
  const kinds = [...new Set(failovers.map((f) => f.kind))];
  for (const kind of kinds) byKind[kind] = downtimeStats(failovers.filter((f) => f.kind === kind).map((f) => f.downtimeMs));
  return { ...downtimeStats(failovers.map((f) => f.downtimeMs)), byKind };
}

/** What failed, in words; empty when the run passed (lost 0, duplicated 0, no violation, no error). */
export function failures(r: ChaosResult): string[] {
  const out: string[] = [];
  if (r.error !== undefined) out.push(`the run stopped early: ${r.error}`);
  if (r.lost > 0) out.push(`${r.lost} acknowledged writes lost (${r.lostDetail.writeOnceKeys} write-once keys, ${r.lostDetail.counterIncrements} increments)`);
  if (r.duplicated > 0) out.push(`${r.duplicated} duplicate applications of increments on ${r.duplicatedCounters.length} counters`);
  if (r.violation !== undefined) out.push(`the history is not linearizable (key ${r.violation.key})`);
  if (r.zkData !== undefined && r.zkData.maxBudgetBytes > r.zkData.boundBytes) {
    out.push(`ZooKeeper held ${r.zkData.maxBudgetBytes} bytes of wal/ and snapshots/, over its bound of ${r.zkData.boundBytes}`);
  }
  if (r.unreadableKeys.length > 0) out.push(`${r.unreadableKeys.length} keys could not be read back at the end`);
  for (const l of r.listeners ?? []) {
    if (l.behind !== undefined) out.push(`listener ${l.id} did not catch up: ${l.behind}`);
    if (l.mismatches > 0) out.push(`listener ${l.id} differs from the voters on ${l.mismatches} keys (${l.examples.join('; ')})`);
  }
  return out;
}

export async function writeResult(outDir: string, result: ChaosResult): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, 'result.json');
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
