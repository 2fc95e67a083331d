// Answers the client service from the node driver. Domain errors go back in-band with
// their code and what to do next; nothing a client sends can crash the member.
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { toWireError } from '../common/error-codes.js';
import { BusyError, InvalidArgumentError } from '../common/errors.js';
import type { Received, RequestOf, ResponseOf } from '../common/grpc-unary.js';
import type { Logger } from '../common/logger.js';
import { type duoraft, pb } from '../common/proto.js';
import { type ClientOpKind, type ClientOpObserver, errorCodeName, getKind, noClientOpObserver, pipelinedCode, pipelinedKind } from './client-op-observer.js';
import { type KvHandlers, kvService } from './kv-service.js';
import {
  type DriverRef,
  driverOf,
  execCas,
  execDelete,
  execGet,
  execIncr,
  execKeepAlive,
  execPipelined,
  execPut,
  execRegisterSession,
  execTakeSnapshot,
  execTransferLeadership,
  wireBudget,
} from './kv-operations.js';

export type { DriverRef } from './kv-operations.js';

type Kv = typeof kvService;
type Unary = Exclude<keyof Kv, 'pipeline'>;

/** Bound on operations of one pipeline stream in flight at once; beyond it they get BUSY. */
const MAX_PIPELINED_PER_STREAM = 4096;
/** Operations a pipeline stream starts per turn of the event loop. */
const OPS_PER_SLICE = 128;

function requestOf<T>(r: Received<T>): T {
  if (!r.ok) throw new InvalidArgumentError(r.reason);
  return r.request;
}

/** What the handlers tell about each operation, and the clock they time it by. */
interface Telling {
  readonly observer: ClientOpObserver;
  readonly clock: Clock;
}

/** The kind of each unary method's operation (a read's depends on its consistency). */
const unaryKinds: { readonly [K in Unary]: (req: RequestOf<Kv[K]>) => ClientOpKind } = {
  put: () => 'put',
  get: (req) => getKind(req.consistency),
  delete: () => 'delete',
  incr: () => 'incr',
  cas: () => 'cas',
  registerSession: () => 'register_session',
  keepAlive: () => 'keep_alive',
  transferLeadership: () => 'transfer_leadership',
  takeSnapshot: () => 'take_snapshot',
  status: () => 'status',
};

/**
 * How long the caller still waits for an answer to `call`, from its gRPC deadline (sent as
 * grpc-timeout, which grpc-js turns into a time on this machine's wall clock when the call
 * arrives); Infinity when it set none.
 */
function callerLeftMs(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at - Date.now();
}

/** Runs `fn` and answers with its response, or with `{ error }` when it throws. */
function handle<K extends Unary>(
  log: Logger,
  telling: Telling,
  name: K,
  fn: (req: RequestOf<Kv[K]>, callerLeftMs: number) => Promise<ResponseOf<Kv[K]>>,
): grpc.handleUnaryCall<Received<RequestOf<Kv[K]>>, ResponseOf<Kv[K]>> {
  return (call, callback) => {
    const started = telling.clock.now();
    let kind: ClientOpKind = 'invalid';
    const answer = (res: ResponseOf<Kv[K]>, code: string): void => {
      telling.observer.clientOp(kind, telling.clock.now() - started, code);
      callback(null, res);
    };
    const fail = (err: unknown): void => {
      const wire = toWireError(err);
      if (wire.code === pb.client.ErrorCode.INTERNAL) log.error({ rpc: name, err: (err as Error).message }, 'internal error answering a client');
      answer({ error: wire } as ResponseOf<Kv[K]>, errorCodeName(wire.code));
    };
    let req: RequestOf<Kv[K]>;
    try {
      req = requestOf(call.request);
    } catch (err) {
      fail(err);
      return;
    }
    kind = unaryKinds[name](req);
    fn(req, callerLeftMs(call)).then((res) => answer(res, 'OK'), fail);
  };
}

/**
 * A pipeline stream: operations run as they arrive; their results are sent back in batches,
 * one per turn of the event loop.
 */
function pipelineHandler(ref: DriverRef, log: Logger, telling: Telling): KvHandlers['pipeline'] {
  const clock = telling.clock;
  return (call) => {
    type Response = duoraft.client.PipelineResponse.$Properties;
    let outgoing: Response[] = [];
    let flushing = false;
    let inflight = 0;
    let inputEnded = false;
    let closed = false;
    const flush = (): void => {
      flushing = false;
      if (closed || outgoing.length === 0) return;
      const batch = outgoing;
      outgoing = [];
      call.write({ responses: batch });
      if (inputEnded && inflight === 0 && pendingSlices.length === 0) finish();
    };
    const respond = (r: Response): void => {
      if (closed) return;
      outgoing.push(r);
      if (!flushing) {
        flushing = true;
        clock.defer(flush);
      }
    };
    const finish = (): void => {
      if (closed) return;
      closed = true;
      call.end();
    };
    call.on('data', (received: Received<InstanceType<typeof pb.client.PipelineRequestBatch>>) => {
      if (!received.ok) {
        log.warn({ reason: received.reason }, 'undecodable pipeline batch: closing the stream');
        closed = true;
        call.emit('error', { code: 3, details: received.reason });
        return;
      }
      // A legal batch of up to MAX_PIPELINE_BATCH_OPS is started in slices, one slice per
      // turn of the event loop, so that no batch holds the loop (and the lease, and the
      // heartbeats) for more than a few milliseconds. Batches of one stream keep their order.
      pendingSlices.push({ requests: received.request.requests, arrivedAt: clock.now() });
      if (!slicing) startSlices();
    });
    /** Batches waiting to be started, with when they arrived (client latencies count from there). */
    const pendingSlices: Array<{ readonly requests: readonly duoraft.client.PipelineRequest.$Properties[]; readonly arrivedAt: number }> = [];
    let slicing = false;
    let sliceAt = 0;
    const startSlices = (): void => {
      slicing = true;
      clock.defer(runSlice);
    };
    const runSlice = (): void => {
      let budget = OPS_PER_SLICE;
      while (budget > 0 && pendingSlices.length > 0 && !closed) {
        const batch = pendingSlices[0]!;
        while (budget > 0 && sliceAt < batch.requests.length) {
          start(batch.requests[sliceAt++]!, batch.arrivedAt);
          budget--;
        }
        if (sliceAt >= batch.requests.length) {
          pendingSlices.shift();
          sliceAt = 0;
        }
      }
      if (pendingSlices.length > 0 && !closed) clock.defer(runSlice);
      else slicing = false;
    };
    const start = (req: duoraft.client.PipelineRequest.$Properties, arrivedAt: number): void => {
      const kind = pipelinedKind(req);
      const answer = (r: Response): void => {
        telling.observer.clientOp(kind, clock.now() - arrivedAt, pipelinedCode(r));
        respond(r);
      };
      if (inflight >= MAX_PIPELINED_PER_STREAM) {
        const hint = ref.current?.hint() ?? { leaderId: '', leaderAddress: '' };
        answer({ id: req.id, error: toWireError(new BusyError(10, hint, 'too many pipelined operations in flight on this stream')) });
        return;
      }
      inflight++;
      execPipelined(ref, req).then(
        (r) => {
          inflight--;
          answer(r);
        },
        (err: unknown) => {
          inflight--;
          log.error({ err: (err as Error).message }, 'internal error answering a pipelined operation');
          answer({ id: req.id, error: toWireError(err) });
        },
      );
    };
    call.on('end', () => {
      inputEnded = true;
      if (inflight === 0 && outgoing.length === 0 && pendingSlices.length === 0) finish();
    });
    call.on('cancelled', () => {
      closed = true;
    });
    call.on('error', () => {
      closed = true;
    });
  };
}

export function kvHandlers(ref: DriverRef, log: Logger, clock: Clock, observer: ClientOpObserver = noClientOpObserver): KvHandlers {
  const t: Telling = { observer, clock };
  return {
    put: handle(log, t, 'put', (req) => execPut(ref, req)),
    get: handle(log, t, 'get', (req) => execGet(ref, req)),
    delete: handle(log, t, 'delete', (req) => execDelete(ref, req)),
    incr: handle(log, t, 'incr', (req) => execIncr(ref, req)),
    cas: handle(log, t, 'cas', (req) => execCas(ref, req)),
    registerSession: handle(log, t, 'registerSession', (req) => execRegisterSession(ref, req)),
    keepAlive: handle(log, t, 'keepAlive', (req) => execKeepAlive(ref, req)),
    transferLeadership: handle(log, t, 'transferLeadership', (req, leftMs) => execTransferLeadership(ref, req, leftMs)),
    takeSnapshot: handle(log, t, 'takeSnapshot', () => execTakeSnapshot(ref)),
    status: handle(log, t, 'status', async () => {
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
          snapshotIndex: s.snapshotIndex,
          snapshotBytes: s.snapshotBytes,
          zkBudget: s.zkBudget ? wireBudget(s.zkBudget) : null,
          ...(s.listener ? { listener: { ...s.listener, recentApplies: s.listener.recentApplies ? [...s.listener.recentApplies] : [] } } : {}),
        },
      };
    }),
    pipeline: pipelineHandler(ref, log, t),
  };
}
