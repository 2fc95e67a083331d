// Issue 14, parts 1 and 2, with real `duoraft node` processes and a real ZooKeeper:
// - /metrics (--metrics HOST:PORT) answers with the named series, and they move: the
//   commit index under writes, the term and the failovers count after a SIGKILL of the
//   leader, with the take-over's phases;
// - the gRPC health service says NOT_SERVING on a leader whose lease lapsed (cut from
//   ZooKeeper) and on a follower that hears no leader (peer link cut), SERVING again once
//   healed;
// - `duoraft health` exits 0 only when SERVING, prints one line, and 1 when unreachable.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuoraftClient } from '../../src/client/client.js';
import { checkHealth, type HealthStatus } from '../../src/client/health-check.js';
import { freePorts } from '../../src/harness/free-port.js';
import { ProcessCluster, duoraftBin } from '../../src/harness/process-cluster.js';
import { sampleValue, scrapeMetrics } from '../../src/harness/prometheus-text.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;
let cluster: ProcessCluster;
let c: DuoraftClient;
const cname = uniqueCluster('metrics');
const metricsAt = new Map<string, string>();

beforeAll(async () => {
  zk = await startZooKeeper();
  const ports = await freePorts(2);
  metricsAt.set('a', `127.0.0.1:${ports[0]}`);
  metricsAt.set('b', `127.0.0.1:${ports[1]}`);
  cluster = await ProcessCluster.start({
    zk: zk.connectString,
    cluster: cname,
    peerProxies: true,
    zkProxies: true,
    nodeArgsFor: (id) => ['--metrics', metricsAt.get(id)!],
  });
  c = await client(zk.connectString, cname);
});

afterAll(async () => {
  await c?.close();
  await cluster?.stop();
  await zk?.stop();
});

/** One sample of node `id`'s /metrics. */
async function metric(id: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(await scrapeMetrics(metricsAt.get(id)!), name, labels);
}

function health(id: string): Promise<HealthStatus> {
  return checkHealth({ address: cluster.node(id).address, service: '', cluster: cname, deadlineMs: 1000, security: {} });
}

/** Polls `id`'s health until it is `want` (bounded); returns how long that took. */
async function healthBecomes(id: string, want: HealthStatus, withinMs: number): Promise<number> {
  const start = Date.now();
  let last: string = '';
  while (Date.now() - start < withinMs) {
    last = await health(id).catch((e: Error) => e.message);
    if (last === want) return Date.now() - start;
    await sleep(20);
  }
  throw new Error(`${id} did not become ${want} within ${withinMs} ms (last: ${last})`);
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [duoraftBin, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('metrics and health of a running cluster', () => {
  it('/metrics answers with the named series, and the commit index and client latencies move under writes', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const follower = cluster.ids().find((id) => id !== leader)!;
    const text = await scrapeMetrics(metricsAt.get(leader)!);
    for (const name of [
      'duoraft_role',
      'duoraft_term',
      'duoraft_commit_index',
      'duoraft_applied_index',
      'duoraft_pending_proposals',
      'duoraft_serving',
      'duoraft_zk_multi_duration_seconds',
      'duoraft_zk_multi_entries',
      'duoraft_client_request_duration_seconds',
      'duoraft_client_busy_total',
      'duoraft_takeovers_total',
      'duoraft_failover_duration_seconds',
      'duoraft_takeover_phase_duration_seconds',
      'duoraft_wal_fsync_duration_seconds',
      'duoraft_zk_session_state',
      'duoraft_zk_session_expiries_total',
      'duoraft_zk_reconnects_total',
      'duoraft_peer_messages_refused_total',
      'process_cpu_seconds_total',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(sampleValue(text, 'duoraft_role', { role: 'leader', node: leader, cluster: cname })).toBe(1);
    expect(await metric(follower, 'duoraft_role', { role: 'follower' })).toBe(1);
    expect(sampleValue(text, 'duoraft_zk_session_state', { state: 'connected' })).toBe(1);
    expect(sampleValue(text, 'duoraft_serving')).toBe(1);

    const commitBefore = sampleValue(text, 'duoraft_commit_index')!;
    const putsBefore = sampleValue(text, 'duoraft_client_request_duration_seconds_count', { kind: 'put', code: 'OK' }) ?? 0;
    const multisBefore = sampleValue(text, 'duoraft_zk_multi_duration_seconds_count', { outcome: 'ok' }) ?? 0;
    for (let i = 0; i < 20; i++) await c.put(`m-${i}`, 'v');
    expect(await metric(leader, 'duoraft_commit_index')).toBeGreaterThanOrEqual(commitBefore + 20);
    expect(await metric(leader, 'duoraft_client_request_duration_seconds_count', { kind: 'put', code: 'OK' })).toBeGreaterThanOrEqual(putsBefore + 20);
    expect(await metric(leader, 'duoraft_zk_multi_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(multisBefore);
    await cluster.waitForApplied(commitBefore + 20, 5000);
    expect(await metric(follower, 'duoraft_applied_index')).toBeGreaterThanOrEqual(commitBefore + 20);
    expect(await metric(follower, 'duoraft_wal_fsync_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);

    // Anything but /metrics is not found.
    const other = await fetch(`http://${metricsAt.get(leader)}/`);
    expect(other.status).toBe(404);
  });

  it('after a SIGKILL of the leader the new leader counts the failover, its phases, and a higher term; `duoraft health` says so', async () => {
    const old = await cluster.waitForLeader(10_000);
    const next = cluster.ids().find((id) => id !== old)!;
    const termBefore = (await metric(next, 'duoraft_term'))!;
    const failoversBefore = (await metric(next, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })) ?? 0;
    await cluster.kill(old);
    expect(await cluster.waitForLeader(10_000, { not: old })).toBe(next);
    await c.put('after-failover', 'v');

    const text = await scrapeMetrics(metricsAt.get(next)!);
    expect(sampleValue(text, 'duoraft_term')).toBeGreaterThan(termBefore);
    expect(sampleValue(text, 'duoraft_role', { role: 'leader' })).toBe(1);
    expect(sampleValue(text, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })).toBe(failoversBefore + 1);
    expect(sampleValue(text, 'duoraft_failover_duration_seconds_count', { kind: 'failover' })).toBeGreaterThanOrEqual(1);
    for (const phase of ['detect', 'lease_wait', 'fence', 'replay', 'first_commit']) {
      expect(sampleValue(text, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'failover', phase }), phase).toBeGreaterThanOrEqual(1);
    }

    // The CLI: SERVING and exit 0 at the new leader; one line on stderr and exit 1 at the dead one.
    const serving = await cli(['health', '--address', cluster.node(next).address, '--cluster', cname]);
    expect(serving).toMatchObject({ code: 0, stdout: 'SERVING\n' });
    const dead = await cli(['health', '--address', cluster.node(old).address, '--timeout', '500', '--json']);
    expect(dead.code).toBe(1);
    expect(dead.stdout).toBe('');
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/^duoraft: (UNAVAILABLE|TIMEOUT): /);

    // Restarted, the old leader follows and serves again.
    cluster.startNode(old);
    await healthBecomes(old, 'SERVING', 15_000);
    expect(await metric(old, 'duoraft_role', { role: 'follower' })).toBe(1);
  });

  it('a leader whose lease lapsed (cut from ZooKeeper) is NOT_SERVING, and serves again as a follower once healed', async () => {
    const old = await cluster.waitForLeader(10_000);
    const other = cluster.ids().find((id) => id !== old)!;
    await healthBecomes(other, 'SERVING', 5000);
    const lapsesBefore = (await metric(old, 'duoraft_lease_lapses_total')) ?? 0;
    expect(await health(old)).toBe('SERVING');
    cluster.cutZk(old, 'reset');
    try {
      // The lease lasts 110 ms after its last touch; the check polls every 20 ms.
      await healthBecomes(old, 'NOT_SERVING', 3000);
      expect(await metric(old, 'duoraft_lease_lapses_total')).toBe(lapsesBefore + 1);
      expect(await metric(old, 'duoraft_zk_session_state', { state: 'connected' })).toBe(0);
      expect(await cluster.waitForLeader(10_000, { not: old })).toBe(other);
      expect(await health(other)).toBe('SERVING');
    } finally {
      cluster.healZk(old);
    }
    await healthBecomes(old, 'SERVING', 15_000);
    expect(await metric(old, 'duoraft_role', { role: 'follower' })).toBe(1);
    expect(await metric(old, 'duoraft_zk_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('a follower that hears no leader (peer link cut) is NOT_SERVING while the leader serves on; `duoraft health` exits 1 there', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const follower = cluster.ids().find((id) => id !== leader)!;
    await healthBecomes(follower, 'SERVING', 5000);
    cluster.cutPeerLinks('reset');
    try {
      await healthBecomes(follower, 'NOT_SERVING', 3000);
      expect(await health(leader)).toBe('SERVING');
      const run = await cli(['health', '--address', cluster.node(follower).address, '--service', 'duoraft.client.Kv']);
      expect(run).toMatchObject({ code: 1, stdout: 'NOT_SERVING\n', stderr: '' });
    } finally {
      cluster.healPeerLinks();
    }
    await healthBecomes(follower, 'SERVING', 10_000);
  });

  it('`duoraft health` refuses a bad address before asking anything', async () => {
    const run = await cli(['health', '--address', '::1:7001']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--address .*IPv6 host goes in brackets/);
  });
});
