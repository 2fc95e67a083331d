// The report's two charts, drawn by vega-lite (compiled to vega, rendered to SVG in Node
// with the headless 'none' renderer: no canvas, no browser, no network).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ALL_FAULT_KINDS } from './fault-kinds.js';
import type { ChaosResult } from './result.js';

/** One color per fault kind, the same in both charts. */
const KIND_COLORS = [
  '#d62728', '#ff7f0e', '#9467bd', '#2ca02c', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#1f77b4',
  '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#e7ba52', '#3182bd',
];
const kindScale = { domain: [...ALL_FAULT_KINDS], range: KIND_COLORS };

/** Labels above each fault line get unreadable beyond this many faults; the legend names the kinds then. */
const MAX_LABELLED_FAULTS = 40;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Acknowledged operations per 250 ms bucket, with a rule at each fault and a band over its downtime. */
export function throughputSpec(r: ChaosResult): TopLevelSpec {
  const series = r.throughput.flatMap((b) => [
    { t: b.t, series: 'all operations', n: b.acks },
    { t: b.t, series: 'writes', n: b.writes },
  ]);
  const faults = r.failovers.map((f) => ({
    kind: f.kind,
    label: `${f.index} ${f.kind}`,
    start: f.startedAt / 1000,
    end: (f.startedAt + Math.max(f.downtimeMs, 1)) / 1000,
    target: f.target,
  }));
  const seconds = r.durationMs / 1000;
  const width = Math.round(Math.min(2400, Math.max(900, seconds * 6)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Acknowledged operations per 250 ms, faults marked (band: downtime)',
    width,
    height: 260,
    layer: [
      {
        data: { values: faults },
        mark: { type: 'rect', opacity: 0.25 },
        encoding: {
          x: { field: 'start', type: 'quantitative' },
          x2: { field: 'end' },
          color: { field: 'kind', type: 'nominal', scale: kindScale, title: 'fault' },
        },
      },
      {
        data: { values: faults },
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'start', type: 'quantitative' },
          color: { field: 'kind', type: 'nominal', scale: kindScale, title: 'fault' },
        },
      },
      ...(faults.length <= MAX_LABELLED_FAULTS
        ? [
            {
              data: { values: faults },
              mark: { type: 'text' as const, angle: 270, align: 'left' as const, baseline: 'middle' as const, dx: 4, fontSize: 9, y: 0 },
              encoding: {
                x: { field: 'start', type: 'quantitative' as const },
                text: { field: 'label', type: 'nominal' as const },
                color: { field: 'kind', type: 'nominal' as const, scale: kindScale, legend: null },
              },
            },
          ]
        : []),
      {
        data: { values: series },
        mark: { type: 'line', strokeWidth: 1, interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since the run started', scale: { domain: [0, Math.max(1, seconds)] } },
          y: { field: 'n', type: 'quantitative', title: 'acknowledged per 250 ms' },
          strokeDash: { field: 'series', type: 'nominal', title: 'operations' },
          color: { value: '#1f3b73' },
        },
      },
    ],
  };
}

/** Failover downtimes, binned, stacked by kind. */
export function downtimeHistogramSpec(r: ChaosResult): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Downtime per fault (injection to the first write acknowledged after it)',
    width: 700,
    height: 240,
    data: { values: r.failovers.map((f) => ({ kind: f.kind, downtimeMs: f.downtimeMs })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'downtimeMs', type: 'quantitative', bin: { maxbins: 40 }, title: 'downtime (ms)' },
      y: { aggregate: 'count', type: 'quantitative', title: 'faults' },
      color: { field: 'kind', type: 'nominal', scale: kindScale, title: 'fault' },
    },
  };
}

/**
 * ZooKeeper's data over the run, in MiB: the whole tree (mntr, every second), the bytes the
 * bound counts (wal/ and snapshots/, zk inspect, every 15 s), and the bound itself.
 */
export function zkDataSpec(r: ChaosResult): TopLevelSpec | null {
  const z = r.zkData;
  if (z === undefined || (z.tree.length === 0 && z.budget.length === 0)) return null;
  const MiB = 1024 * 1024;
  const seconds = r.durationMs / 1000;
  const values = [
    ...z.tree.map((s) => ({ t: s.t, series: 'whole tree (mntr)', mib: s.approximateDataBytes / MiB })),
    ...z.budget.map((s) => ({ t: s.t, series: 'wal/ + snapshots/ (zk inspect)', mib: s.budgetBytes / MiB })),
  ];
  const top = Math.max(z.boundBytes, z.maxApproximateDataBytes, z.maxBudgetBytes) / MiB;
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds since the run started', scale: { domain: [0, Math.max(1, seconds)] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `ZooKeeper's data (MiB); the dashed line is the bound (${(z.boundBytes / MiB).toFixed(0)} MiB)`,
    width: Math.round(Math.min(2400, Math.max(900, seconds * 6))),
    height: 220,
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5, point: z.budget.length <= 200 },
        encoding: {
          x,
          y: { field: 'mib', type: 'quantitative', title: 'MiB', scale: { domain: [0, top * 1.05] } },
          color: { field: 'series', type: 'nominal', title: 'what' },
        },
      },
      {
        data: { values: [{ mib: z.boundBytes / MiB }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: '#b00020' },
        encoding: { y: { field: 'mib', type: 'quantitative' } },
      },
    ],
  };
}
