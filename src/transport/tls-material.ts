// The PEM files of one TLS party (a voter or a client), read and checked once at start so
// that a wrong file is a clear CONFIG error naming it, not a handshake that fails later
// with an OpenSSL message on the other side.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../common/errors.js';
import { voterIdOf } from './tls-identity.js';

/** PEM contents. `cert` and `key` are absent for a client that authenticates by token only. */
export interface TlsMaterial {
  /** The cluster CA certificate(s): whom to trust. */
  readonly ca: Buffer;
  /** This party's certificate (chain), leaf first. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** Paths of the PEM files, as the command line names them (--tls-ca, --tls-cert, --tls-key). */
export interface TlsFiles {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

async function readPem(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Reads the files; checks nothing beyond that they can be read (see checkTlsMaterial). */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  if ((files.cert === undefined) !== (files.key === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  const ca = await readPem('--tls-ca', files.ca);
  if (files.cert === undefined || files.key === undefined) return { ca };
  return { ca, cert: await readPem('--tls-cert', files.cert), key: await readPem('--tls-key', files.key) };
}

function pemCertificateCount(pem: Buffer): number {
  return pem.toString('latin1').split('-----BEGIN CERTIFICATE-----').length - 1;
}

function parseCertificate(what: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(`${what} is not a PEM certificate: ${(err as Error).message}`);
  }
}

/**
 * Checks the material: the CA and the certificate parse, the key belongs to the
 * certificate, the CA signed it, and it is valid now. With `voter`, the certificate must
 * name exactly that voter of that cluster (SAN URI duoraft://CLUSTER/voter/ID). Throws
 * ConfigError saying what is wrong. `now` in ms (for tests).
 */
export function checkTlsMaterial(m: TlsMaterial, options: { voter?: { cluster: string; id: string }; now?: number } = {}): void {
  const ca = parseCertificate('--tls-ca', m.ca);
  if (!ca.ca) throw new ConfigError(`--tls-ca holds a certificate that is not a CA (${ca.subject})`);
  if (m.cert === undefined || m.key === undefined) {
    if (options.voter) throw new ConfigError('a voter with TLS needs --tls-cert and --tls-key (its voter certificate)');
    return;
  }
  const cert = parseCertificate('--tls-cert', m.cert);
  let key;
  try {
    key = createPrivateKey(m.key);
  } catch (err) {
    throw new ConfigError(`--tls-key is not a PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new ConfigError('--tls-key does not belong to the certificate of --tls-cert');
  // The leaf is checked against the CA here when the CA issued it directly; a chain through
  // an intermediate (more certificates in the file) is left to the TLS handshake.
  if (cert.checkIssued(ca)) {
    if (!cert.verify(ca.publicKey)) throw new ConfigError('--tls-cert names the CA of --tls-ca as its issuer but its signature does not verify');
  } else if (pemCertificateCount(m.cert) < 2) {
    throw new ConfigError(`--tls-cert (issued by ${cert.issuer}) is not signed by the CA of --tls-ca (${ca.subject})`);
  }
  const now = options.now ?? Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
    throw new ConfigError(`--tls-cert is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`);
  }
  if (options.voter) {
    const who = voterIdOf(cert.subjectAltName, options.voter.cluster);
    if ('problem' in who) throw new ConfigError(`--tls-cert: ${who.problem}`);
    if (who.id !== options.voter.id) {
      throw new ConfigError(`--tls-cert names voter ${JSON.stringify(who.id)}, but this node is ${JSON.stringify(options.voter.id)}: each voter needs its own certificate`);
    }
  }
}
