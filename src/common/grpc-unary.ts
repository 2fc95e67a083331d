// Unary gRPC methods defined by hand over the static generated protobuf code: no .proto
// loading at run time, no reflection.
//
// The server side never lets a request fail to deserialize: a body protobuf cannot
// decode becomes a `Received` with ok: false, so the handler can answer it in-band (an
// INVALID_ARGUMENT error, or no_reply for peers) instead of grpc-js failing the call
// with INTERNAL.
import type * as grpc from '@grpc/grpc-js';

export type Received<T> = { readonly ok: true; readonly request: T } | { readonly ok: false; readonly reason: string };

/** The static methods of a generated message class that a method needs. */
export interface ProtoCodec<Decoded, Properties> {
  encode(message: Properties): { finish(): Uint8Array };
  decode(bytes: Uint8Array): Decoded;
}

/**
 * One unary method. ReqOut/ResOut are what a side encodes (plain property objects),
 * ReqIn/ResIn what it decodes (generated message instances).
 */
export interface UnaryMethod<ReqOut, ReqIn, ResOut, ResIn> extends grpc.ServerMethodDefinition<Received<ReqIn>, ResOut> {
  readonly requestSerialize: grpc.serialize<ReqOut>;
  readonly responseDeserialize: grpc.deserialize<ResIn>;
}

/** The bytes protobufjs wrote, as the Buffer grpc-js wants, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function unaryMethod<ReqOut, ReqIn, ResOut, ResIn>(
  service: string,
  name: string,
  request: ProtoCodec<ReqIn, ReqOut>,
  response: ProtoCodec<ResIn, ResOut>,
): UnaryMethod<ReqOut, ReqIn, ResOut, ResIn> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => asBuffer(request.encode(message).finish()),
    requestDeserialize: (bytes) => {
      try {
        return { ok: true, request: request.decode(bytes) };
      } catch (err) {
        return { ok: false, reason: `cannot decode ${name} request: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
    responseSerialize: (message) => asBuffer(response.encode(message).finish()),
    // A response that does not decode fails the call (INTERNAL) on the caller's side.
    responseDeserialize: (bytes) => response.decode(bytes),
  };
}

/** The request a handler of method M receives and the response it gives. */
export type RequestOf<M> = M extends UnaryMethod<infer _ReqOut, infer ReqIn, infer _ResOut, infer _ResIn> ? ReqIn : never;
export type ResponseOf<M> = M extends UnaryMethod<infer _ReqOut, infer _ReqIn, infer ResOut, infer _ResIn> ? ResOut : never;
export type RequestOutOf<M> = M extends UnaryMethod<infer ReqOut, infer _ReqIn, infer _ResOut, infer _ResIn> ? ReqOut : never;
export type ResponseInOf<M> = M extends UnaryMethod<infer _ReqOut, infer _ReqIn, infer _ResOut, infer ResIn> ? ResIn : never;
