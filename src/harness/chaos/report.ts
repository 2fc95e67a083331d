// report.html: one self-contained file (inline SVG and CSS, nothing fetched) with the
// check results first, then throughput over time with the faults marked, the downtime
// histogram, and a table of every fault.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { downtimeHistogramSpec, renderSvg, throughputSpec, zkDataSpec } from './charts.js';
import { type ChaosResult, failures } from './result.js';
import { writeGapHtml } from './write-gaps.js';

export async function writeReport(outDir: string, r: ChaosResult): Promise<string> {
  const zkSpec = zkDataSpec(r);
  const [throughput, histogram, zkData] = await Promise.all([
    renderSvg(throughputSpec(r)),
    renderSvg(downtimeHistogramSpec(r)),
    zkSpec === null ? Promise.resolve('') : renderSvg(zkSpec),
  ]);
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, 'report.html');
  await writeFile(path, reportHtml(r, throughput, histogram, zkData));
  return path;
}

export function reportHtml(r: ChaosResult, throughputSvg: string, histogramSvg: string, zkDataSvg = ''): string {
  const failed = failures(r);
  const verdict = failed.length === 0 ? '<p class="pass">PASSED: nothing lost, nothing applied twice, the history is linearizable.</p>' : `<p class="fail">FAILED: ${esc(failed.join('; '))}</p>`;
  const linearizable = r.violation !== undefined ? 'no (violation found)' : r.linearizabilityUnknown ? 'unknown (checker budget ran out; not a violation)' : r.linearizable ? 'yes' : 'no';
  const checks: Array<[string, string, boolean]> = [
    ['lost acknowledged writes', `${r.lost} (${r.lostDetail.writeOnceKeys} write-once keys, ${r.lostDetail.counterIncrements} increments)`, r.lost === 0],
    ['duplicated applications', String(r.duplicated), r.duplicated === 0],
    ['linearizable', linearizable, r.violation === undefined],
    ['keys unreadable at the end', String(r.unreadableKeys.length), r.unreadableKeys.length === 0],
    ...(r.zkData !== undefined
      ? [['ZooKeeper data under its bound', `${mib(r.zkData.maxBudgetBytes)} at most of ${mib(r.zkData.boundBytes)} (${r.zkData.budget.length} samples)`, r.zkData.maxBudgetBytes <= r.zkData.boundBytes] as [string, string, boolean]]
      : []),
  ];
  const ops = r.ops;
  const kinds = Object.entries(r.downtime.byKind).map(
    ([kind, s]) => `<tr><td>${esc(kind)}</td><td>${s.count}</td><td>${s.p50}</td><td>${s.p99}</td><td>${s.max}</td></tr>`,
  );
  const faultRows = r.failovers.map(
    (f) =>
      `<tr><td>${f.index}</td><td>${esc(f.kind)}</td><td>${esc(f.target)} (${f.targetRole})</td><td>${esc(detailText(f.detail))}</td>` +
      `<td>${(f.startedAt / 1000).toFixed(2)}</td><td>${f.downtimeMs.toFixed(1)}</td><td>${f.recoveredMs.toFixed(0)}</td><td>${esc(f.leaderBefore)} &rarr; ${esc(f.leaderAfter)}</td><td>${f.leaderChanges}</td>` +
      `<td>${f.writeGap ? `${f.writeGap.duoraftMs} | ${f.writeGap.zkClientMs}` : ''}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>duoraft chaos run, seed ${r.seed}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 20px; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; }
.pass { color: #176b1f; font-weight: 600; } .fail { color: #b00020; font-weight: 600; }
td.ok { color: #176b1f; } td.bad { color: #b00020; font-weight: 600; }
pre { background: #f7f7f7; padding: 10px; overflow-x: auto; font-size: 12px; }
.chart { overflow-x: auto; margin: 8px 0 24px; }
</style></head><body>
<h1>duoraft chaos run</h1>
<p>seed ${r.seed}, started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s, ${r.failovers.length} faults
(${esc(r.options.kinds.join(', '))}), ${r.options.clients} clients${r.options.net === 'netns' ? ', voters in network namespaces' : ''}${(r.zkServers ?? 1) > 1 ? `, a ZooKeeper ensemble of ${r.zkServers}` : ''}${r.options.nodeArgs.length > 0 ? `, node arguments <code>${esc(r.options.nodeArgs.join(' '))}</code>` : ''}.</p>
${verdict}
<h2>Checks</h2>
<table><tr><th>check</th><th>result</th></tr>
${checks.map(([name, value, ok]) => `<tr><td>${esc(name)}</td><td class="${ok ? 'ok' : 'bad'}">${esc(value)}</td></tr>`).join('\n')}
</table>
<p>Operations: ${ops.total} in all, ${ops.acknowledged} acknowledged, ${ops.unknown} with an unknown outcome, ${ops.failed} failed;
${ops.recorded} recorded and checked${ops.historyCapped ? ' (the history cap was reached: later operations went to unchecked keys)' : ''};
${ops.retriedAfterUnknownOutcome} writes were retried by the client after an unknown outcome.
Checker: ${r.checker.partitions} keys, ${r.checker.steps} search steps, ${r.checker.ms} ms.</p>
${r.lostDetail.examples.length > 0 ? `<h3>Lost writes (examples)</h3><pre>${esc(r.lostDetail.examples.join('\n'))}</pre>` : ''}
${r.violation !== undefined ? `<h3>Linearizability violation</h3><pre>${esc(r.violation.explanation)}</pre><p>Failing keys: ${esc(r.violation.failingKeys.join(', '))}</p>` : ''}
${r.error !== undefined ? `<h3>Run stopped early</h3><pre>${esc(r.error)}</pre>` : ''}
<h2>Throughput</h2>
<div class="chart">${throughputSvg}</div>
${zkSection(r, zkDataSvg)}
<h2>Failover downtime</h2>
<p>All faults: p50 ${r.downtime.p50} ms, p99 ${r.downtime.p99} ms, max ${r.downtime.max} ms. Downtime is measured from the
injection to the first write acknowledged after it (a call made after the fault, or answered by another member than the
leader before it), as the clients saw it; for faults that need no new leader it is the write pause, often near 0.</p>
<table><tr><th>kind</th><th>faults</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr>
${kinds.join('\n')}
</table>
<div class="chart">${histogramSvg}</div>
<p>Leader changes (fences of the epoch znode, from each injection up to the next): ${r.failovers.reduce((n, f) => n + f.leaderChanges, 0)} in all,
${r.falseFailovers} of them during faults that need none (or before the first fault).</p>
${writeGapHtml(r, esc)}
<h2>Faults</h2>
<table><tr><th>#</th><th>kind</th><th>target</th><th>parameters</th><th>at (s)</th><th>downtime (ms)</th><th>recovered (ms)</th><th>leader</th><th>leader changes</th><th>write gap ms (duoraft | ZooKeeper client)</th></tr>
${faultRows.join('\n')}
</table>
</body></html>
`;
}

function zkSection(r: ChaosResult, svg: string): string {
  const a = r.snapshots;
  const z = r.zkData;
  if (a === undefined && z === undefined) return '';
  const activity =
    a === undefined
      ? ''
      : `<p>Snapshots (from the voters' logs): ${a.taken} taken (largest ${mib(a.largestBytes)}, slowest ${a.slowestTakeMs} ms), ${a.published} uploaded to ZooKeeper, ` +
        `${a.compactedSegments} wal/ segments compacted behind them, ${a.installed} installed on a follower behind the compaction point (${a.installedFromZooKeeper} from ZooKeeper), ` +
        `${a.rebuilt} empty data folders rebuilt from ZooKeeper; failures (retried by the node): ${a.failures.take} takes, ${a.failures.publish} publishes, ${a.failures.install} installs.</p>`;
  const data =
    z === undefined
      ? ''
      : `<p>Budgeted bytes (wal/ and snapshots/, as <code>duoraft zk inspect</code> counts them): at most ${mib(z.maxBudgetBytes)} of the ${mib(z.boundBytes)} bound ` +
        `(${z.budget.length} samples, ${z.missedBudget} missed); ZooKeeper's whole tree (mntr zk_approximate_data_size): at most ${mib(z.maxApproximateDataBytes)} ` +
        `(${z.tree.length} samples, ${z.missedTree} missed).</p>${svg !== '' ? `<div class="chart">${svg}</div>` : ''}`;
  return `<h2>Snapshots and ZooKeeper's data</h2>\n${activity}\n${data}`;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

function detailText(d: Readonly<Record<string, number | string>>): string {
  return Object.entries(d)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
