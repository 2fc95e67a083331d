// The cluster token: a shared secret a client may present instead of a client
// certificate, as "authorization: Bearer <token>" on every call (only over TLS: in clear
// text anyone on the path could copy it). The member compares SHA-256 digests with
// timingSafeEqual, so neither the comparison's time nor the token's length leaks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../common/errors.js';

export const TOKEN_METADATA_KEY = 'authorization';
const BEARER = 'Bearer ';

/** Shortest token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32). */
export const MIN_TOKEN_LENGTH = 16;
/** Longest: beyond it a token is more likely a wrong file than a secret. */
export const MAX_TOKEN_LENGTH = 4096;

/** Throws ConfigError unless the token is 16 to 4096 visible ASCII characters. */
export function validateToken(token: string, source = 'the token'): void {
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError(`${source} must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters long, not ${token.length} (make one with: openssl rand -hex 32)`);
  }
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(`${source} may hold only visible ASCII characters (no spaces or line breaks inside)`);
}

/** A token file's content: the token on its first line (a trailing line break is dropped). */
export function tokenFromFile(content: string, path: string): string {
  const token = content.replace(/\r?\n$/, '');
  validateToken(token, `the token in ${path}`);
  return token;
}

/** The metadata value a client sends. */
export function bearerValue(token: string): string {
  return `${BEARER}${token}`;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Checks presented tokens against the cluster's, in constant time. */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    validateToken(token);
    this.expected = digest(token);
  }

  /** Whether the metadata values of `authorization` include "Bearer <the token>". */
  matches(values: readonly unknown[]): boolean {
    let ok = false;
    for (const v of values) {
      if (typeof v !== 'string' || !v.startsWith(BEARER)) continue;
      // Every value is compared (no early exit), each in constant time.
      if (timingSafeEqual(digest(v.slice(BEARER.length)), this.expected)) ok = true;
    }
    return ok;
  }
}
