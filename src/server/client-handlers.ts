// Answers the client service from the node driver. Domain errors go back in-band with
// their code and what to do next; nothing a client sends can crash the member.
import type * as grpc from '@grpc/grpc-js';
import { toWireError } from '../common/error-codes.js';
import { InvalidArgumentError, UnavailableError } from '../common/errors.js';
import type { Received, RequestOf, ResponseOf } from '../common/grpc-unary.js';
import type { Logger } from '../common/logger.js';
import { pb } from '../common/proto.js';
import type { KvResult } from '../statemachine/kv-store.js';
import { type KvHandlers, kvService } from './kv-service.js';
import type { Consistency, NodeDriver } from './node-driver.js';

const Consistencies: Record<number, Consistency> = {
  [pb.client.Consistency.LINEARIZABLE]: 'linearizable',
  [pb.client.Consistency.LEASE]: 'lease',
  [pb.client.Consistency.STALE]: 'stale',
};

/** Where the handlers find the driver: it starts after the server listens. */
export interface DriverRef {
  current: NodeDriver | null;
}

function driverOf(ref: DriverRef): NodeDriver {
  if (!ref.current) throw new UnavailableError('this member is starting; retry shortly');
  return ref.current;
}

function requestOf<T>(r: Received<T>): T {
  if (!r.ok) throw new InvalidArgumentError(r.reason);
  return r.request;
}

function resultError(result: KvResult): void {
  if (!result.ok) throw new InvalidArgumentError(result.message);
}

type Kv = typeof kvService;

/** Runs `fn` and answers with its response, or with `{ error }` when it throws. */
function handle<K extends keyof Kv>(
  log: Logger,
  name: K,
  fn: (req: RequestOf<Kv[K]>) => Promise<ResponseOf<Kv[K]>>,
): grpc.handleUnaryCall<Received<RequestOf<Kv[K]>>, ResponseOf<Kv[K]>> {
  return (call, callback) => {
    const fail = (err: unknown): void => {
      const wire = toWireError(err);
      if (wire.code === pb.client.ErrorCode.INTERNAL) log.error({ rpc: name, err: (err as Error).message }, 'internal error answering a client');
      callback(null, { error: wire } as ResponseOf<Kv[K]>);
    };
    let req: RequestOf<Kv[K]>;
    try {
      req = requestOf(call.request);
    } catch (err) {
      fail(err);
      return;
    }
    fn(req).then((res) => callback(null, res), fail);
  };
}

export function kvHandlers(ref: DriverRef, log: Logger): KvHandlers {
  return {
    put: handle(log, 'put', async (req) => {
      const a = await driverOf(ref).submit({ kind: 'put', key: req.key, value: req.value });
      resultError(a.result);
      return { index: a.index };
    }),
    get: handle(log, 'get', async (req) => {
      const consistency = Consistencies[req.consistency];
      if (!consistency) throw new InvalidArgumentError(`unknown consistency ${req.consistency}`);
      const r = await driverOf(ref).read(req.key, consistency, req.minIndex);
      return { found: r.found, value: r.value, index: r.index };
    }),
    delete: handle(log, 'delete', async (req) => {
      const a = await driverOf(ref).submit({ kind: 'delete', key: req.key });
      resultError(a.result);
      return { deleted: a.result.ok && a.result.kind === 'delete' ? a.result.deleted : false, index: a.index };
    }),
    incr: handle(log, 'incr', async (req) => {
      const a = await driverOf(ref).submit({ kind: 'incr', key: req.key, delta: req.delta });
      resultError(a.result);
      return { value: a.result.ok && a.result.kind === 'incr' ? a.result.value : 0, index: a.index };
    }),
    status: handle(log, 'status', async () => {
      const s = driverOf(ref).status();
      return {
        member: {
          id: s.id,
          role: s.role,
          term: s.term,
          commitIndex: s.commitIndex,
          appliedIndex: s.appliedIndex,
          leaderId: s.leaderId,
          address: s.address,
          lastIndex: s.lastIndex,
        },
      };
    }),
  };
}
