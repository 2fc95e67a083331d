// The one import point for the generated protobuf code. The side-effect import below
// must stay first: see proto-numbers.ts.
import './proto-numbers.js';
import { duoraft, grpc as grpcProtos } from '../generated/proto.js';

export { duoraft };
/** The standard gRPC health protocol (proto/health.proto). */
export const healthPb = grpcProtos.health.v1;
export const pb = duoraft;
