// A ZooKeeper session's password, from its id alone. The server does not store a random
// secret per session: it derives the password as `new java.util.Random(sessionId ^
// 0xB3415C00).nextBytes(16)` (ZooKeeperServer.generatePasswd, unchanged since 3.0) and
// checks a reconnecting client against that. So a chaos run can close a node's session
// from outside knowing only the id the node logs at 'ZooKeeper session connected', and the
// node need not publish its password anywhere. For tests and chaos runs only.

/** ZooKeeperServer.superSecret. */
const SUPER_SECRET = 0xb3415c00n;
const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK_48 = (1n << 48n) - 1n;
const MASK_64 = (1n << 64n) - 1n;
export const SESSION_PASSWORD_BYTES = 16;

/** java.util.Random's nextBytes(n) for a given seed (a Java long, taken mod 2^64). */
export function javaRandomBytes(seed: bigint, n: number): Buffer {
  let state = ((seed & MASK_64) ^ MULTIPLIER) & MASK_48;
  const out = Buffer.alloc(n);
  let i = 0;
  while (i < n) {
    // nextInt() = next(32): the top 32 of the 48 state bits.
    state = (state * MULTIPLIER + ADDEND) & MASK_48;
    let rnd = Number(state >> 16n) | 0;
    for (let k = Math.min(n - i, 4); k > 0; k--) {
      out[i++] = rnd & 0xff;
      rnd >>= 8;
    }
  }
  return out;
}

/** The id as a 64-bit unsigned integer, from the 16 hex digits the node logs. */
export function parseSessionId(hex: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw new Error(`not a ZooKeeper session id (up to 16 hex digits): ${JSON.stringify(hex)}`);
  return BigInt(`0x${hex}`);
}

/** The password ZooKeeper expects from a client that resumes session `sessionIdHex`. */
export function zkSessionPassword(sessionIdHex: string): Buffer {
  return javaRandomBytes(parseSessionId(sessionIdHex) ^ SUPER_SECRET, SESSION_PASSWORD_BYTES);
}
