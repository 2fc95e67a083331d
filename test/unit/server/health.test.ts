// Health (src/server/health.ts, health-monitor.ts, health-service.ts): the rule that says
// when a member is SERVING, the monitor that tells watchers about flips, and the standard
// grpc.health.v1 service over real gRPC on loopback, answering without credentials on a
// server whose client-auth interceptor refuses every other unauthenticated call.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHealth } from '../../../src/client/health-check.js';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { kvHandlers } from '../../../src/server/client-handlers.js';
import { healthOf } from '../../../src/server/health.js';
import { HealthMonitor } from '../../../src/server/health-monitor.js';
import { HEALTH_SERVICE_PATH_PREFIX, HealthClient, healthHandlers, healthService, ServingStatus } from '../../../src/server/health-service.js';
import { KvClient, kvService } from '../../../src/server/kv-service.js';
import type { NodeFigures } from '../../../src/server/node-figures.js';
import { clientAuthInterceptor } from '../../../src/transport/server-security.js';
import { ManualClock } from './manual-clock.js';

const rules = { electionTimeoutMs: 60 };

const leader: NodeFigures = {
  role: 'leader',
  term: 4,
  leaderId: 'a',
  commitIndex: 10,
  appliedIndex: 10,
  lastIndex: 10,
  pendingProposals: 0,
  mirrorBacklog: 0,
  leaseHolds: true,
  committedInTerm: true,
  transferring: false,
  leaderContactAgeMs: Number.POSITIVE_INFINITY,
  zkConnected: true,
  commitHeld: false,
  stopped: false,
  fatalReason: null,
  snapshotIndex: 0,
  snapshotBytes: 0,
  zkBudget: null,
};
const follower: NodeFigures = { ...leader, role: 'follower', leaderId: 'a', leaseHolds: false, committedInTerm: false, leaderContactAgeMs: 15 };

describe('healthOf', () => {
  it('a leader serves only with a valid lease, its no-op committed, and not handing over', () => {
    expect(healthOf(leader, rules)).toMatchObject({ serving: true });
    expect(healthOf({ ...leader, leaseHolds: false }, rules)).toMatchObject({ serving: false, reason: expect.stringContaining('lease') });
    expect(healthOf({ ...leader, committedInTerm: false }, rules)).toMatchObject({ serving: false, reason: expect.stringContaining('no-op') });
    expect(healthOf({ ...leader, transferring: true }, rules)).toMatchObject({ serving: false });
  });

  it('a follower serves only while it hears a leader within the election timeout and is connected to ZooKeeper', () => {
    expect(healthOf(follower, rules)).toMatchObject({ serving: true });
    expect(healthOf({ ...follower, leaderContactAgeMs: 60 }, rules)).toMatchObject({ serving: true });
    expect(healthOf({ ...follower, leaderContactAgeMs: 61 }, rules)).toMatchObject({ serving: false, reason: expect.stringContaining('61 ms') });
    expect(healthOf({ ...follower, leaderContactAgeMs: Number.POSITIVE_INFINITY }, rules)).toMatchObject({ serving: false });
    expect(healthOf({ ...follower, leaderId: '' }, rules)).toMatchObject({ serving: false });
    expect(healthOf({ ...follower, zkConnected: false }, rules)).toMatchObject({ serving: false, reason: expect.stringContaining('ZooKeeper') });
  });

  it('starting, suspecting, taking over, stopped and diverged are not serving', () => {
    expect(healthOf(null, rules)).toEqual({ serving: false, reason: 'starting' });
    expect(healthOf({ ...follower, role: 'precandidate' }, rules)).toMatchObject({ serving: false });
    expect(healthOf({ ...follower, role: 'candidate' }, rules)).toMatchObject({ serving: false });
    expect(healthOf({ ...leader, stopped: true }, rules)).toMatchObject({ serving: false });
    expect(healthOf({ ...follower, stopped: true, fatalReason: 'diverged at 7' }, rules)).toMatchObject({ serving: false, reason: expect.stringContaining('diverged') });
  });
});

describe('HealthMonitor', () => {
  it('tells watchers the verdict at once and at each flip only, bounds them, and ends them on stop', () => {
    const clock = new ManualClock();
    let figures: NodeFigures | null = null;
    const monitor = new HealthMonitor({ figures: () => figures, rules, clock, logger: silentLogger, intervalMs: 50, maxWatchers: 2 });
    monitor.start();
    const seen: boolean[] = [];
    let ended = 0;
    const w = { update: (v: { serving: boolean }) => seen.push(v.serving), end: () => ended++ };
    const unwatch = monitor.watch(w);
    expect(unwatch).not.toBeNull();
    expect(monitor.watch({ update: () => undefined, end: () => ended++ })).not.toBeNull();
    expect(monitor.watch({ update: () => undefined, end: () => undefined })).toBeNull();
    figures = leader;
    clock.jump(clock.now() + 50);
    figures = { ...leader, pendingProposals: 3 }; // still serving: no flip
    clock.jump(clock.now() + 50);
    figures = { ...leader, leaseHolds: false };
    clock.jump(clock.now() + 50);
    expect(seen).toEqual([false, true, false]);
    expect(monitor.current().serving).toBe(false);
    unwatch!();
    figures = leader;
    clock.jump(clock.now() + 50);
    expect(seen).toEqual([false, true, false]);
    monitor.stop();
    expect(ended).toBe(1); // the one still watching
  });
});

describe('the grpc.health.v1 service', () => {
  let server: grpc.Server | null = null;
  const clients: grpc.Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    if (server) await new Promise<void>((resolve) => server!.tryShutdown(() => resolve()));
    server = null;
  });

  /** A server with the health service over `figures`, and the client service behind a token check. */
  async function serve(figures: () => NodeFigures | null): Promise<{ address: string; monitor: HealthMonitor }> {
    const monitor = new HealthMonitor({ figures, rules, clock: realClock, logger: silentLogger, intervalMs: 10, maxWatchers: 4 });
    monitor.start();
    const auth = clientAuthInterceptor({ certificates: false, token: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', openPaths: [HEALTH_SERVICE_PATH_PREFIX] }, silentLogger, realClock);
    server = new grpc.Server({ interceptors: [auth!] });
    server.addService(healthService, healthHandlers(monitor));
    server.addService(kvService, kvHandlers({ current: null }, silentLogger, realClock));
    const port = await new Promise<number>((resolve, reject) => {
      server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    return { address: `127.0.0.1:${port}`, monitor };
  }

  it('Check answers SERVING or NOT_SERVING without credentials (other calls are refused), and NOT_FOUND for an unknown service', async () => {
    let figures: NodeFigures | null = leader;
    const { address, monitor } = await serve(() => figures);
    const ask = (service = '') => checkHealth({ address, service, cluster: 'c', deadlineMs: 2000, security: {} });
    expect(await ask()).toBe('SERVING');
    expect(await ask('duoraft.client.Kv')).toBe('SERVING');
    figures = { ...leader, leaseHolds: false };
    expect(await ask()).toBe('NOT_SERVING');
    await expect(ask('nope')).rejects.toThrow(/knows no service "nope"/);

    // The client service behind the same interceptor refuses the same caller.
    const kv = new KvClient(address, grpc.credentials.createInsecure());
    clients.push(kv);
    const code = await new Promise<number | undefined>((resolve) => {
      const m = kvService.status;
      kv.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, { deadline: Date.now() + 2000 }, (err) => resolve(err?.code));
    });
    expect(code).toBe(grpc.status.UNAUTHENTICATED);
    monitor.stop();
  });

  it('Watch sends the status now and at each flip, and ends when the monitor stops', async () => {
    let figures: NodeFigures | null = null;
    const { address, monitor } = await serve(() => figures);
    const client = new HealthClient(address, grpc.credentials.createInsecure());
    clients.push(client);
    const m = healthService.watch;
    const stream = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { service: '' }, {});
    const statuses: number[] = [];
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
    const next = (n: number) =>
      new Promise<void>((resolve) => {
        const look = (): void => {
          if (statuses.length >= n) resolve();
          else setTimeout(look, 5);
        };
        look();
      });
    stream.on('data', (r: { status: number }) => statuses.push(r.status));
    await next(1);
    figures = follower;
    await next(2);
    figures = { ...follower, zkConnected: false };
    await next(3);
    monitor.stop();
    await ended;
    expect(statuses).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
});
