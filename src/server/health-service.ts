// The standard gRPC health service (grpc.health.v1, proto/health.proto) on the node's one
// port: Check and Watch, for "" (the member as a whole) and "duoraft.client.Kv". Both
// answer from the HealthMonitor (SERVING only while the member can do its role, health.ts).
//
// It needs no client credentials, even on a cluster that requires them for everything
// else (run-node.ts exempts its path from the client-auth interceptor): Kubernetes gRPC
// probes and most load balancers cannot present a token or a client certificate. What it
// tells is one status out of four for two service names everyone knows: no key, value,
// term, index, leader or membership, nothing a client could not learn from connecting.
// TLS still applies (the port speaks TLS only), and Watch streams are bounded.
import * as grpc from '@grpc/grpc-js';
import { asBuffer, type Received, unaryMethod } from '../common/grpc-unary.js';
import { healthPb } from '../common/proto.js';
import type { HealthMonitor } from './health-monitor.js';
import type { HealthVerdict } from './health.js';

const SERVICE = 'grpc.health.v1.Health';

/** Every method's path starts with this (the client-auth interceptor lets them through). */
export const HEALTH_SERVICE_PATH_PREFIX = `/${SERVICE}/`;

/** The service names a member answers for: itself as a whole, and its client service. */
export const HEALTH_SERVICE_NAMES: readonly string[] = ['', 'duoraft.client.Kv'];

export const ServingStatus = healthPb.HealthCheckResponse.ServingStatus;
export type ServingStatusValue = (typeof ServingStatus)[keyof typeof ServingStatus];

type Request = InstanceType<typeof healthPb.HealthCheckRequest>;
type RequestOut = ConstructorParameters<typeof healthPb.HealthCheckRequest>[0] & object;
type Response = InstanceType<typeof healthPb.HealthCheckResponse>;
type ResponseOut = ConstructorParameters<typeof healthPb.HealthCheckResponse>[0] & object;

export interface WatchMethod extends grpc.ServerMethodDefinition<Received<Request>, ResponseOut> {
  readonly requestSerialize: grpc.serialize<RequestOut>;
  readonly responseDeserialize: grpc.deserialize<Response>;
}

const check = unaryMethod(SERVICE, 'Check', healthPb.HealthCheckRequest, healthPb.HealthCheckResponse);

const watch: WatchMethod = {
  path: `/${SERVICE}/Watch`,
  requestStream: false,
  responseStream: true,
  requestSerialize: check.requestSerialize,
  requestDeserialize: check.requestDeserialize,
  responseSerialize: (m) => asBuffer(healthPb.HealthCheckResponse.encode(m).finish()),
  responseDeserialize: (bytes) => healthPb.HealthCheckResponse.decode(bytes),
};

export const healthService = { check, watch } as const;

export const HealthClient = grpc.makeGenericClientConstructor(healthService, SERVICE);

export type HealthHandlers = {
  readonly check: grpc.handleUnaryCall<Received<Request>, ResponseOut>;
  readonly watch: grpc.handleServerStreamingCall<Received<Request>, ResponseOut>;
};

function statusOf(verdict: HealthVerdict): ServingStatusValue {
  return verdict.serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

/** The service's handlers over `monitor`. */
export function healthHandlers(monitor: HealthMonitor): HealthHandlers {
  return {
    check: (call, callback) => {
      const r = call.request;
      if (!r.ok) return callback({ code: grpc.status.INVALID_ARGUMENT, details: r.reason });
      const service = r.request.service ?? '';
      if (!HEALTH_SERVICE_NAMES.includes(service)) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
      callback(null, { status: statusOf(monitor.current()) });
    },
    watch: (call) => {
      const r = call.request;
      if (!r.ok) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: r.reason });
        return;
      }
      const service = r.request.service ?? '';
      if (!HEALTH_SERVICE_NAMES.includes(service)) {
        // The protocol's answer for a service this server does not know. The protocol would
        // keep the stream open in case it appears; a member's services never change, so it
        // ends here (and holds nothing).
        call.write({ status: ServingStatus.SERVICE_UNKNOWN });
        call.end();
        return;
      }
      let last: ServingStatusValue | null = null;
      let ended = false;
      const unwatch = monitor.watch({
        update: (verdict) => {
          const status = statusOf(verdict);
          if (ended || status === last) return;
          last = status;
          call.write({ status });
        },
        end: () => {
          if (ended) return;
          ended = true;
          call.end();
        },
      });
      if (unwatch === null) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many health watchers on this member; use Check' });
        return;
      }
      const end = (): void => {
        ended = true;
        unwatch();
      };
      call.on('cancelled', end);
      call.on('close', end);
      call.on('error', end);
    },
  };
}
