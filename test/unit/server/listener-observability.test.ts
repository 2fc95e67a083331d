// A listener's health and metrics (health.ts, metrics.ts over node-figures.ts'
// ListenerFigures): SERVING while fed and not long behind; /metrics with the figures every
// member has, the listener's own, and none of a voter's.
import { describe, expect, it } from 'vitest';
import { sampleValue } from '../../../src/harness/prometheus-text.js';
import { healthOf, LISTENER_MAX_LAG_MS } from '../../../src/server/health.js';
import { NodeMetrics } from '../../../src/server/metrics.js';
import type { ListenerFigures } from '../../../src/server/node-figures.js';
import { ManualClock } from './manual-clock.js';

const rules = { electionTimeoutMs: 60 };

const fed: ListenerFigures = {
  role: 'listener',
  commitIndex: 120,
  appliedIndex: 118,
  lastIndex: 118,
  upstream: 'b',
  depth: 1,
  lagEntries: 2,
  lagMs: 3,
  commitNewsAgeMs: 200,
  zkDisconnectedMs: 0,
  upstreamChanges: 1,
  feeding: 1,
  zkConnected: true,
  stopped: false,
  snapshotIndex: 100,
  snapshotBytes: 4096,
};

describe('listener health', () => {
  it('is SERVING while fed by an upstream or reading ZooKeeper, and not long behind', () => {
    expect(healthOf(fed, rules)).toEqual({ serving: true, reason: 'listener fed by b at depth 1' });
    expect(healthOf({ ...fed, upstream: 'zookeeper', depth: 0 }, rules).serving).toBe(true);
    // ZooKeeper is not needed to serve stale reads from an upstream.
    expect(healthOf({ ...fed, zkConnected: false }, rules).serving).toBe(true);
    expect(healthOf({ ...fed, lagMs: LISTENER_MAX_LAG_MS }, rules).serving).toBe(true);
  });

  it('is NOT_SERVING while starting, stopped, between upstreams, or behind for longer than the bound', () => {
    expect(healthOf(null, rules).serving).toBe(false);
    expect(healthOf({ ...fed, stopped: true }, rules)).toEqual({ serving: false, reason: 'stopped' });
    expect(healthOf({ ...fed, upstream: '', depth: 0 }, rules).reason).toMatch(/without an upstream/);
    const behind = healthOf({ ...fed, lagEntries: 5000, lagMs: LISTENER_MAX_LAG_MS + 1 }, rules);
    expect(behind.serving).toBe(false);
    expect(behind.reason).toMatch(/5000 entries behind/);
    expect(healthOf({ ...fed, lagMs: 800 }, { ...rules, listenerMaxLagMs: 500 }).serving).toBe(false);
  });

  it('is NOT_SERVING when cut off from its source for longer than the bound, though not behind what it heard of', () => {
    // Reading ZooKeeper's log (depth 0), caught up with the tail it last read, and disconnected.
    const depth0 = { ...fed, upstream: 'zookeeper', depth: 0, lagEntries: 0, lagMs: 0 };
    const cutOff = healthOf({ ...depth0, zkConnected: false, zkDisconnectedMs: LISTENER_MAX_LAG_MS + 1, commitNewsAgeMs: 60_000 }, rules);
    expect(cutOff.serving).toBe(false);
    expect(cutOff.reason).toMatch(/disconnected from ZooKeeper/);
    expect(healthOf({ ...depth0, zkConnected: false, zkDisconnectedMs: LISTENER_MAX_LAG_MS }, rules).serving).toBe(true);
    // Connected to an idle cluster: the tail's watch is its news, none arrives, and it serves.
    expect(healthOf({ ...depth0, commitNewsAgeMs: 60_000 }, rules).serving).toBe(true);
    // Fed by an upstream that went silent (no batch, no heartbeat).
    const silent = healthOf({ ...fed, lagEntries: 0, lagMs: 0, commitNewsAgeMs: LISTENER_MAX_LAG_MS + 1 }, rules);
    expect(silent.serving).toBe(false);
    expect(silent.reason).toMatch(/no commit news/);
    expect(healthOf({ ...fed, commitNewsAgeMs: 800 }, { ...rules, listenerMaxLagMs: 500 }).serving).toBe(false);
  });
});

function setup(): { metrics: NodeMetrics; set: (f: Partial<ListenerFigures>) => void } {
  const metrics = new NodeMetrics({ nodeId: 'l1', cluster: 'c1', clock: new ManualClock(), member: 'listener' });
  let figures: ListenerFigures = fed;
  metrics.attach({ figures: () => figures, health: () => healthOf(figures, rules) });
  return { metrics, set: (f) => (figures = { ...figures, ...f }) };
}

describe('listener metrics', () => {
  it('reports the role, the shared indexes, health and the listener figures; no voter figures', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    const v = (name: string, labels: Record<string, string> = {}): number | undefined => sampleValue(text, name, labels);
    expect(v('duoraft_role', { role: 'listener', node: 'l1', cluster: 'c1' })).toBe(1);
    expect(v('duoraft_role', { role: 'follower' })).toBe(0);
    expect(v('duoraft_commit_index')).toBe(120);
    expect(v('duoraft_applied_index')).toBe(118);
    expect(v('duoraft_snapshot_index')).toBe(100);
    expect(v('duoraft_serving')).toBe(1);
    expect(v('duoraft_listener_depth')).toBe(1);
    expect(v('duoraft_listener_lag_entries')).toBe(2);
    expect(v('duoraft_listener_lag_seconds')).toBe(0.003);
    expect(v('duoraft_listeners')).toBe(1);
    expect(v('duoraft_listener_commit_news_age_seconds')).toBe(0.2);
    expect(v('duoraft_listener_zk_disconnected_seconds')).toBe(0);
    expect(v('duoraft_listener_upstream', { upstream: 'b' })).toBe(1);
    expect(v('duoraft_listener_upstream_changes_total')).toBe(1);
    // A voter's figures and events are absent: a listener has no term, lease or take-overs.
    for (const name of ['duoraft_term', 'duoraft_lease_holds', 'duoraft_leader_contact_age_seconds', 'duoraft_pending_proposals', 'duoraft_zk_budget_used_bytes']) {
      expect(v(name), name).toBeUndefined();
    }
    expect(text).not.toMatch(/duoraft_takeovers_total\{/);
    expect(text).not.toMatch(/duoraft_client_busy_total\{/);
    // Its own fsyncs and snapshots are counted (created at 0).
    expect(v('duoraft_snapshots_total', { outcome: 'ok' })).toBe(0);
  });

  it('follows the upstream as it moves; the changes counter only grows', async () => {
    const { metrics, set } = setup();
    await metrics.text();
    set({ upstream: 'zookeeper', depth: 0, upstreamChanges: 2 });
    let text = await metrics.text();
    expect(sampleValue(text, 'duoraft_listener_upstream', { upstream: 'zookeeper' })).toBe(1);
    expect(sampleValue(text, 'duoraft_listener_upstream', { upstream: 'b' })).toBeUndefined();
    expect(sampleValue(text, 'duoraft_listener_upstream_changes_total')).toBe(2);
    set({ upstream: 'a', depth: 1, upstreamChanges: 3 });
    text = await metrics.text();
    expect(sampleValue(text, 'duoraft_listener_upstream', { upstream: 'a' })).toBe(1);
    expect(sampleValue(text, 'duoraft_listener_upstream_changes_total')).toBe(3);
  });
});

describe('voter metrics', () => {
  it('have no listener series (and role listener at 0)', async () => {
    const metrics = new NodeMetrics({ nodeId: 'a', cluster: 'c1', clock: new ManualClock() });
    const text = await metrics.text();
    expect(sampleValue(text, 'duoraft_listener_depth')).toBeUndefined();
    expect(text).not.toMatch(/duoraft_listener_upstream\{/);
  });
});
