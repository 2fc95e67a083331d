// The client operations, executed against the node driver. Shared by the unary RPCs and
// the pipeline stream, so both answer exactly alike.
import { toWireError } from '../common/error-codes.js';
import { InvalidArgumentError, UnavailableError } from '../common/errors.js';
import type { duoraft } from '../common/proto.js';
import { pb } from '../common/proto.js';
import type { KvResult } from '../statemachine/kv-store.js';
import type { Consistency, NodeDriver } from './node-driver.js';

type PutRes = duoraft.client.PutResponse.$Properties;
type GetRes = duoraft.client.GetResponse.$Properties;
type DeleteRes = duoraft.client.DeleteResponse.$Properties;
type IncrRes = duoraft.client.IncrResponse.$Properties;
type PipelineRes = duoraft.client.PipelineResponse.$Properties;
type PutReq = duoraft.client.PutRequest.$Properties;
type GetReq = duoraft.client.GetRequest.$Properties;
type DeleteReq = duoraft.client.DeleteRequest.$Properties;
type IncrReq = duoraft.client.IncrRequest.$Properties;

/** Where the handlers find the driver: it starts after the server listens. */
export interface DriverRef {
  current: NodeDriver | null;
}

export function driverOf(ref: DriverRef): NodeDriver {
  if (!ref.current) throw new UnavailableError('this member is starting; retry shortly');
  return ref.current;
}

const Consistencies: Record<number, Consistency> = {
  [pb.client.Consistency.LINEARIZABLE]: 'linearizable',
  [pb.client.Consistency.LEASE]: 'lease',
  [pb.client.Consistency.STALE]: 'stale',
};

function resultError(result: KvResult): void {
  if (!result.ok) throw new InvalidArgumentError(result.message);
}

export async function execPut(ref: DriverRef, req: PutReq): Promise<PutRes> {
  const a = await driverOf(ref).submit({ kind: 'put', key: req.key ?? '', value: req.value ?? new Uint8Array(0) });
  resultError(a.result);
  return { index: a.index };
}

export async function execGet(ref: DriverRef, req: GetReq): Promise<GetRes> {
  const consistency = Consistencies[req.consistency ?? 0];
  if (!consistency) throw new InvalidArgumentError(`unknown consistency ${req.consistency}`);
  const r = await driverOf(ref).read(req.key ?? '', consistency, req.minIndex ?? 0);
  return { found: r.found, value: r.value, index: r.index };
}

export async function execDelete(ref: DriverRef, req: DeleteReq): Promise<DeleteRes> {
  const a = await driverOf(ref).submit({ kind: 'delete', key: req.key ?? '' });
  resultError(a.result);
  return { deleted: a.result.ok && a.result.kind === 'delete' ? a.result.deleted : false, index: a.index };
}

export async function execIncr(ref: DriverRef, req: IncrReq): Promise<IncrRes> {
  const a = await driverOf(ref).submit({ kind: 'incr', key: req.key ?? '', delta: req.delta ?? 0 });
  resultError(a.result);
  return { value: a.result.ok && a.result.kind === 'incr' ? a.result.value : 0, index: a.index };
}

/** Runs one operation of a pipeline request; a failure becomes the response's in-band error. */
export async function execPipelined(ref: DriverRef, req: duoraft.client.PipelineRequest.$Properties): Promise<PipelineRes> {
  const id = req.id ?? 0;
  try {
    if (req.put) return { id, put: await execPut(ref, req.put) };
    if (req.get) return { id, get: await execGet(ref, req.get) };
    if (req.delete) return { id, delete: await execDelete(ref, req.delete) };
    if (req.incr) return { id, incr: await execIncr(ref, req.incr) };
  } catch (err) {
    const error = toWireError(err);
    if (req.put) return { id, put: { error } };
    if (req.get) return { id, get: { error } };
    if (req.delete) return { id, delete: { error } };
    return { id, incr: { error } };
  }
  return { id, error: toWireError(new InvalidArgumentError('pipeline request without an operation')) };
}
