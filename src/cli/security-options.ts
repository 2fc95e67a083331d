// The security settings, the same for `duoraft node` and every client command (put, get,
// status, admin, bench...): TLS files, the cluster token, ZooKeeper digest credentials.
// They are part of commonSettings (config/settings.ts), so each is also read from the
// environment (DUORAFT_TLS_CA, DUORAFT_TOKEN, DUORAFT_ZK_USER, DUORAFT_ZK_PASSWORD, ...),
// which keeps secrets off the command line where `ps` would show them, and from the
// config file. What each means: notes/security.md.
import { readFile } from 'node:fs/promises';
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

/**
 * The rules between the security settings that need no file read, as config problems
 * (the config middleware reports them with every other problem, exit 2). The functions
 * below check the same again, and what only the files can tell.
 */
export function securityProblems(a: SecurityArgs, role: 'node' | 'client'): string[] {
  const problems: string[] = [];
  if ((a['zk-user'] === undefined) !== (a['zk-password'] === undefined)) {
    problems.push('--zk-user and --zk-password go together (env DUORAFT_ZK_USER and DUORAFT_ZK_PASSWORD)');
  }
  if (a['token-file'] !== undefined && a.token !== undefined) problems.push('give the token once: --token-file or --token (DUORAFT_TOKEN), not both');
  if (a['tls-ca'] === undefined && (a['tls-cert'] !== undefined || a['tls-key'] !== undefined)) problems.push('--tls-cert and --tls-key need --tls-ca (the cluster CA)');
  if (a['tls-ca'] === undefined && (a.token !== undefined || a['token-file'] !== undefined)) {
    problems.push('a cluster token needs TLS (--tls-ca): without it the token would travel in clear text');
  }
  if (role === 'node' && a['tls-ca'] !== undefined && (a['tls-cert'] === undefined || a['tls-key'] === undefined)) {
    problems.push('a node with --tls-ca needs --tls-cert and --tls-key (its voter certificate)');
  }
  return problems;
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
