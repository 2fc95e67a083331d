// node-zookeeper-client's numeric Exception codes, and their ZkErrorCode.
import { ZkError, type ZkErrorCode } from './zk-api.js';

/** The library's Exception codes (lib/Exception.js), which are ZooKeeper's KeeperException codes. */
export const nativeCodes = {
  OK: 0,
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  API_ERROR: -100,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_CALLBACK: -113,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
} as const;

const byNativeCode = new Map<number, ZkErrorCode>([
  [nativeCodes.CONNECTION_LOSS, 'CONNECTION_LOSS'],
  [nativeCodes.OPERATION_TIMEOUT, 'TIMEOUT'],
  [nativeCodes.BAD_ARGUMENTS, 'BAD_ARGUMENTS'],
  [nativeCodes.INVALID_ACL, 'BAD_ARGUMENTS'],
  [nativeCodes.NO_NODE, 'NO_NODE'],
  [nativeCodes.NO_AUTH, 'NO_AUTH'],
  [nativeCodes.BAD_VERSION, 'BAD_VERSION'],
  [nativeCodes.NO_CHILDREN_FOR_EPHEMERALS, 'NO_CHILDREN_FOR_EPHEMERALS'],
  [nativeCodes.NODE_EXISTS, 'NODE_EXISTS'],
  [nativeCodes.NOT_EMPTY, 'NOT_EMPTY'],
  [nativeCodes.SESSION_EXPIRED, 'SESSION_EXPIRED'],
  [nativeCodes.AUTH_FAILED, 'AUTH_FAILED'],
]);

export function zkCodeOfNative(code: number): ZkErrorCode {
  return byNativeCode.get(code) ?? 'OTHER';
}

/** The numeric code of a library error, or undefined for anything else. */
export function nativeCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code: unknown = err.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Errors the library makes up itself rather than receiving from the server (it fails
 * queued requests with these when the socket closes or the session is gone). They say
 * nothing about whether the server is alive.
 */
export function isLocallyGenerated(err: unknown): boolean {
  const code = nativeCodeOf(err);
  return code === nativeCodes.CONNECTION_LOSS || code === nativeCodes.SESSION_EXPIRED || code === nativeCodes.AUTH_FAILED;
}

/** A ZkError for whatever the library passed to a callback (ZkErrors pass through). */
export function zkErrorFromNative(err: unknown, path: string, op: string): ZkError {
  if (err instanceof ZkError) return err;
  const native = nativeCodeOf(err);
  const code = native === undefined ? 'OTHER' : zkCodeOfNative(native);
  const detail = err instanceof Error ? err.message : String(err);
  return new ZkError(code, path, `ZooKeeper ${op} ${path || '(multi)'}: ${code} (${detail})`);
}
