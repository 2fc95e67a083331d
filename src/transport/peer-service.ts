// The Peer gRPC service of proto/peer.proto, defined by hand over the static generated
// protobuf code (no .proto loading at run time, no reflection).
//
// The server side never lets a request fail to deserialize: a body that protobuf cannot
// decode becomes a `Received` with ok: false, so the handler can answer it with
// no_reply like any other malformed request. (Had the deserializer thrown, grpc-js would
// fail the call with INTERNAL and the sender would take its peer for unreachable.)
import * as grpc from '@grpc/grpc-js';
import { type ProtoCodec, type Received, type RequestOf, type ResponseOf, type UnaryMethod, unaryMethod } from '../common/grpc-unary.js';
import { type duoraft, pb } from '../common/proto.js';

/** Every Peer method's path starts with this (the client-auth interceptor lets them through to the transport's own check). */
export const PEER_SERVICE_PATH_PREFIX = '/duoraft.peer.Peer/';

/** The largest peer message either side sends or accepts (grpc-js servers default to 4 MiB). */
export const MAX_PEER_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Options for the node's gRPC server that hosts the Peer service: without them the
 * server refuses AppendEntries bodies over grpc-js's default of 4 MiB. Leave
 * grpc.max_connection_idle_ms and grpc.max_connection_age_ms unset on that server: a
 * server that closes idle or old connections makes the peer's transport report false
 * disconnects (see peer-channel.ts). Leave grpc.enable_channelz on (the default) too, though
 * nothing reads it: grpc-js's server keeps its list of open connections only for channelz, and
 * forceShutdown() closes only those it lists, so without it a stopping node would leave its
 * peer's connection open and the peer would not notice (transport.test.ts, disconnect
 * detection). The channels (peer-channel.ts, the client) have it off.
 */
export const peerServerOptions: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_PEER_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_PEER_MESSAGE_BYTES,
};

export type { Received } from '../common/grpc-unary.js';

/** One unary method of the Peer service (see src/common/grpc-unary.ts). */
export type PeerMethod<ReqOut, ReqIn, ResOut, ResIn> = UnaryMethod<ReqOut, ReqIn, ResOut, ResIn>;

function peerMethod<ReqOut, ReqIn, ResOut, ResIn>(
  name: string,
  request: ProtoCodec<ReqIn, ReqOut>,
  response: ProtoCodec<ResIn, ResOut>,
): PeerMethod<ReqOut, ReqIn, ResOut, ResIn> {
  // A response that does not decode fails the call (INTERNAL): the caller reports the
  // peer unreachable, which is what a broken peer is.
  return unaryMethod('duoraft.peer.Peer', name, request, response);
}

type Peer = typeof duoraft.peer;
/** A method over the generated request class Req and response class Res. */
type MethodOf<Req extends Peer[keyof Peer], Res extends Peer[keyof Peer]> = Req extends new (properties?: infer ReqOut) => infer ReqIn
  ? Res extends new (properties?: infer ResOut) => infer ResIn
    ? PeerMethod<NonNullable<ReqOut>, ReqIn, NonNullable<ResOut>, ResIn>
    : never
  : never;

export type AppendEntriesMethod = MethodOf<Peer['AppendEntriesRequest'], Peer['AppendEntriesResponse']>;
export type HeartbeatMethod = MethodOf<Peer['HeartbeatRequest'], Peer['HeartbeatResponse']>;
export type RequestVoteMethod = MethodOf<Peer['RequestVoteRequest'], Peer['RequestVoteResponse']>;
export type TimeoutNowMethod = MethodOf<Peer['TimeoutNowRequest'], Peer['TimeoutNowResponse']>;
export type InstallSnapshotMethod = MethodOf<Peer['InstallSnapshotRequest'], Peer['InstallSnapshotResponse']>;
export type SnapshotChunkMethod = MethodOf<Peer['SnapshotChunkRequest'], Peer['SnapshotChunkResponse']>;

const appendEntries: AppendEntriesMethod = peerMethod('AppendEntries', pb.peer.AppendEntriesRequest, pb.peer.AppendEntriesResponse);
const heartbeat: HeartbeatMethod = peerMethod('Heartbeat', pb.peer.HeartbeatRequest, pb.peer.HeartbeatResponse);
const requestVote: RequestVoteMethod = peerMethod('RequestVote', pb.peer.RequestVoteRequest, pb.peer.RequestVoteResponse);
const timeoutNow: TimeoutNowMethod = peerMethod('TimeoutNow', pb.peer.TimeoutNowRequest, pb.peer.TimeoutNowResponse);

const installSnapshot: InstallSnapshotMethod = peerMethod('InstallSnapshot', pb.peer.InstallSnapshotRequest, pb.peer.InstallSnapshotResponse);
const snapshotChunk: SnapshotChunkMethod = peerMethod('SnapshotChunk', pb.peer.SnapshotChunkRequest, pb.peer.SnapshotChunkResponse);

/** The service definition, for grpc.Server#addService and the client constructor. */
export const peerService = { appendEntries, heartbeat, requestVote, timeoutNow, installSnapshot, snapshotChunk } as const;

/** A client class for the Peer service. Calls go through Client#makeUnaryRequest with the typed definitions above. */
export const PeerClient = grpc.makeGenericClientConstructor(peerService, 'duoraft.peer.Peer');

/** The request a handler of method M receives and the response it gives. */
export type { RequestOf, ResponseOf } from '../common/grpc-unary.js';

/** The server-side implementation of the Peer service. A type alias, so it fits grpc's untyped index signature. */
export type PeerHandlers = {
  readonly [K in keyof typeof peerService]: grpc.handleUnaryCall<Received<RequestOf<(typeof peerService)[K]>>, ResponseOf<(typeof peerService)[K]>>;
};
