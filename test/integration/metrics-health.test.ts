// Issue 14, parts 1 and 2, with real `duoraft node` processes and a real ZooKeeper:
// - /metrics (--metrics HOST:PORT) answers with the named series, and they move: the
//   commit index under writes, the term and the failovers count after a SIGKILL of the
//   leader, with the take-over's phases;
// - the gRPC health service says NOT_SERVING on a leader whose lease lapsed (cut from
//   ZooKeeper) and on a follower that hears no leader (peer link cut), SERVING again once
//   healed;
// - `duoraft health` exits 0 only when SERVING, prints one line, and 1 when unreachable;
// - on a cluster with TLS and client authentication, health answers a caller that has the
//   CA but no credentials, while the client service refuses that caller.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuoraftClient } from '../../src/client/client.js';
import { checkHealth, type HealthStatus } from '../../src/client/health-check.js';
import { ProcessCluster, duoraftBin } from '../../src/harness/process-cluster.js';
import { sampleValue, scrapeMetrics } from '../../src/harness/prometheus-text.js';
import { makeTestCertificates } from '../../src/harness/test-certificates.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { KvClient, kvService } from '../../src/server/kv-service.js';
import { memberChannelSecurity } from '../../src/transport/channel-security.js';
import { client, sleep, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;
let cluster: ProcessCluster;
let c: DuoraftClient;
const cname = uniqueCluster('metrics');
/**
 * Where each node serves /metrics, from its 'serving metrics' log line: each process binds
 * port 0. A port taken beforehand (freePorts) could be taken by another test's process
 * before the node bound it, and then the node did not start (the full run's ECONNREFUSED).
 */
const metricsAt = new Map<string, string>();

beforeAll(async () => {
  zk = await startZooKeeper();
  cluster = await ProcessCluster.start({
    zk: zk.connectString,
    cluster: cname,
    peerProxies: true,
    zkProxies: true,
    nodeArgsFor: () => ['--metrics', '127.0.0.1:0'],
    onLine: (id, line) => {
      const served = /"metrics":"http:\/\/([^/"]+)\/metrics"/.exec(line);
      if (served) metricsAt.set(id, served[1]!);
    },
  });
  const deadline = Date.now() + 10_000;
  while (metricsAt.size < 2 && Date.now() < deadline) await sleep(50);
  c = await client(zk.connectString, cname);
});

/**
 * Node `id`'s /metrics text. A restarted node serves on a new port, known once its log line
 * comes: a refused connection is tried again, for a bounded time.
 */
async function scrape(id: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const at = metricsAt.get(id);
    try {
      if (at === undefined) throw new Error(`node ${id} has not said where it serves metrics; ${await whyNot(id)}`);
      return await scrapeMetrics(at);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** What the node's process did (running or its exit, and its last log lines), for a failure's message. */
async function whyNot(id: string): Promise<string> {
  const running = cluster.running(id);
  const exit = running ? null : await cluster.exitOf(id, 100);
  const tail = await readFile(cluster.node(id).logFile, 'utf8').then(
    (t) => t.trim().split('\n').slice(-8).join('\n'),
    (err: Error) => `(no log: ${err.message})`,
  );
  return `its process is ${running ? 'running' : `not running (exit ${JSON.stringify(exit)})`}; the end of its log:\n${tail}`;
}

afterAll(async () => {
  await c?.close();
  await cluster?.stop();
  await zk?.stop();
});

/** One sample of node `id`'s /metrics. */
async function metric(id: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(await scrape(id), name, labels);
}

/** Polls node `id`'s /metrics until the sample `name` is `want` (bounded). */
async function metricBecomes(id: string, name: string, want: number, withinMs: number): Promise<void> {
  const start = Date.now();
  let last: number | undefined;
  while (Date.now() - start < withinMs) {
    last = await metric(id, name);
    if (last === want) return;
    await sleep(20);
  }
  throw new Error(`${name} of ${id} did not become ${want} within ${withinMs} ms (last: ${last})`);
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

/**
 * `duoraft health ARGS` until it says SERVING (at most 3 runs): a leader's lease may lapse
 * for a moment on its own on a busy machine, and health then honestly says NOT_SERVING.
 * Every run must print one line and exit 0 exactly when that line is SERVING.
 */
async function cliUntilServing(args: readonly string[]): Promise<Run> {
  let run: Run | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    run = await cli(['health', ...args]);
    expect(run.stdout === 'SERVING\n' ? 0 : 1).toBe(run.code);
    expect(run.stdout + run.stderr).toMatch(/^[^\n]+\n$/);
    if (run.code === 0) break;
    await sleep(100);
  }
  return run!;
}

describe('metrics and health of a running cluster', () => {
  it('/metrics answers with the named series, and the commit index and client latencies move under writes', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const follower = cluster.ids().find((id) => id !== leader)!;
    const text = await scrape(leader);
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
    await metricBecomes(leader, 'duoraft_serving', 1, 3000); // polled: see cliUntilServing

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

    const text = await scrape(next);
    expect(sampleValue(text, 'duoraft_term')).toBeGreaterThan(termBefore);
    expect(sampleValue(text, 'duoraft_role', { role: 'leader' })).toBe(1);
    expect(sampleValue(text, 'duoraft_takeovers_total', { kind: 'failover', outcome: 'ok' })).toBe(failoversBefore + 1);
    expect(sampleValue(text, 'duoraft_failover_duration_seconds_count', { kind: 'failover' })).toBeGreaterThanOrEqual(1);
    for (const phase of ['detect', 'lease_wait', 'fence', 'replay', 'first_commit']) {
      expect(sampleValue(text, 'duoraft_takeover_phase_duration_seconds_count', { kind: 'failover', phase }), phase).toBeGreaterThanOrEqual(1);
    }

    // The CLI: SERVING and exit 0 at the new leader; one line on stderr and exit 1 at the dead one.
    const serving = await cliUntilServing(['--address', cluster.node(next).address, '--cluster', cname]);
    expect(serving).toMatchObject({ code: 0, stdout: 'SERVING\n', stderr: '' });
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
    // On a busy machine a leader's lease can lapse for a moment on its own (a ZooKeeper
    // round trip slower than the 50 ms lease): health says so too. Start from SERVING.
    await healthBecomes(old, 'SERVING', 5000);
    const lapsesBefore = (await metric(old, 'duoraft_lease_lapses_total')) ?? 0;
    cluster.cutZk(old, 'reset');
    try {
      // The lease lasts 50 ms after its last touch; the check polls every 20 ms.
      await healthBecomes(old, 'NOT_SERVING', 3000);
      expect(await metric(old, 'duoraft_lease_lapses_total')).toBeGreaterThan(lapsesBefore);
      expect(await metric(old, 'duoraft_zk_session_state', { state: 'connected' })).toBe(0);
      expect(await cluster.waitForLeader(10_000, { not: old })).toBe(other);
      await healthBecomes(other, 'SERVING', 5000);
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
      // The leader keeps its lease and serves on (polled: a busy machine may lapse it for a moment).
      await healthBecomes(leader, 'SERVING', 3000);
      expect(await metric(leader, 'duoraft_role', { role: 'leader' })).toBe(1);
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

describe('health on a cluster with TLS and client authentication', () => {
  it('answers a caller with the CA and no credentials (exit 0), while the client service refuses that caller', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duoraft-health-tls-'));
    const tlsName = uniqueCluster('health-tls');
    let one: ProcessCluster | null = null;
    try {
      const certs = await makeTestCertificates({ dir: join(dir, 'tls'), cluster: tlsName, voters: ['a'] });
      const token = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, token, { mode: 0o600 });
      const ca = await readFile(certs.ca);
      one = await ProcessCluster.start({
        zk: zk.connectString,
        cluster: tlsName,
        ids: ['a'],
        nodeArgsFor: (id) => ['--tls-ca', certs.ca, '--tls-cert', certs.voters.get(id)!.cert, '--tls-key', certs.voters.get(id)!.key, '--token-file', tokenFile],
        clientSecurity: { tls: { ca }, token },
      });
      const address = one.node('a').address;
      const ok = await cliUntilServing(['--address', address, '--cluster', tlsName, '--tls-ca', certs.ca]);
      expect(ok).toMatchObject({ code: 0, stdout: 'SERVING\n', stderr: '' });
      // Without TLS the member cannot be asked at all, and says why.
      const plain = await cli(['health', '--address', address, '--cluster', tlsName]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/^duoraft: CONFIG: the member at .* requires TLS/);
      // The same caller (CA, no certificate, no token) gets nothing from the client service.
      const security = memberChannelSecurity(tlsName, { tls: { ca } }, address);
      const kv = new KvClient(address, security.credentials, security.options);
      try {
        const code = await new Promise<number | undefined>((resolve) => {
          const m = kvService.status;
          kv.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, { deadline: Date.now() + 3000 }, (err) => resolve(err?.code));
        });
        expect(code).toBe(grpc.status.UNAUTHENTICATED);
      } finally {
        kv.close();
      }
    } finally {
      await one?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
