// The write pause of each fault, side by side: the longest stretch duoraft's clients went
// without an acknowledged write, and the longest a bare ZooKeeper client writing beside
// them went (zk-write-probe.ts). For a ZooKeeper fault (kill-zk, pause-zk) the difference
// is what duoraft adds to ZooKeeper's own pause; for a voter fault the bare client shows
// that ZooKeeper was not the cause.
import type { FaultKind } from './fault-kinds.js';
import { type ChaosResult, type DowntimeStats, downtimeStats, type FailoverRecord } from './result.js';
import type { ZkWriteProbeStats } from './zk-write-probe.js';

export interface WriteGapStats {
  readonly duoraft: DowntimeStats;
  readonly zkClient: DowntimeStats;
}

export interface WriteGapSummary {
  /** What the bare client did over the whole run. */
  readonly probe: ZkWriteProbeStats;
  readonly byKind: Partial<Record<FaultKind, WriteGapStats>>;
  /** kill-zk and pause-zk split by the server's role: "kill-zk zk-leader", "pause-zk zk-follower". */
  readonly byZkTarget: Readonly<Record<string, WriteGapStats>>;
}

export function summarizeWriteGaps(failovers: readonly FailoverRecord[], probe: ZkWriteProbeStats): WriteGapSummary {
  const stats = (fs: readonly FailoverRecord[]): WriteGapStats | null => {
    const gaps = fs.flatMap((f) => (f.writeGap !== undefined ? [f.writeGap] : []));
    if (gaps.length === 0) return null;
    return { duoraft: downtimeStats(gaps.map((g) => g.duoraftMs)), zkClient: downtimeStats(gaps.map((g) => g.zkClientMs)) };
  };
  const byKind: Partial<Record<FaultKind, WriteGapStats>> = {};
  for (const kind of [...new Set(failovers.map((f) => f.kind))]) {
    const s = stats(failovers.filter((f) => f.kind === kind));
    if (s !== null) byKind[kind] = s;
  }
  const byZkTarget: Record<string, WriteGapStats> = {};
  const zkFaults = failovers.filter((f) => f.targetRole === 'zk-leader' || f.targetRole === 'zk-follower');
  for (const key of [...new Set(zkFaults.map((f) => `${f.kind} ${f.targetRole}`))].sort()) {
    const s = stats(zkFaults.filter((f) => `${f.kind} ${f.targetRole}` === key));
    if (s !== null) byZkTarget[key] = s;
  }
  return { probe, byKind, byZkTarget };
}

/** Lines for the run's printed summary. */
export function writeGapLines(s: WriteGapSummary): string[] {
  const lines = [`longest write gap per fault (ms), duoraft clients | a bare ZooKeeper client (${s.probe.writes} writes, one every ~${s.probe.intervalMs} ms):`];
  for (const [kind, g] of [...Object.entries(s.byKind), ...Object.entries(s.byZkTarget)]) {
    lines.push(`  ${kind.padEnd(28)} duoraft p50 ${g.duoraft.p50}, max ${g.duoraft.max} | ZooKeeper client p50 ${g.zkClient.p50}, max ${g.zkClient.max}`);
  }
  return lines;
}

export function writeGapHtml(r: ChaosResult, esc: (s: string) => string): string {
  const s = r.writeGaps;
  if (s === undefined) return '';
  const rows = [...Object.entries(s.byKind), ...Object.entries(s.byZkTarget)].map(
    ([kind, g]) =>
      `<tr><td>${esc(kind)}</td><td>${g.duoraft.count}</td><td>${g.duoraft.p50}</td><td>${g.duoraft.max}</td><td>${g.zkClient.p50}</td><td>${g.zkClient.max}</td></tr>`,
  );
  return `<h2>Write pause beside a bare ZooKeeper client</h2>
<p>For each fault, the longest stretch without an acknowledged write, from the injection until the cluster was whole again:
for duoraft's clients, and for a bare ZooKeeper client (the voters' client layer and session timeout, one multi of the
leader's shape every ~${s.probe.intervalMs} ms; ${s.probe.writes} writes, ${s.probe.failedAttempts} failed attempts retried).</p>
<table><tr><th>kind</th><th>faults</th><th>duoraft p50 ms</th><th>duoraft max ms</th><th>ZooKeeper client p50 ms</th><th>ZooKeeper client max ms</th></tr>
${rows.join('\n')}
</table>`;
}
