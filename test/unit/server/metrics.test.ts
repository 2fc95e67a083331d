// The metrics module (src/server/metrics.ts) driven by a fake node: figures it reads at
// scrape time, events the parts emit (the telemetry interface), and the failover timeline
// that turns role changes and take-overs into phases. Read back from the exposition text
// a scraper would get.
import { describe, expect, it } from 'vitest';
import type { ZkConnectionState } from '../../../src/coordination/zk-api.js';
import type { Role, SoftState } from '../../../src/core/raft.js';
import { sampleValue } from '../../../src/harness/prometheus-text.js';
import { NodeMetrics } from '../../../src/server/metrics.js';
import type { NodeFigures } from '../../../src/server/node-figures.js';
import { ManualClock } from './manual-clock.js';

const baseFigures: NodeFigures = {
  role: 'follower',
  term: 3,
  leaderId: 'a',
  commitIndex: 10,
  appliedIndex: 9,
  lastIndex: 11,
  pendingProposals: 0,
  mirrorBacklog: 0,
  leaseHolds: false,
  committedInTerm: false,
  transferring: false,
  leaderContactAgeMs: 20,
  zkConnected: true,
  commitHeld: false,
  stopped: false,
  fatalReason: null,
  snapshotIndex: 0,
  snapshotBytes: 0,
  zkBudget: null,
};

/** A metrics module over a fake node whose figures the test sets. */
function setup() {
  const clock = new ManualClock();
  const metrics = new NodeMetrics({ nodeId: 'b', cluster: 'c1', clock });
  let figures: NodeFigures | null = null;
  let serving = false;
  metrics.attach({ figures: () => figures, health: () => ({ serving, reason: 'test' }) });
  const set = (f: Partial<NodeFigures> | null): void => {
    figures = f === null ? null : { ...baseFigures, ...f };
  };
  const setServing = (s: boolean): void => {
    serving = s;
  };
  return { clock, metrics, set, setServing };
}

/** The value of one series in the exposition text (labels given in any order); undefined when absent. */
async function value(metrics: NodeMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(await metrics.text(), name, labels);
}

const soft = (role: Role, term: number, leaderId: string): SoftState => ({ role, term, leaderId });

describe('NodeMetrics: figures read at scrape time', () => {
  it('reports role, term, indexes, queues and health as the node holds them now, with node and cluster labels', async () => {
    const { metrics, set, setServing } = setup();
    set({ role: 'leader', term: 7, commitIndex: 42, appliedIndex: 41, lastIndex: 43, pendingProposals: 5, mirrorBacklog: 2, leaseHolds: true });
    setServing(true);
    expect(await value(metrics, 'duoraft_role', { role: 'leader', node: 'b', cluster: 'c1' })).toBe(1);
    expect(await value(metrics, 'duoraft_role', { role: 'follower' })).toBe(0);
    expect(await value(metrics, 'duoraft_term')).toBe(7);
    expect(await value(metrics, 'duoraft_commit_index')).toBe(42);
    expect(await value(metrics, 'duoraft_applied_index')).toBe(41);
    expect(await value(metrics, 'duoraft_last_index')).toBe(43);
    expect(await value(metrics, 'duoraft_pending_proposals')).toBe(5);
    expect(await value(metrics, 'duoraft_mirror_backlog_entries')).toBe(2);
    expect(await value(metrics, 'duoraft_lease_holds')).toBe(1);
    expect(await value(metrics, 'duoraft_serving')).toBe(1);
    expect(await value(metrics, 'duoraft_leader_contact_age_seconds')).toBe(0);

    // They move with the node.
    set({ role: 'follower', term: 8, commitIndex: 50, leaderContactAgeMs: Number.POSITIVE_INFINITY });
    setServing(false);
    expect(await value(metrics, 'duoraft_role', { role: 'leader' })).toBe(0);
    expect(await value(metrics, 'duoraft_role', { role: 'follower' })).toBe(1);
    expect(await value(metrics, 'duoraft_term')).toBe(8);
    expect(await value(metrics, 'duoraft_commit_index')).toBe(50);
    expect(await value(metrics, 'duoraft_serving')).toBe(0);
    expect(await value(metrics, 'duoraft_leader_contact_age_seconds')).toBe(Number.POSITIVE_INFINITY);
    expect(await value(metrics, 'duoraft_commit_held')).toBe(0);
    set({ commitHeld: true });
    expect(await value(metrics, 'duoraft_commit_held')).toBe(1);
  });

  it('reports no role while the node is starting', async () => {
    const { metrics, set } = setup();
    set(null);
    for (const role of ['follower', 'precandidate', 'candidate', 'leader']) expect(await value(metrics, 'duoraft_role', { role })).toBe(0);
    expect(await value(metrics, 'duoraft_serving')).toBe(0);
  });
});

describe('NodeMetrics: events of the parts', () => {
  it('shows the series of rare events at 0 before the first one, so that the first counts as an increase', async () => {
    const { metrics } = setup();
    expect(await value(metrics, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })).toBe(0);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_count', { kind: 'failover' })).toBe(0);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_bucket', { kind: 'failover', phase: 'fence', le: '+Inf' })).toBe(0);
    expect(await value(metrics, 'duoraft_zk_multi_duration_seconds_count', { outcome: 'error' })).toBe(0);
    expect(await value(metrics, 'duoraft_lease_lapses_total')).toBe(0);
    expect(await value(metrics, 'duoraft_client_busy_total', { kind: 'put' })).toBe(0);
  });

  it('times the WAL mirror multis and counts their batch sizes (failed multis only timed)', async () => {
    const { metrics } = setup();
    metrics.mirrorMulti({ entries: 3, bytes: 900, ms: 1.5, ok: true });
    metrics.mirrorMulti({ entries: 40, bytes: 20_000, ms: 4, ok: true });
    metrics.mirrorMulti({ entries: 5, bytes: 100, ms: 3000, ok: false });
    expect(await value(metrics, 'duoraft_zk_multi_duration_seconds_count', { outcome: 'ok' })).toBe(2);
    expect(await value(metrics, 'duoraft_zk_multi_duration_seconds_sum', { outcome: 'ok' })).toBeCloseTo(0.0055, 6);
    expect(await value(metrics, 'duoraft_zk_multi_duration_seconds_bucket', { outcome: 'ok', le: '0.002' })).toBe(1);
    expect(await value(metrics, 'duoraft_zk_multi_duration_seconds_count', { outcome: 'error' })).toBe(1);
    expect(await value(metrics, 'duoraft_zk_multi_entries_sum')).toBe(43);
    expect(await value(metrics, 'duoraft_zk_multi_entries_bucket', { le: '4' })).toBe(1);
    expect(await value(metrics, 'duoraft_zk_multi_bytes_sum')).toBe(20_900);
  });

  it('times client operations by kind and outcome, and counts BUSY answers', async () => {
    const { metrics } = setup();
    metrics.clientOp('put', 2, 'OK');
    metrics.clientOp('put', 1, 'BUSY');
    metrics.clientOp('get_lease', 0.3, 'OK');
    metrics.clientOp('get_linearizable', 5, 'NOT_LEADER');
    expect(await value(metrics, 'duoraft_client_request_duration_seconds_count', { kind: 'put', code: 'OK' })).toBe(1);
    expect(await value(metrics, 'duoraft_client_request_duration_seconds_count', { kind: 'put', code: 'BUSY' })).toBe(1);
    expect(await value(metrics, 'duoraft_client_request_duration_seconds_count', { kind: 'get_linearizable', code: 'NOT_LEADER' })).toBe(1);
    expect(await value(metrics, 'duoraft_client_busy_total', { kind: 'put' })).toBe(1);
    expect(await value(metrics, 'duoraft_client_busy_total', { kind: 'delete' })).toBe(0);
    expect(await value(metrics, 'duoraft_client_busy_total', { kind: 'get_lease' })).toBeUndefined();
  });

  it('times fsyncs, counts lease lapses and refused peer messages', async () => {
    const { metrics } = setup();
    metrics.walSynced(0.8, true);
    metrics.walSynced(120, false);
    metrics.leaseLapsed();
    metrics.leaseLapsed();
    metrics.peerRefused('append', 'invalid');
    metrics.peerRefused('vote', 'sender');
    metrics.peerRefused('append', 'invalid');
    expect(await value(metrics, 'duoraft_wal_fsync_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'duoraft_wal_fsync_duration_seconds_bucket', { outcome: 'ok', le: '0.001' })).toBe(1);
    expect(await value(metrics, 'duoraft_wal_fsync_duration_seconds_count', { outcome: 'error' })).toBe(1);
    expect(await value(metrics, 'duoraft_lease_lapses_total')).toBe(2);
    expect(await value(metrics, 'duoraft_peer_messages_refused_total', { type: 'append', why: 'invalid' })).toBe(2);
    expect(await value(metrics, 'duoraft_peer_messages_refused_total', { type: 'vote', why: 'sender' })).toBe(1);
  });

  it('counts and times snapshots taken, publishes by outcome and installs by source; reads snapshot and budget figures', async () => {
    const { metrics, set } = setup();
    expect(await value(metrics, 'duoraft_snapshots_total', { outcome: 'failed' })).toBe(0);
    expect(await value(metrics, 'duoraft_snapshot_installs_total', { source: 'leader', outcome: 'ok' })).toBe(0);
    expect(await value(metrics, 'duoraft_snapshot_publish_duration_seconds_count', { outcome: 'over_budget' })).toBe(0);
    metrics.snapshotTaken({ ok: true, ms: 40, bytes: 5000, index: 100 });
    metrics.snapshotTaken({ ok: false, ms: 3, bytes: 0, index: 200 });
    metrics.snapshotPublished({ outcome: 'published', ms: 300 });
    metrics.snapshotPublished({ outcome: 'over_budget', ms: 20 });
    metrics.snapshotInstalled({ source: 'zookeeper', ok: true });
    metrics.snapshotInstalled({ source: 'leader', ok: false });
    expect(await value(metrics, 'duoraft_snapshots_total', { outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'duoraft_snapshots_total', { outcome: 'failed' })).toBe(1);
    expect(await value(metrics, 'duoraft_snapshot_duration_seconds_count')).toBe(1);
    expect(await value(metrics, 'duoraft_snapshot_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(await value(metrics, 'duoraft_snapshot_publish_duration_seconds_sum', { outcome: 'published' })).toBeCloseTo(0.3, 6);
    expect(await value(metrics, 'duoraft_snapshot_publish_duration_seconds_count', { outcome: 'over_budget' })).toBe(1);
    expect(await value(metrics, 'duoraft_snapshot_installs_total', { source: 'zookeeper', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'duoraft_snapshot_installs_total', { source: 'leader', outcome: 'failed' })).toBe(1);

    // Figures: the newest snapshot on every member; the budget only where it is counted (the leader).
    set({ snapshotIndex: 100, snapshotBytes: 5000 });
    expect(await value(metrics, 'duoraft_snapshot_index')).toBe(100);
    expect(await value(metrics, 'duoraft_snapshot_bytes')).toBe(5000);
    expect(await value(metrics, 'duoraft_zk_budget_limit_bytes')).toBe(0); // 0 where not counted (a follower)
    const zkBudget = { budgetBytes: 2048, usedBytes: 1500, walBytes: 500, snapshotBytes: 1000, over: true, mode: 'over' as const, reason: 'r', countedMsAgo: 5 };
    set({ role: 'leader', zkBudget });
    expect(await value(metrics, 'duoraft_zk_budget_used_bytes')).toBe(1500);
    expect(await value(metrics, 'duoraft_zk_budget_limit_bytes')).toBe(2048);
    expect(await value(metrics, 'duoraft_zk_budget_over')).toBe(1);
    expect(await value(metrics, 'duoraft_zk_budget_tight')).toBe(0);
    set({ role: 'leader', zkBudget: { ...zkBudget, over: false, mode: 'tight' } });
    expect(await value(metrics, 'duoraft_zk_budget_over')).toBe(0);
    expect(await value(metrics, 'duoraft_zk_budget_tight')).toBe(1);
  });

  it('follows the ZooKeeper session: its state, expiries and reconnects (not the first connect)', async () => {
    const { metrics } = setup();
    let listener: (s: ZkConnectionState) => void = () => undefined;
    const zk = {
      state: 'disconnected' as ZkConnectionState,
      onStateChange: (l: (s: ZkConnectionState) => void) => {
        listener = l;
        return () => {
          listener = () => undefined;
        };
      },
    };
    metrics.followZk(zk);
    expect(await value(metrics, 'duoraft_zk_session_state', { state: 'disconnected' })).toBe(1);
    listener('connected');
    expect(await value(metrics, 'duoraft_zk_session_state', { state: 'connected' })).toBe(1);
    expect(await value(metrics, 'duoraft_zk_session_state', { state: 'disconnected' })).toBe(0);
    expect(await value(metrics, 'duoraft_zk_reconnects_total')).toBe(0); // the first connect
    listener('disconnected');
    listener('expired');
    listener('connected');
    listener('disconnected');
    listener('connected');
    expect(await value(metrics, 'duoraft_zk_session_expiries_total')).toBe(1);
    expect(await value(metrics, 'duoraft_zk_reconnects_total')).toBe(2);
  });
});

describe('NodeMetrics: take-overs and their phases', () => {
  it('splits a failover into detect, lease wait, fence, replay and first commit, and times the whole from the last word of the old leader', async () => {
    const { clock, metrics } = setup();
    // Heard leader a last 45 ms before suspecting it at t=1000.
    clock.jump(1000);
    metrics.roleChanged(soft('follower', 3, 'a'), soft('precandidate', 3, 'a'), 45);
    clock.jump(1160); // its lease stayed quiet for the window
    metrics.roleChanged(soft('precandidate', 3, 'a'), soft('candidate', 3, ''), 0);
    clock.jump(1175);
    metrics.takeoverDone({ transfer: false, ok: true, fenceMs: 6, replayMs: 9 });
    metrics.roleChanged(soft('candidate', 3, ''), soft('leader', 4, 'b'), 0);
    clock.jump(1178);
    metrics.committedInTerm(3); // an older term's entry: not this term's first commit
    metrics.committedInTerm(4);
    clock.jump(1190);
    metrics.committedInTerm(4); // later commits change nothing

    const phase = (p: string): Promise<number | undefined> => value(metrics, 'duoraft_takeover_phase_duration_seconds_sum', { kind: 'failover', phase: p });
    expect(await phase('detect')).toBeCloseTo(0.045, 6);
    expect(await phase('lease_wait')).toBeCloseTo(0.16, 6);
    expect(await phase('fence')).toBeCloseTo(0.006, 6);
    expect(await phase('replay')).toBeCloseTo(0.009, 6);
    expect(await phase('first_commit')).toBeCloseTo(0.003, 6);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_count', { kind: 'failover' })).toBe(1);
    // From 955 (last word) to 1178 (first commit).
    expect(await value(metrics, 'duoraft_failover_duration_seconds_sum', { kind: 'failover' })).toBeCloseTo(0.223, 6);
    expect(await value(metrics, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })).toBe(1);
  });

  it('a transfer starts at the TimeoutNow and has no detect or lease wait', async () => {
    const { clock, metrics } = setup();
    clock.jump(500);
    metrics.roleChanged(soft('follower', 5, 'a'), soft('candidate', 5, ''), 2);
    clock.jump(512);
    metrics.takeoverDone({ transfer: true, ok: true, fenceMs: 5, replayMs: 7 });
    metrics.roleChanged(soft('candidate', 5, ''), soft('leader', 6, 'b'), 0);
    clock.jump(520);
    metrics.committedInTerm(6);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'transfer', phase: 'detect' })).toBe(0);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'transfer', phase: 'lease_wait' })).toBe(0);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_sum', { kind: 'transfer', phase: 'first_commit' })).toBeCloseTo(0.008, 6);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_sum', { kind: 'transfer' })).toBeCloseTo(0.02, 6);
    expect(await value(metrics, 'duoraft_takeovers_total', { kind: 'transfer', outcome: 'ok' })).toBe(1);
  });

  it('a transfer whose TimeoutNow beat the lease watch: its wait for ZooKeeper to confirm is its lease wait, and it starts at the TimeoutNow', async () => {
    const { clock, metrics } = setup();
    clock.jump(500);
    metrics.roleChanged(soft('follower', 5, 'a'), soft('precandidate', 5, 'a'), 2);
    clock.jump(503);
    metrics.roleChanged(soft('precandidate', 5, 'a'), soft('candidate', 5, ''), 5);
    clock.jump(515);
    metrics.takeoverDone({ transfer: true, ok: true, fenceMs: 5, replayMs: 7 });
    metrics.roleChanged(soft('candidate', 5, ''), soft('leader', 6, 'b'), 0);
    clock.jump(523);
    metrics.committedInTerm(6);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'transfer', phase: 'detect' })).toBe(0);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_sum', { kind: 'transfer', phase: 'lease_wait' })).toBeCloseTo(0.003, 6);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_sum', { kind: 'transfer' })).toBeCloseTo(0.023, 6);
  });

  it('counts a failed take-over, and one abandoned before its first commit adds no failover', async () => {
    const { clock, metrics } = setup();
    metrics.roleChanged(soft('follower', 3, 'a'), soft('precandidate', 3, 'a'), 30);
    metrics.roleChanged(soft('precandidate', 3, 'a'), soft('candidate', 3, ''), 0);
    metrics.takeoverDone({ transfer: false, ok: false, fenceMs: null, replayMs: null });
    metrics.roleChanged(soft('candidate', 3, ''), soft('follower', 4, 'a'), 0);
    expect(await value(metrics, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'failed' })).toBe(1);

    // Won, then deposed before the no-op committed.
    clock.jump(100);
    metrics.roleChanged(soft('follower', 4, 'a'), soft('precandidate', 4, 'a'), 30);
    metrics.roleChanged(soft('precandidate', 4, 'a'), soft('candidate', 4, ''), 0);
    metrics.takeoverDone({ transfer: false, ok: true, fenceMs: 1, replayMs: 1 });
    metrics.roleChanged(soft('candidate', 4, ''), soft('leader', 5, 'b'), 0);
    metrics.roleChanged(soft('leader', 5, 'b'), soft('follower', 6, 'a'), 0);
    metrics.committedInTerm(5);
    expect(await value(metrics, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_count', { kind: 'failover' })).toBe(0);
  });

  it('a suspicion that ends with the leader heard again measures nothing', async () => {
    const { metrics } = setup();
    metrics.roleChanged(soft('follower', 3, 'a'), soft('precandidate', 3, 'a'), 70);
    metrics.roleChanged(soft('precandidate', 3, 'a'), soft('follower', 3, 'a'), 0);
    metrics.committedInTerm(3);
    for (const kind of ['failover', 'transfer', 'election']) {
      for (const outcome of ['ok', 'failed']) expect(await value(metrics, 'duoraft_takeovers_total', { kind, outcome })).toBe(0);
      for (const phase of ['detect', 'lease_wait', 'fence', 'replay', 'first_commit']) {
        expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_count', { kind, phase })).toBe(0);
      }
    }
  });

  it('an election with no leader before it has no detect phase, and starts at the suspicion', async () => {
    const { clock, metrics } = setup();
    clock.jump(50);
    metrics.roleChanged(soft('follower', 0, ''), soft('precandidate', 0, ''), Number.POSITIVE_INFINITY);
    clock.jump(60);
    metrics.roleChanged(soft('precandidate', 0, ''), soft('candidate', 0, ''), Number.POSITIVE_INFINITY);
    metrics.takeoverDone({ transfer: false, ok: true, fenceMs: 3, replayMs: 1 });
    metrics.roleChanged(soft('candidate', 0, ''), soft('leader', 1, 'b'), Number.POSITIVE_INFINITY);
    clock.jump(70);
    metrics.committedInTerm(1);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'election', phase: 'detect' })).toBe(0);
    expect(await value(metrics, 'duoraft_takeover_phase_duration_seconds_sum', { kind: 'election', phase: 'lease_wait' })).toBeCloseTo(0.01, 6);
    expect(await value(metrics, 'duoraft_failover_duration_seconds_sum', { kind: 'election' })).toBeCloseTo(0.02, 6);
  });
});
