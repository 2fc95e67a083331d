// The ListenerFeed service of proto/listener.proto (Probe, Subscribe, Drop), defined over
// the generated static code like the client service. Subscribe is server streaming: the
// upstream pushes batches of committed entries and heartbeats.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../common/proto.js';
import { asBuffer, type Received, unaryMethod } from '../common/grpc-unary.js';

const SERVICE = 'duoraft.listener.ListenerFeed';

type SubReq = duoraft.listener.SubscribeRequest;
type SubReqOut = duoraft.listener.SubscribeRequest.$Properties;
type Batch = duoraft.listener.FeedBatch;
type BatchOut = duoraft.listener.FeedBatch.$Properties;

export interface SubscribeMethod extends grpc.ServerMethodDefinition<Received<SubReq>, BatchOut> {
  readonly requestSerialize: grpc.serialize<SubReqOut>;
  readonly responseDeserialize: grpc.deserialize<Batch>;
}

const subscribe: SubscribeMethod = {
  path: `/${SERVICE}/Subscribe`,
  requestStream: false,
  responseStream: true,
  requestSerialize: (m) => asBuffer(pb.listener.SubscribeRequest.encode(m).finish()),
  requestDeserialize: (bytes) => {
    try {
      return { ok: true, request: pb.listener.SubscribeRequest.decode(bytes) };
    } catch (err) {
      return { ok: false, reason: `cannot decode a Subscribe request: ${err instanceof Error ? err.message : String(err)}` };
    }
  },
  responseSerialize: (m) => asBuffer(pb.listener.FeedBatch.encode(m).finish()),
  responseDeserialize: (bytes) => pb.listener.FeedBatch.decode(bytes),
};

export const listenerFeedService = {
  probe: unaryMethod(SERVICE, 'Probe', pb.listener.ProbeRequest, pb.listener.ProbeResponse),
  subscribe,
  drop: unaryMethod(SERVICE, 'Drop', pb.listener.DropRequest, pb.listener.DropResponse),
} as const;

export const ListenerFeedClient = grpc.makeGenericClientConstructor(listenerFeedService, SERVICE);
export type ListenerFeedClientInstance = InstanceType<typeof ListenerFeedClient>;

export interface ListenerFeedHandlers extends grpc.UntypedServiceImplementation {
  probe: grpc.handleUnaryCall<Received<duoraft.listener.ProbeRequest>, duoraft.listener.ProbeResponse.$Properties>;
  subscribe: grpc.handleServerStreamingCall<Received<SubReq>, BatchOut>;
  drop: grpc.handleUnaryCall<Received<duoraft.listener.DropRequest>, duoraft.listener.DropResponse.$Properties>;
}

/** Wire entries to and from the log's entries. */
export function toFeedEntry(e: { index: number; term: number; type: number; data: Uint8Array; chain: Uint8Array }): duoraft.listener.FeedEntry.$Properties {
  return { index: e.index, term: e.term, type: e.type, data: e.data, chain: e.chain };
}
