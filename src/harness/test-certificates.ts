// Certificates for tests and local trials, made with the system's `openssl` (Debian's
// openssl package): a cluster CA, one certificate per voter carrying the voter identity
// duoraft checks (SAN URI duoraft://CLUSTER/voter/ID, see src/transport/tls-identity.ts),
// client certificates, and on request a second, unrelated CA with a forged voter
// certificate (same identity, wrong signer) to show it is refused.
//
// Keys are P-256 (fast to make, a few ms each); certificates live one day. Nothing here
// is meant for production: the CA key sits next to the certificates.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { voterIdentity } from '../transport/tls-identity.js';

const run = promisify(execFile);

/** Paths of one PEM certificate and its private key. */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** The cluster CA certificate (what --tls-ca points at). */
  readonly ca: string;
  readonly voters: ReadonlyMap<string, CertificateFiles>;
  readonly clients: ReadonlyMap<string, CertificateFiles>;
  /** Present when asked for: a CA nobody trusts and a voter certificate it signed. */
  readonly rogue?: { readonly ca: string; readonly voters: ReadonlyMap<string, CertificateFiles> };
}

export interface TestCertificateOptions {
  /** Folder to write into (created if missing). */
  readonly dir: string;
  readonly cluster: string;
  readonly voters: readonly string[];
  /** Client certificate names (SAN URI duoraft://CLUSTER/client/NAME). */
  readonly clients?: readonly string[];
  /** Also make an untrusted CA that signs voter certificates with these ids. */
  readonly rogueVoters?: readonly string[];
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 20_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: apt-get install -y openssl (scripts/setup.mjs does it)');
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`);
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl(['req', '-x509', ...KEY_ARGS, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key };
}

/** A certificate signed by `ca` with the given SAN and extended key usage. */
async function makeLeaf(dir: string, name: string, ca: { cert: string; key: string }, san: string, eku: string): Promise<CertificateFiles> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await openssl(['req', ...KEY_ARGS, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=${eku}\nbasicConstraints=CA:FALSE\n`);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '1', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** Makes the CA and the certificates; a few hundred ms in all. */
export async function makeTestCertificates(o: TestCertificateOptions): Promise<TestCertificates> {
  await mkdir(o.dir, { recursive: true });
  const ca = await makeCa(o.dir, 'ca');
  const voters = new Map<string, CertificateFiles>();
  for (const id of o.voters) {
    // Loopback IP and localhost too, so ordinary TLS tools (openssl s_client, grpcurl) can talk to it.
    voters.set(id, await makeLeaf(o.dir, `voter-${id}`, ca, `URI:${voterIdentity(o.cluster, id)},IP:127.0.0.1,DNS:localhost`, 'serverAuth,clientAuth'));
  }
  const clients = new Map<string, CertificateFiles>();
  for (const name of o.clients ?? []) {
    clients.set(name, await makeLeaf(o.dir, `client-${name}`, ca, `URI:duoraft://${o.cluster}/client/${name}`, 'clientAuth'));
  }
  if (!o.rogueVoters || o.rogueVoters.length === 0) return { dir: o.dir, ca: ca.cert, voters, clients };
  const rogueCa = await makeCa(o.dir, 'rogue-ca');
  const rogueVoters = new Map<string, CertificateFiles>();
  for (const id of o.rogueVoters) {
    rogueVoters.set(id, await makeLeaf(o.dir, `rogue-voter-${id}`, rogueCa, `URI:${voterIdentity(o.cluster, id)},IP:127.0.0.1`, 'serverAuth,clientAuth'));
  }
  return { dir: o.dir, ca: ca.cert, voters, clients, rogue: { ca: rogueCa.cert, voters: rogueVoters } };
}

/** Reads a certificate pair's PEM files. */
export async function readCertificateFiles(files: CertificateFiles): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(files.cert), key: await readFile(files.key) };
}
