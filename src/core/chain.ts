// The hash-chained log (as TigerBeetle chains its prepares): every entry's chain value is a
// hash of its own content and of its predecessor's chain value, so
//   - an entry that was forged, corrupted or replaced is detected when its chain is checked
//     against the predecessor the checker holds (peer messages, ZooKeeper segments, the
//     local WAL, snapshots);
//   - two logs with the same chain value at an index hold the same entries up to it: two
//     replicas prove they agree up to an index by comparing 16 bytes.
// The chain starts at a genesis value of the cluster, so a log of another cluster (or of
// an earlier life of this one, recreated) never matches.
//
// SHA-256 truncated to 128 bits: collision resistance matters (agreement is proved by
// equal values), speed does too (about 2 µs per entry here). Hashing is pure: no I/O, no
// clock, no randomness.
import { hash } from 'node:crypto';
import type { EntryType } from './types.js';

export const CHAIN_BYTES = 16;

export interface ChainInput {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The chain value of `e`, whose predecessor's chain value is `prev`. */
export function chainNext(prev: Uint8Array, e: ChainInput): Uint8Array {
  const buf = new Uint8Array(CHAIN_BYTES + 17 + e.data.length);
  buf.set(prev.subarray(0, CHAIN_BYTES), 0);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Indexes and terms stay below 2^53: two 32-bit halves each, little endian.
  view.setUint32(CHAIN_BYTES, e.index % 0x1_0000_0000, true);
  view.setUint32(CHAIN_BYTES + 4, Math.floor(e.index / 0x1_0000_0000), true);
  view.setUint32(CHAIN_BYTES + 8, e.term % 0x1_0000_0000, true);
  view.setUint32(CHAIN_BYTES + 12, Math.floor(e.term / 0x1_0000_0000), true);
  buf[CHAIN_BYTES + 16] = e.type;
  buf.set(e.data, CHAIN_BYTES + 17);
  return new Uint8Array(hash('sha256', buf, 'buffer').subarray(0, CHAIN_BYTES));
}

/** The chain value before the first entry of a cluster's log. */
export function genesisChain(clusterIdentity: string): Uint8Array {
  return new Uint8Array(hash('sha256', `duoraft genesis\u0000${clusterIdentity}`, 'buffer').subarray(0, CHAIN_BYTES));
}

export function sameChain(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** For log lines: the first 8 bytes in hex. */
export function chainHex(c: Uint8Array): string {
  return Buffer.from(c.subarray(0, 8)).toString('hex');
}
