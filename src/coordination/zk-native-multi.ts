// multi() over the library's Transaction: the version-0 guard, op building, and the
// reading of results (which op failed and why).
import type { ACL, Transaction, TransactionResult } from 'node-zookeeper-client';
import { ZkError, type ZkCreateMode, type ZkOp, type ZkOpResult } from './zk-api.js';
import { nativeCodes, zkCodeOfNative } from './zk-native-errors.js';
import { bufferOf, statFromNative } from './zk-native-stat.js';

/** The jute op codes of multi results (lib/jute/index.js OP_CODES). */
const resultTypes = { CREATE: 1, DELETE: 2, SET_DATA: 5, CHECK: 13, ERROR: -1 } as const;

/** CreateMode numbers (lib/CreateMode.js). */
export function nativeCreateMode(mode: ZkCreateMode): number {
  switch (mode) {
    case 'persistent':
      return 0;
    case 'ephemeral':
      return 1;
    case 'persistent_sequential':
      return 2;
    case 'ephemeral_sequential':
      return 3;
  }
}

/** -1 (any) or a non-negative integer; for multi, see multiVersionProblem. */
export function isValidVersion(version: number): boolean {
  return Number.isInteger(version) && version >= -1;
}

/**
 * Why an op's version cannot be sent in a multi, or null. The library's
 * Transaction.check/setData/remove do `version = version || -1`, which silently turns
 * version 0 into -1 ("any version"): a conditional write would become unconditional.
 * So version 0 is refused before anything is sent; only -1 or >= 1 pass.
 */
function multiVersionProblem(version: number): string | null {
  if (version === 0) return 'version 0 is refused in multi: node-zookeeper-client would send it as -1 (unconditional)';
  if (!isValidVersion(version)) return `version must be -1 or an integer >= 1, got ${version}`;
  return null;
}

/** A BAD_ARGUMENTS error for the first op that cannot be sent, or null when all can. */
export function validateMultiOps(ops: readonly ZkOp[]): ZkError | null {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.type === 'create') continue;
    const problem = multiVersionProblem(op.version);
    if (problem !== null) return new ZkError('BAD_ARGUMENTS', op.path, `multi op #${i} (${op.type} ${op.path}): ${problem}`, i);
  }
  return null;
}

/** Adds `ops` to the transaction. Throws (synchronously, before sending) on paths the library rejects. */
export function addOps(tx: Transaction, ops: readonly ZkOp[], acl: ACL[]): void {
  for (const op of ops) {
    switch (op.type) {
      case 'check':
        tx.check(op.path, op.version);
        break;
      case 'create':
        tx.create(op.path, bufferOf(op.data), acl, nativeCreateMode(op.mode));
        break;
      case 'setData':
        tx.setData(op.path, bufferOf(op.data), op.version);
        break;
      case 'delete':
        tx.remove(op.path, op.version);
        break;
    }
  }
}

/**
 * The error of a failed multi. ZooKeeper answers a failed multi with one error result
 * per op: OK for the ops before the failing one, its own code for the failing one, and
 * RUNTIME_INCONSISTENCY for the ops after it; the library passes those results to the
 * commit callback together with the error. failedOp is the first op whose result is an
 * error other than OK. Without results (connection lost, etc.) failedOp is -1.
 */
export function multiFailure(ops: readonly ZkOp[], results: readonly TransactionResult[] | undefined, fallback: ZkError): ZkError {
  if (results === undefined) return fallback;
  const index = results.findIndex((r) => r.type === resultTypes.ERROR && r.err !== undefined && r.err !== nativeCodes.OK);
  if (index < 0) return fallback;
  const op = ops[index];
  const code = zkCodeOfNative(results[index]!.err ?? nativeCodes.SYSTEM_ERROR);
  const where = op ? `${op.type} ${op.path}` : '?';
  return new ZkError(code, op?.path ?? '', `ZooKeeper multi failed at op #${index} (${where}): ${code}; nothing was applied`, index);
}

/** The results of a successful multi, one per op, checked against the ops sent. */
export function multiResults(ops: readonly ZkOp[], results: readonly TransactionResult[] | undefined): ZkOpResult[] {
  if (results === undefined || results.length !== ops.length) {
    throw new ZkError('OTHER', '', `ZooKeeper multi: ${results?.length ?? 'no'} results for ${ops.length} ops`);
  }
  return ops.map((op, i): ZkOpResult => {
    const r = results[i]!;
    const mismatch = (): ZkError => new ZkError('OTHER', op.path, `ZooKeeper multi: result #${i} has type ${r.type} for a ${op.type} op`, i);
    switch (op.type) {
      case 'check':
        if (r.type !== resultTypes.CHECK) throw mismatch();
        return { type: 'check' };
      case 'create':
        if (r.type !== resultTypes.CREATE || r.path === undefined) throw mismatch();
        return { type: 'create', path: r.path };
      case 'setData':
        if (r.type !== resultTypes.SET_DATA || r.stat === undefined) throw mismatch();
        return { type: 'setData', stat: statFromNative(r.stat) };
      case 'delete':
        if (r.type !== resultTypes.DELETE) throw mismatch();
        return { type: 'delete' };
    }
  });
}
