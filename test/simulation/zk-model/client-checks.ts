// What the real client stack refuses before sending anything, so the model refuses the
// same with the same codes: the wrapper's version guards (zk-client.ts, and the multi
// guard against version 0, see notes/zookeeper.md), and node-zookeeper-client's
// synchronous path and size checks (which the wrapper reports as BAD_ARGUMENTS).
import { ZkError, type ZkOp } from '../../../src/coordination/zk-api.js';
import { clientPathProblem } from './paths.js';
import { clientDataLimitBytes } from './request-size.js';

/** -1 (any) or a non-negative integer, as the wrapper accepts outside multi. */
export function isValidVersion(version: number): boolean {
  return Number.isInteger(version) && version >= -1;
}

export function badVersionArgument(op: string, path: string, version: number): ZkError {
  return new ZkError('BAD_ARGUMENTS', path, `ZooKeeper ${op} ${path}: version must be -1 or a non-negative integer, got ${version}`);
}

/** The wrapper's multi guard: the first op whose version cannot be sent (0 would travel as "any"), or null. */
export function multiVersionRefusal(ops: readonly ZkOp[]): ZkError | null {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.type === 'create') continue;
    let problem: string | null = null;
    if (op.version === 0) problem = 'version 0 is refused in multi: node-zookeeper-client would send it as -1 (unconditional)';
    else if (!isValidVersion(op.version)) problem = `version must be -1 or an integer >= 1, got ${op.version}`;
    if (problem !== null) return new ZkError('BAD_ARGUMENTS', op.path, `multi op #${i} (${op.type} ${op.path}): ${problem}`, i);
  }
  return null;
}

/** The library's check of a data argument of create and setData (multi does not check sizes). */
export function dataProblem(data: Uint8Array): string | null {
  return data.length > clientDataLimitBytes ? `data must be equal of smaller than ${clientDataLimitBytes} bytes.` : null;
}

/** The library's path checks over every op of a multi. */
export function multiPathProblem(ops: readonly ZkOp[]): string | null {
  for (const op of ops) {
    const problem = clientPathProblem(op.path);
    if (problem !== null) return problem;
  }
  return null;
}
