// Asks one member for its health through the standard gRPC health service (Check):
// what `duoraft health` and probes use. One call, one deadline, no retries: a probe
// wants the answer of this member now.
import * as grpc from '@grpc/grpc-js';
import { type DuoraftError, TimeoutError, UnavailableError } from '../common/errors.js';
import { HealthClient, healthService, ServingStatus } from '../server/health-service.js';
import { memberChannelSecurity } from '../transport/channel-security.js';
import { type ConnectOptions, clientSecurity } from './client.js';
import { oneLine, plaintextToTlsMember, speaksTls, tlsConnectionFailure } from '../transport/connection-diagnosis.js';

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNKNOWN';

export interface HealthCheckOptions {
  /** The member's HOST:PORT. */
  readonly address: string;
  /** The service to ask about: '' (the member as a whole) or 'duoraft.client.Kv'. */
  readonly service: string;
  /** The cluster name: with TLS, the member's certificate must name a voter of it. */
  readonly cluster: string;
  readonly deadlineMs: number;
  /** The CA (and a client certificate) as for connect(); the service itself asks for no credentials. */
  readonly security: Pick<ConnectOptions, 'tls' | 'token'>;
}

function statusName(status: number | null | undefined): HealthStatus {
  switch (status) {
    case ServingStatus.SERVING:
      return 'SERVING';
    case ServingStatus.NOT_SERVING:
      return 'NOT_SERVING';
    case ServingStatus.SERVICE_UNKNOWN:
      return 'SERVICE_UNKNOWN';
    default:
      return 'UNKNOWN';
  }
}

/** The member's answer; throws a typed error when it gives none. */
export async function checkHealth(o: HealthCheckOptions): Promise<HealthStatus> {
  const security = memberChannelSecurity(o.cluster, clientSecurity(o.security), o.address);
  const client = new HealthClient(o.address, security.credentials, security.options);
  try {
    const answer = await new Promise<{ status: HealthStatus } | { error: grpc.ServiceError }>((resolve) => {
      const m = healthService.check;
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, { service: o.service }, { deadline: Date.now() + o.deadlineMs }, (err, res) => {
        if (err) resolve({ error: err });
        else resolve({ status: statusName(res?.status) });
      });
    });
    if ('status' in answer) return answer.status;
    throw await explain(answer.error, o);
  } finally {
    client.close();
  }
}

async function explain(err: grpc.ServiceError, o: HealthCheckOptions): Promise<DuoraftError> {
  if (err.code === grpc.status.NOT_FOUND) return new UnavailableError(`the member at ${o.address} knows no service ${JSON.stringify(o.service)}: ask for "" or "duoraft.client.Kv"`);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new TimeoutError(`no answer from the member at ${o.address} within ${o.deadlineMs} ms`);
  if (err.code === grpc.status.UNIMPLEMENTED) return new UnavailableError(`the process at ${o.address} serves no gRPC health service: is it a duoraft member?`);
  const details = err.details || err.message;
  const mismatch = o.security.tls ? tlsConnectionFailure(details, o.address) : (await speaksTls(o.address, 1000)) ? plaintextToTlsMember(o.address) : null;
  // grpc-js's details end with a resolver note that says nothing here.
  const reason = oneLine(details).replace(/\s*Resolution note:.*$/, '').replace('Last error: Error: ', 'last error: ');
  return mismatch ?? new UnavailableError(`the member at ${o.address} cannot be reached: ${reason}`);
}
