// Conversions between the library's jute records (64-bit values as 8-byte big-endian
// Buffers) and zk-api's types.
import type { Stat } from 'node-zookeeper-client';
import type { ZkStat } from './zk-api.js';

function isZero(bytes: Buffer): boolean {
  return bytes.every((b) => b === 0);
}

/** A session id as 16 lowercase hex digits, the form zk-api uses everywhere (sessionId, ephemeralOwner). */
export function sessionIdHex(id: Buffer): string {
  return id.toString('hex');
}

export function statFromNative(stat: Stat): ZkStat {
  return {
    version: stat.version,
    cversion: stat.cversion,
    ephemeralOwner: isZero(stat.ephemeralOwner) ? '' : sessionIdHex(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
    mzxid: stat.mzxid.readBigInt64BE(0),
  };
}

/** A private copy as a Buffer: the library keeps references to what it is given until it writes it. */
export function bufferOf(data: Uint8Array): Buffer {
  return Buffer.from(data);
}

/** A plain Uint8Array copy, so callers get the same type from every ZkSession implementation. */
export function bytesOf(data: Buffer | undefined): Uint8Array {
  return data === undefined ? new Uint8Array(0) : new Uint8Array(data);
}
