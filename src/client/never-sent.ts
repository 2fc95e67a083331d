// Whether a unary call that failed in transport certainly never reached the member, so that
// even a call that is not idempotent (a leadership transfer) may go again. grpc-js does not
// say so on the error (its `progress` field is dropped before the status reaches the
// caller), but one status comes only from the client's own channel: UNAVAILABLE "No
// connection established" is what the pick-first balancer's picker answers while the channel
// has no connection (refused, unreachable, TLS handshake failed), before any HTTP/2 stream is
// opened (grpc-js 1.14 load-balancer-pick-first.js, picker.js UnavailablePicker). A call that
// had a stream and lost it ends "Connection dropped", "Stream refused by server" or
// DEADLINE_EXCEEDED instead, and stays unknown. A duoraft member never answers with a gRPC
// status of its own (its errors go back in-band), so no member can send this one.
// test/integration/client-transfer.test.ts pins the wording against the grpc-js installed.
import * as grpc from '@grpc/grpc-js';

/** The start of the details of a call that found no connection to send on. */
const NO_CONNECTION = 'No connection established';

export function neverSent(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; details?: unknown };
  return e.code === grpc.status.UNAVAILABLE && typeof e.details === 'string' && e.details.startsWith(NO_CONNECTION);
}
