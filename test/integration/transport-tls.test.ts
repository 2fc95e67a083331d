// Mutual TLS between the voters, over real gRPC on loopback with certificates made by
// openssl: only the other voter of this cluster, proving it with a certificate signed by
// the cluster CA, gets a peer message delivered, and the handler learns who it was.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/common/errors.js';
import { type Logger, silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import type { Message } from '../../src/core/messages.js';
import { makeTestCertificates, readCertificateFiles, type TestCertificates } from '../../src/harness/test-certificates.js';
import { GrpcPeerTransport } from '../../src/transport/grpc-peer-transport.js';
import { PeerClient, peerServerOptions, peerService } from '../../src/transport/peer-service.js';
import { clientAuthInterceptor, serverCredentials } from '../../src/transport/server-security.js';
import { checkTlsMaterial, type TlsMaterial } from '../../src/transport/tls-material.js';
import type { MessageSender } from '../../src/transport/transport.js';

const CLUSTER = 'tls-test';
let dir: string;
let certs: TestCertificates;
let ca: Buffer;

async function voterMaterial(id: string): Promise<TlsMaterial> {
  const files = certs.voters.get(id);
  if (!files) throw new Error(`no certificate for ${id}`);
  return { ca, ...(await readCertificateFiles(files)) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duoraft-tls-'));
  certs = await makeTestCertificates({ dir, cluster: CLUSTER, voters: ['a', 'b', 'c'], clients: ['alice'], rogueVoters: ['a'] });
  ca = await readFile(certs.ca);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Delivered {
  readonly m: Message;
  readonly sender: MessageSender;
}

interface Voter {
  readonly transport: GrpcPeerTransport;
  readonly address: string;
  readonly delivered: Delivered[];
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A voter's transport on a server set up as run-node.ts does; it answers heartbeats like a follower. */
async function startVoter(id: string, tls: TlsMaterial | null, voters?: readonly string[], logger: Logger = silentLogger): Promise<Voter> {
  const transport = new GrpcPeerTransport({ selfId: id, cluster: CLUSTER, clock: realClock, logger, tls, ...(voters ? { voters } : {}) });
  const interceptor = clientAuthInterceptor({ certificates: tls !== null, token: null }, silentLogger, realClock);
  const server = new grpc.Server({ ...peerServerOptions, ...(interceptor ? { interceptors: [interceptor] } : {}) });
  transport.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const delivered: Delivered[] = [];
  transport.setHandler((m, sender) => {
    delivered.push({ m, sender });
    if (m.type === 'heartbeat') transport.send({ type: 'heartbeatReply', from: id, to: m.from, term: m.term, lastIndex: 0, leaderMatch: 0, ...(m.rpcId !== undefined ? { rpcId: m.rpcId } : {}) });
  });
  cleanups.push(async () => {
    await transport.close();
    server.forceShutdown();
  });
  return { transport, address: `127.0.0.1:${port}`, delivered };
}

async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * One Heartbeat sent by hand, as a forger would: with the given client certificate (or
 * none, or plaintext), claiming to come from `from`. Resolves with the gRPC status code
 * (0 when the call was answered).
 */
function forgeHeartbeat(address: string, from: string, credentials: grpc.ChannelCredentials): Promise<{ code: number; details: string }> {
  const client = new PeerClient(address, credentials, { 'grpc.ssl_target_name_override': 'duoraft-member' });
  const def = peerService.heartbeat;
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { cluster: CLUSTER, from, to: 'b', term: 1, commit: 0, commitTerm: 0, commitChain: new Uint8Array(16) }, { deadline: Date.now() + 3000 }, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' });
    });
  });
}

/** TLS credentials that trust the cluster CA (the forger may know it: it is public) and present `cert`, if any. */
function tlsAs(cert?: { cert: Buffer; key: Buffer }): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(ca, cert?.key ?? null, cert?.cert ?? null, { checkServerIdentity: () => undefined });
}

describe('mutual TLS between the voters', () => {
  it('delivers the other voter\'s messages with its proven id, both ways', async () => {
    const a = await startVoter('a', await voterMaterial('a'));
    const b = await startVoter('b', await voterMaterial('b'));
    a.transport.setPeerAddress('b', b.address);
    b.transport.setPeerAddress('a', a.address);
    a.transport.send({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0, commitChain: new Uint8Array(16) });
    const atB = await waitFor('heartbeat at b', () => b.delivered.find((d) => d.m.type === 'heartbeat'));
    expect(atB.sender).toEqual({ kind: 'verified', id: 'a' });
    const atA = await waitFor('reply at a', () => a.delivered.find((d) => d.m.type === 'heartbeatReply'));
    expect(atA.sender).toEqual({ kind: 'verified', id: 'b' });
  });

  it('refuses a forged heartbeat from anyone who is not the other voter, and delivers nothing', async () => {
    const b = await startVoter('b', await voterMaterial('b'), ['a', 'b']);
    const alice = await readCertificateFiles(certs.clients.get('alice')!);
    const rogueA = await readCertificateFiles(certs.rogue!.voters.get('a')!);
    const ownB = await readCertificateFiles(certs.voters.get('b')!);
    const realA = await readCertificateFiles(certs.voters.get('a')!);
    const c = await readCertificateFiles(certs.voters.get('c')!);

    // Plaintext never gets through the TLS server.
    expect((await forgeHeartbeat(b.address, 'a', grpc.credentials.createInsecure())).code).toBe(grpc.status.UNAVAILABLE);
    // TLS without a certificate, or with one the cluster CA did not sign (same identity as a).
    expect(await forgeHeartbeat(b.address, 'a', tlsAs())).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await forgeHeartbeat(b.address, 'a', tlsAs(rogueA))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // Signed by the CA, but a client's certificate, b's own, or a voter not among the voters.
    expect(await forgeHeartbeat(b.address, 'a', tlsAs(alice))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('no voter identity') as unknown });
    expect(await forgeHeartbeat(b.address, 'a', tlsAs(ownB))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('itself') as unknown });
    expect(await forgeHeartbeat(b.address, 'c', tlsAs(c))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('not one of a, b') as unknown });
    // a's real certificate, but claiming to be someone else.
    expect(await forgeHeartbeat(b.address, 'c', tlsAs(realA))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('claims to come from "c"') as unknown });
    expect(b.delivered).toEqual([]);
    // And a's real certificate speaking as a is delivered.
    expect((await forgeHeartbeat(b.address, 'a', tlsAs(realA))).code).toBe(0);
    expect(b.delivered.map((d) => d.sender)).toEqual([{ kind: 'verified', id: 'a' }]);
  });

  it('a voter with TLS and one without never exchange a message, and each says why', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = pino({ level: 'warn' }, sink);
    const a = await startVoter('a', await voterMaterial('a'), undefined, log.child({ node: 'a' }));
    const b = await startVoter('b', null, undefined, log.child({ node: 'b' }));
    a.transport.setPeerAddress('b', b.address);
    b.transport.setPeerAddress('a', a.address);
    a.transport.send({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0, commitChain: new Uint8Array(16) });
    b.transport.send({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, commitTerm: 0, commitChain: new Uint8Array(16) });
    await waitFor('a hears b is unreachable', () => a.delivered.find((d) => d.m.type === 'unreachable'));
    await waitFor('b hears a is unreachable', () => b.delivered.find((d) => d.m.type === 'unreachable'));
    expect([...a.delivered, ...b.delivered].every((d) => d.m.type === 'unreachable' && d.sender.kind === 'local')).toBe(true);
    // The TLS voter reads plaintext; the plaintext one probes and finds TLS.
    await waitFor('a says its peer does not speak TLS', () => lines.find((l) => l.includes('"node":"a"') && l.includes('the peer does not speak TLS')));
    await waitFor('b says its peer requires TLS', () => lines.find((l) => l.includes('"node":"b"') && l.includes('the peer requires TLS but this voter runs without it')));
  });
});

describe('checking the TLS files at start', () => {
  it('names what is wrong: another voter\'s certificate, a key of another certificate, a foreign CA, a CA that is no CA', async () => {
    const a = await voterMaterial('a');
    const b = await voterMaterial('b');
    const rogueA = await readCertificateFiles(certs.rogue!.voters.get('a')!);
    expect(() => checkTlsMaterial(a, { voter: { cluster: CLUSTER, id: 'a' } })).not.toThrow();
    expect(() => checkTlsMaterial(a, { voter: { cluster: CLUSTER, id: 'b' } })).toThrow(/names voter "a", but this node is "b"/);
    expect(() => checkTlsMaterial(a, { voter: { cluster: 'other', id: 'a' } })).toThrow(/no voter identity of cluster "other"/);
    expect(() => checkTlsMaterial({ ...a, key: b.key })).toThrow(/does not belong/);
    expect(() => checkTlsMaterial({ ca, ...rogueA })).toThrow(/not signed by the CA/);
    expect(() => checkTlsMaterial({ ca: a.cert! })).toThrow(/not a CA/);
    expect(() => checkTlsMaterial({ ca: Buffer.from('not a pem') })).toThrow(ConfigError);
    const alice = await readCertificateFiles(certs.clients.get('alice')!);
    expect(() => checkTlsMaterial({ ca, ...alice })).not.toThrow();
    expect(() => checkTlsMaterial({ ca, cert: Buffer.alloc(0), key: alice.key })).toThrow(ConfigError);
  });
});
