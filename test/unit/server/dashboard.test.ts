// docker/grafana/duoraft-dashboard.json against the metrics it charts: every duoraft_*
// series a panel queries must be one src/server/metrics.ts registers (a renamed series
// would otherwise leave an empty panel nobody notices), and the panels the operations
// section promises are there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { realClock } from '../../../src/common/real-clock.js';
import { NodeMetrics } from '../../../src/server/metrics.js';

interface Panel {
  readonly id?: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
  readonly panels?: readonly Panel[];
}

const dashboard = JSON.parse(readFileSync(new URL('../../../docker/grafana/duoraft-dashboard.json', import.meta.url), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  annotations: { list: Array<{ expr?: string }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.annotations.list.flatMap((a) => (a.expr ? [a.expr] : []))];

describe('the Grafana dashboard', () => {
  it('queries only series the metrics module registers', () => {
    // A voter's series and a listener's (each registers only its own gauges).
    const metrics = new NodeMetrics({ nodeId: 'a', cluster: 'c', clock: realClock, processMetrics: true });
    const listener = new NodeMetrics({ nodeId: 'l1', cluster: 'c', clock: realClock, member: 'listener' });
    const registered = new Set([...metrics.registry.getMetricsAsArray(), ...listener.registry.getMetricsAsArray()].map((m) => m.name));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:duoraft|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) expect(registered, name).toContain(name);
    metrics.close();
    listener.close();
  });

  it('keeps listeners out of the voters\' role and health panels, and charts them in their own', () => {
    const exprOf = (title: string): string => panels.find((p) => p.title === title)?.targets?.[0]?.expr ?? '';
    // A listener has no Raft role: in the role panel it read as "starting" for ever.
    expect(exprOf('Role per node')).toMatch(/unless on \(node\) \(duoraft_role\{[^}]*role="listener"\} == 1\)$/);
    expect(exprOf('Health of the voters (gRPC health service)')).toMatch(/^duoraft_serving\{[^}]*\} unless on \(node\) \(duoraft_role\{[^}]*role="listener"\} == 1\)$/);
    expect(exprOf('Health of the listeners')).toMatch(/^duoraft_serving\{[^}]*\} and on \(node\) \(duoraft_role\{[^}]*role="listener"\} == 1\)$/);
    expect(exprOf('Listener lag')).toContain('duoraft_listener_lag_seconds');
    expect(exprOf('Listener depth')).toContain('duoraft_listener_depth');
  });

  it('has the promised panels, unique ids, and a layout that fits 24 columns', () => {
    const titles = panels.map((p) => p.title);
    for (const t of ['Role per node', 'Term', 'Commit index progress', 'Failover downtime p50 (range)', 'Failover downtime p99 (range)', 'Take-over phases, p50 and p99 (range)', 'Write latency p50 / p99', 'ZooKeeper multi latency p50 / p99', 'Local WAL fsync p50 / p99', 'ZooKeeper session']) {
      expect(titles).toContain(t);
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    expect(dashboard.uid).toBe('duoraft-overview');
  });
});
