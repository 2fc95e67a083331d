// The client service of proto/client.proto (Put, Get, Delete, Incr, Status and the
// Pipeline stream), defined over the generated static code.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../common/proto.js';
import { asBuffer, type Received, type RequestOf, type ResponseOf, unaryMethod } from '../common/grpc-unary.js';
import { countTopLevelField } from '../common/wire-scan.js';

const SERVICE = 'duoraft.client.Kv';

/** Bound on the operations of one Pipeline batch message (the client library splits larger flushes). */
export const MAX_PIPELINE_BATCH_OPS = 1024;

type ReqBatch = duoraft.client.PipelineRequestBatch;
type ReqBatchOut = duoraft.client.PipelineRequestBatch.$Properties;
type ResBatch = duoraft.client.PipelineResponseBatch;
type ResBatchOut = duoraft.client.PipelineResponseBatch.$Properties;

/** The bidi Pipeline method: batches of operations one way, batches of results the other. */
export interface PipelineMethod extends grpc.ServerMethodDefinition<Received<ReqBatch>, ResBatchOut> {
  readonly requestSerialize: grpc.serialize<ReqBatchOut>;
  readonly responseDeserialize: grpc.deserialize<ResBatch>;
}

const pipeline: PipelineMethod = {
  path: `/${SERVICE}/Pipeline`,
  requestStream: true,
  responseStream: true,
  requestSerialize: (m) => asBuffer(pb.client.PipelineRequestBatch.encode(m).finish()),
  requestDeserialize: (bytes) => {
    // Counted before decoding: the decoder would allocate an object per operation first.
    if (countTopLevelField(bytes, 1, MAX_PIPELINE_BATCH_OPS) > MAX_PIPELINE_BATCH_OPS) {
      return { ok: false, reason: `a pipeline batch holds at most ${MAX_PIPELINE_BATCH_OPS} operations; send larger loads in several batches` };
    }
    try {
      return { ok: true, request: pb.client.PipelineRequestBatch.decode(bytes) };
    } catch (err) {
      return { ok: false, reason: `cannot decode a pipeline batch: ${err instanceof Error ? err.message : String(err)}` };
    }
  },
  responseSerialize: (m) => asBuffer(pb.client.PipelineResponseBatch.encode(m).finish()),
  responseDeserialize: (bytes) => pb.client.PipelineResponseBatch.decode(bytes),
};

export const kvService = {
  put: unaryMethod(SERVICE, 'Put', pb.client.PutRequest, pb.client.PutResponse),
  get: unaryMethod(SERVICE, 'Get', pb.client.GetRequest, pb.client.GetResponse),
  delete: unaryMethod(SERVICE, 'Delete', pb.client.DeleteRequest, pb.client.DeleteResponse),
  incr: unaryMethod(SERVICE, 'Incr', pb.client.IncrRequest, pb.client.IncrResponse),
  cas: unaryMethod(SERVICE, 'Cas', pb.client.CasRequest, pb.client.CasResponse),
  registerSession: unaryMethod(SERVICE, 'RegisterSession', pb.client.RegisterSessionRequest, pb.client.RegisterSessionResponse),
  keepAlive: unaryMethod(SERVICE, 'KeepAlive', pb.client.KeepAliveRequest, pb.client.KeepAliveResponse),
  status: unaryMethod(SERVICE, 'Status', pb.client.StatusRequest, pb.client.StatusResponse),
  transferLeadership: unaryMethod(SERVICE, 'TransferLeadership', pb.client.TransferLeadershipRequest, pb.client.TransferLeadershipResponse),
  takeSnapshot: unaryMethod(SERVICE, 'TakeSnapshot', pb.client.TakeSnapshotRequest, pb.client.TakeSnapshotResponse),
  pipeline,
} as const;

export const KvClient = grpc.makeGenericClientConstructor(kvService, SERVICE);

type Unary = Exclude<keyof typeof kvService, 'pipeline'>;

export type KvHandlers = {
  readonly [K in Unary]: grpc.handleUnaryCall<Received<RequestOf<(typeof kvService)[K]>>, ResponseOf<(typeof kvService)[K]>>;
} & {
  readonly pipeline: grpc.handleBidiStreamingCall<Received<ReqBatch>, ResBatchOut>;
};

/** Largest client message accepted (a value is at most 512 KiB; batches carry several). */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024 * 1024;
