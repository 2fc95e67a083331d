// The security flags, the same for `duoraft node` and every client command (put, get,
// status, admin, bench...): TLS files, the cluster token, ZooKeeper digest credentials.
// yargs reads each from the environment too (DUORAFT_TLS_CA, DUORAFT_TOKEN,
// DUORAFT_ZK_USER, DUORAFT_ZK_PASSWORD, ...), which keeps secrets off the command line
// where `ps` would show them. What each means: notes/security.md.
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { ConnectOptions } from '../client/client.js';
import { ConfigError } from '../common/errors.js';
import { tokenFromFile, validateToken } from '../transport/client-token.js';
import { readTlsFiles, type TlsMaterial } from '../transport/tls-material.js';

export interface SecurityArgs {
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'zk-user'?: string | undefined;
  'zk-password'?: string | undefined;
}

export function withSecurityOptions<T>(y: Argv<T>): Argv<T & SecurityArgs> {
  return y
    .option('tls-ca', { type: 'string', describe: 'the cluster CA certificate (PEM): turns TLS on (env DUORAFT_TLS_CA)', global: true })
    .option('tls-cert', { type: 'string', describe: 'node: its voter certificate; client: a client certificate signed by the cluster CA (PEM)', global: true })
    .option('tls-key', { type: 'string', describe: 'the private key of --tls-cert (PEM)', global: true })
    .option('token-file', { type: 'string', describe: 'a file holding the cluster token (node: accept it from clients; client: present it); needs TLS', global: true })
    .option('token', { type: 'string', describe: 'the cluster token itself (prefer env DUORAFT_TOKEN or --token-file: ps shows arguments)', global: true })
    .option('zk-user', { type: 'string', describe: 'ZooKeeper digest user (with --zk-password): node: protects the tree; client: reads it (env DUORAFT_ZK_USER)', global: true })
    .option('zk-password', { type: 'string', describe: 'ZooKeeper digest password (env DUORAFT_ZK_PASSWORD)', global: true }) as Argv<T & SecurityArgs>;
}

/** The ZooKeeper credentials, if given (both or neither). */
export function zkAuthOf(a: SecurityArgs): { user: string; password: string } | undefined {
  const user = a['zk-user'];
  const password = a['zk-password'];
  if ((user === undefined || user === '') !== (password === undefined || password === '')) {
    throw new ConfigError('--zk-user and --zk-password go together (env DUORAFT_ZK_USER and DUORAFT_ZK_PASSWORD)');
  }
  return user && password ? { user, password } : undefined;
}

/** The token from --token-file or --token (not both). */
async function tokenOf(a: SecurityArgs): Promise<string | undefined> {
  const file = a['token-file'];
  if (file !== undefined && a.token !== undefined) throw new ConfigError('give the token once: --token-file or --token (DUORAFT_TOKEN), not both');
  if (file !== undefined) {
    let content: string;
    try {
      content = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`--token-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return tokenFromFile(content, file);
  }
  if (a.token !== undefined) validateToken(a.token, '--token');
  return a.token;
}

async function tlsOf(a: SecurityArgs): Promise<TlsMaterial | undefined> {
  const ca = a['tls-ca'];
  if (ca === undefined) {
    if (a['tls-cert'] !== undefined || a['tls-key'] !== undefined) throw new ConfigError('--tls-cert and --tls-key need --tls-ca (the cluster CA)');
    return undefined;
  }
  return readTlsFiles({ ca, ...(a['tls-cert'] !== undefined ? { cert: a['tls-cert'] } : {}), ...(a['tls-key'] !== undefined ? { key: a['tls-key'] } : {}) });
}

/** What a client command passes to connect(). */
export async function clientSecurityOf(a: SecurityArgs): Promise<Pick<ConnectOptions, 'tls' | 'token' | 'zkAuth'>> {
  const tls = await tlsOf(a);
  const token = await tokenOf(a);
  const zkAuth = zkAuthOf(a);
  return { ...(tls ? { tls } : {}), ...(token !== undefined ? { token } : {}), ...(zkAuth ? { zkAuth } : {}) };
}

/** What `duoraft node` passes to runNode(). */
export async function nodeSecurityOf(a: SecurityArgs): Promise<{ tls?: TlsMaterial; clientToken?: string; zkAuth?: { user: string; password: string } }> {
  const tls = await tlsOf(a);
  if (tls && (tls.cert === undefined || tls.key === undefined)) throw new ConfigError('a node with --tls-ca needs --tls-cert and --tls-key (its voter certificate)');
  const clientToken = await tokenOf(a);
  const zkAuth = zkAuthOf(a);
  return { ...(tls ? { tls } : {}), ...(clientToken !== undefined ? { clientToken } : {}), ...(zkAuth ? { zkAuth } : {}) };
}
