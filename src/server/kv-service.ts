// The client service of proto/client.proto (Put, Get, Delete, Incr, Status), defined over
// the generated static code.
import * as grpc from '@grpc/grpc-js';
import { pb } from '../common/proto.js';
import { type Received, type RequestOf, type ResponseOf, unaryMethod } from '../common/grpc-unary.js';

const SERVICE = 'duoraft.client.Kv';

export const kvService = {
  put: unaryMethod(SERVICE, 'Put', pb.client.PutRequest, pb.client.PutResponse),
  get: unaryMethod(SERVICE, 'Get', pb.client.GetRequest, pb.client.GetResponse),
  delete: unaryMethod(SERVICE, 'Delete', pb.client.DeleteRequest, pb.client.DeleteResponse),
  incr: unaryMethod(SERVICE, 'Incr', pb.client.IncrRequest, pb.client.IncrResponse),
  status: unaryMethod(SERVICE, 'Status', pb.client.StatusRequest, pb.client.StatusResponse),
} as const;

export const KvClient = grpc.makeGenericClientConstructor(kvService, SERVICE);

export type KvHandlers = {
  readonly [K in keyof typeof kvService]: grpc.handleUnaryCall<Received<RequestOf<(typeof kvService)[K]>>, ResponseOf<(typeof kvService)[K]>>;
};

/** Largest client message accepted (a value is at most 512 KiB; the rest is headroom). */
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024 * 1024;
