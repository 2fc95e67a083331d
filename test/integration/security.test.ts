// Issue 11 part 1 (authenticated transport) and part 3 (ZooKeeper credentials for every
// client, a secured tree), with real `duoraft node` processes, a real ZooKeeper and
// certificates made by openssl:
// - a TLS cluster serves only callers with a client certificate signed by its CA or the
//   cluster token, refuses plaintext, and refuses forged peer messages from a process
//   without the voter certificate; the library and the CLI take the same options, and a
//   SIGKILL failover still works;
// - on a cluster started with ZooKeeper credentials, status/put/get work from the CLI and
//   the library given the credentials (flags or env), and fail at once, clearly, without;
//   a world-writable /duoraft is reported with its fix, and `duoraft admin secure-zk`
//   applies it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions, type DuoraftClient } from '../../src/client/client.js';
import { DuoraftError } from '../../src/common/errors.js';
import { ZK_PERMS } from '../../src/coordination/zk-acl.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { ProcessCluster, duoraftBin } from '../../src/harness/process-cluster.js';
import { makeTestCertificates, readCertificateFiles, type TestCertificates } from '../../src/harness/test-certificates.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { KvClient, kvService } from '../../src/server/kv-service.js';
import { PeerClient, peerService } from '../../src/transport/peer-service.js';
import { Writer, missingKeys, sleep } from './helpers.js';

let zk: LocalZooKeeper;
let dir: string;

beforeAll(async () => {
  zk = await startZooKeeper();
  dir = await mkdtemp(join(tmpdir(), 'duoraft-security-'));
});

afterAll(async () => {
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One CLI command, with extra environment variables. */
function cli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [duoraftBin, ...args], { timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The error `p` rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<DuoraftError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DuoraftError) return err;
    throw err;
  }
  throw new Error('expected a failure, got success');
}

describe('a cluster with TLS, mutual TLS between the voters and client authentication', () => {
  const cluster = `tls-${process.pid}`;
  const token = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  let certs: TestCertificates;
  let ca: Buffer;
  let alice: { cert: Buffer; key: Buffer };
  let tokenFile: string;
  let nodes: ProcessCluster;
  const clients: DuoraftClient[] = [];

  const open = async (o: Partial<ConnectOptions>): Promise<DuoraftClient> => {
    const c = await connect({ zk: zk.connectString, cluster, deadlineMs: 15_000, ...o });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    certs = await makeTestCertificates({ dir: join(dir, 'tls'), cluster, voters: ['a', 'b'], clients: ['alice'], rogueVoters: ['a'] });
    ca = await readFile(certs.ca);
    alice = await readCertificateFiles(certs.clients.get('alice')!);
    tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    nodes = await ProcessCluster.start({
      zk: zk.connectString,
      cluster,
      nodeArgsFor: (id) => ['--tls-ca', certs.ca, '--tls-cert', certs.voters.get(id)!.cert, '--tls-key', certs.voters.get(id)!.key, '--token-file', tokenFile],
      clientSecurity: { tls: { ca }, token },
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await nodes?.stop();
  });

  it('serves a client with a certificate signed by the cluster CA, or with the token', async () => {
    const byCert = await open({ tls: { ca, ...alice } });
    await byCert.put('k1', 'by certificate');
    const byToken = await open({ tls: { ca }, token });
    expect(new TextDecoder().decode((await byToken.get('k1')).value)).toBe('by certificate');
    await byToken.put('k2', 'by token');
    expect(new TextDecoder().decode((await byCert.get('k2')).value)).toBe('by token');
    const status = await byToken.status();
    expect(status.map((m) => m.role).sort()).toEqual(['follower', 'leader']);
  });

  it('refuses every call of a client without credentials or with a wrong token: UNAUTHENTICATED, at once', async () => {
    const none = await open({ tls: { ca } });
    const wrong = await open({ tls: { ca }, token: 'not-the-cluster-token-0123456789' });
    for (const c of [none, wrong]) {
      const calls = [() => c.put('x', 'y'), () => c.get('k1'), () => c.del('k1'), () => c.incr('n'), () => c.cas('k1', 'a', 'b'), () => c.status(), () => c.transferLeadership()];
      for (const call of calls) {
        const err = await failure(call());
        expect(err.code).toBe('UNAUTHENTICATED');
        expect(err.retryable).toBe(false);
      }
    }
    // A certificate from a CA the cluster does not trust is no credential either: the
    // library refuses to use it, and a member refuses a caller that presents it.
    const rogue = await readCertificateFiles(certs.rogue!.voters.get('a')!);
    expect(await failure(open({ tls: { ca, ...rogue } }))).toMatchObject({ code: 'CONFIG', message: expect.stringContaining('not signed by the CA') as unknown });
    const raw = new KvClient(nodes.node('a').address, grpc.credentials.createSsl(ca, rogue.key, rogue.cert, { checkServerIdentity: () => undefined }), {
      'grpc.ssl_target_name_override': 'duoraft-member',
    });
    const def = kvService.status;
    const code = await new Promise<number>((resolve) => raw.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, { deadline: Date.now() + 3000 }, (e) => resolve(e?.code ?? 0)));
    raw.close();
    expect(code).toBe(grpc.status.UNAUTHENTICATED);
    // Nothing was written by any of them.
    const reader = await open({ tls: { ca }, token });
    expect((await reader.get('x')).found).toBe(false);
    expect(new TextDecoder().decode((await reader.get('k1')).value)).toBe('by certificate');
  });

  it('refuses plaintext: the library says the cluster requires TLS, a raw plaintext call never gets service', async () => {
    const plain = await open({});
    const err = await failure(plain.put('plain', 'text'));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toMatch(/requires TLS/);
    const raw = new KvClient(nodes.node('a').address, grpc.credentials.createInsecure());
    const def = kvService.put;
    const code = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { key: 'plain', value: new Uint8Array([1]) }, { deadline: Date.now() + 3000 }, (e) => resolve(e?.code ?? 0)),
    );
    raw.close();
    expect(code).toBe(grpc.status.UNAVAILABLE);
    const reader = await open({ tls: { ca }, token });
    expect((await reader.get('plain')).found).toBe(false);
  });

  it('refuses forged peer messages from a process without the voter certificate; the follower\'s term does not move', async () => {
    const leader = await nodes.waitForLeader(10_000);
    const follower = nodes.ids().find((id) => id !== leader)!;
    const before = (await nodes.memberStatus(follower))!;
    const forge = async (credentials: grpc.ChannelCredentials): Promise<number> => {
      const client = new PeerClient(nodes.node(follower).address, credentials, { 'grpc.ssl_target_name_override': 'duoraft-member' });
      const def = peerService.heartbeat;
      const request = { cluster, from: leader, to: follower, term: before.term + 5, commit: before.commitIndex + 100 };
      return new Promise<number>((resolve) =>
        client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 3000 }, (e) => {
          client.close();
          resolve(e?.code ?? 0);
        }),
      );
    };
    const trusting = (cert?: { cert: Buffer; key: Buffer }): grpc.ChannelCredentials =>
      grpc.credentials.createSsl(ca, cert?.key ?? null, cert?.cert ?? null, { checkServerIdentity: () => undefined });
    expect(await forge(grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
    expect(await forge(trusting())).toBe(grpc.status.UNAUTHENTICATED);
    expect(await forge(trusting(await readCertificateFiles(certs.rogue!.voters.get('a')!)))).toBe(grpc.status.UNAUTHENTICATED);
    // A client certificate is signed by the CA, but names no voter.
    expect(await forge(trusting(alice))).toBe(grpc.status.PERMISSION_DENIED);
    const after = (await nodes.memberStatus(follower))!;
    expect(after.term).toBe(before.term);
    expect(after.role).toBe('follower');
    expect(after.leaderId).toBe(leader);
  });

  it('the CLI takes the same options, as flags or environment variables', async () => {
    const plain = await cli(['put', 'cli', 'v', '--zk', zk.connectString, '--cluster', cluster]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^duoraft: CONFIG: .*requires TLS/);
    const noToken = await cli(['status', '--zk', zk.connectString, '--cluster', cluster, '--tls-ca', certs.ca]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^duoraft: UNAUTHENTICATED: /);
    const put = await cli(['put', 'cli', 'by flags', '--zk', zk.connectString, '--cluster', cluster, '--tls-ca', certs.ca, '--token-file', tokenFile]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const env = { DUORAFT_ZK: zk.connectString, DUORAFT_CLUSTER: cluster, DUORAFT_TLS_CA: certs.ca, DUORAFT_TLS_CERT: certs.clients.get('alice')!.cert, DUORAFT_TLS_KEY: certs.clients.get('alice')!.key };
    const get = await cli(['get', 'cli'], env);
    // To a pipe, get writes the value's bytes exactly (no newline added).
    expect(get.stdout).toBe('by flags');
    const status = await cli(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as Array<{ role: string }>).map((m) => m.role).sort()).toEqual(['follower', 'leader']);
  });

  it('a SIGKILL of the leader fails over under writes, nothing acknowledged lost', async () => {
    const c = await open({ tls: { ca }, token });
    const old = await nodes.waitForLeader(10_000);
    const writer = new Writer(c, 'fo');
    await sleep(300);
    await nodes.kill(old);
    const next = await nodes.waitForLeader(10_000, { not: old });
    expect(next).not.toBe(old);
    await sleep(300);
    const report = await writer.stop();
    expect(report.acked.length).toBeGreaterThan(0);
    expect(await missingKeys(c, report.acked)).toEqual([]);
    // The old leader comes back as a follower over mutual TLS.
    nodes.startNode(old);
    await nodes.waitForApplied((await c.put('after', 'restart')).index, 15_000);
  });
});

describe('a cluster with ZooKeeper credentials', () => {
  const cluster = `zkauth-${process.pid}`;
  const chroot = `/zkauth-${process.pid}`;
  const user = 'duoraft-test';
  const password = 'secret-for-tests';
  let connectString: string;
  let nodes: ProcessCluster;

  beforeAll(async () => {
    connectString = `${zk.connectString}${chroot}`;
    // As a cluster without credentials leaves it: a world-writable /duoraft.
    const admin = connectZk({ connectString: zk.connectString });
    await admin.waitConnected(5000);
    await admin.create(chroot, new Uint8Array(0), 'persistent');
    await admin.create(`${chroot}/duoraft`, new Uint8Array(0), 'persistent');
    await admin.close();
    nodes = await ProcessCluster.start({ zk: connectString, cluster, nodeArgs: ['--zk-user', user, '--zk-password', password] });
  });

  afterAll(async () => {
    await nodes?.stop();
  });

  it('reports the world-writable /duoraft with what to run', async () => {
    const deadline = Date.now() + 5000;
    let log = '';
    while (Date.now() < deadline && !log.includes('world-writable')) {
      await sleep(50);
      log = await readFile(nodes.node('a').logFile, 'utf8');
    }
    expect(log).toMatch(/ZooKeeper znodes \/duoraft are world-writable.*duoraft admin secure-zk/);
  });

  it('the library without the credentials fails at connect with UNAUTHENTICATED; with them it works', async () => {
    const err = await failure(connect({ zk: connectString, cluster }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/--zk-user/);
    const c = await connect({ zk: connectString, cluster, zkAuth: { user, password }, deadlineMs: 15_000 });
    try {
      await c.put('lib', 'with zk credentials');
      expect(new TextDecoder().decode((await c.get('lib')).value)).toBe('with zk credentials');
      expect((await c.status()).map((m) => m.role).sort()).toEqual(['follower', 'leader']);
    } finally {
      await c.close();
    }
  });

  it('the CLI: status, put and get work with --zk-user/--zk-password or env, and fail clearly without', async () => {
    const without = await cli(['status', '--zk', connectString, '--cluster', cluster]);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^duoraft: UNAUTHENTICATED: ZooKeeper refused to read cluster/);
    const putWithout = await cli(['put', 'k', 'v', '--zk', connectString, '--cluster', cluster]);
    expect(putWithout.stderr).toMatch(/^duoraft: UNAUTHENTICATED: /);
    const put = await cli(['put', 'k', 'v', '--zk', connectString, '--cluster', cluster, '--zk-user', user, '--zk-password', password]);
    expect(put.code).toBe(0);
    const env = { DUORAFT_ZK: connectString, DUORAFT_CLUSTER: cluster, DUORAFT_ZK_USER: user, DUORAFT_ZK_PASSWORD: password };
    expect((await cli(['get', 'k'], env)).stdout).toBe('v');
    const status = await cli(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as Array<{ role: string }>).map((m) => m.role).sort()).toEqual(['follower', 'leader']);
  });

  it('duoraft admin secure-zk makes /duoraft owner-only; the cluster tree was owner-only from the start', async () => {
    const r = await cli(['admin', 'secure-zk', '--json', '--zk', connectString, '--cluster', cluster, '--zk-user', user, '--zk-password', password]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { secured: number }).secured).toBeGreaterThan(5);
    const owner = connectZk({ connectString, auth: { user, password } });
    const stranger = connectZk({ connectString });
    try {
      await owner.waitConnected(5000);
      await stranger.waitConnected(5000);
      for (const path of ['/duoraft', `/duoraft/${cluster}`, `/duoraft/${cluster}/epoch`]) {
        const acl = await owner.getAcl(path);
        expect(acl).toEqual([{ scheme: 'digest', id: expect.stringMatching(new RegExp(`^${user}:`)) as unknown, perms: ZK_PERMS.ALL }]);
      }
      // Nobody else can squat a cluster under /duoraft any more.
      await expect(stranger.create('/duoraft/squatter', new Uint8Array(0), 'persistent')).rejects.toMatchObject({ code: 'NO_AUTH' });
    } finally {
      await owner.close();
      await stranger.close();
    }
    // The cluster still serves.
    expect((await cli(['put', 'k2', 'v2'], { DUORAFT_ZK: connectString, DUORAFT_CLUSTER: cluster, DUORAFT_ZK_USER: user, DUORAFT_ZK_PASSWORD: password })).code).toBe(0);
  });
});
