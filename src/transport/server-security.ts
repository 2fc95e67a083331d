// The node's gRPC server side of security: TLS credentials, and the check every client
// call passes before it reaches a handler.
//
// One port serves the peer and the client service. The TLS handshake asks every caller
// for a certificate but does not insist on one (a client may authenticate with the token
// instead); the certificate is verified against the cluster CA, and grpc-js exposes it to
// the call only when it verified. Each service then decides:
// - Peer: a verified certificate naming another voter of this cluster, checked by the
//   peer transport itself (it needs the id; see grpc-peer-transport.ts).
// - Client (everything else, so a method added later is covered too): a verified
//   certificate, or the cluster token when one is set. Refused calls end with
//   UNAUTHENTICATED before the handler runs.
// - Open paths the composition root names (the gRPC health service: probes cannot present
//   credentials; see src/server/health-service.ts for why that tells nothing): no check.
// A plaintext caller never gets that far: the TLS server drops its connection.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { TOKEN_METADATA_KEY, TokenCheck } from './client-token.js';
import { PEER_SERVICE_PATH_PREFIX } from './peer-service.js';
import type { TlsMaterial } from './tls-material.js';
import { WarningThrottle } from '../common/warning-throttle.js';

/**
 * Hands grpc-js the PEM material once, on a later turn: its server registers for updates
 * only after asking the provider for them, so an update made during that request would
 * be missed (and the server would drop every connection as "credentials not loaded").
 */
class StaticCertificateProvider implements grpc.experimental.CertificateProvider {
  constructor(private readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer }) {}

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    queueMicrotask(() => listener({ caCertificate: this.tls.ca }));
  }

  removeCaCertificateListener(): void {}

  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    queueMicrotask(() => listener({ certificate: this.tls.cert, privateKey: this.tls.key }));
  }

  removeIdentityCertificateListener(): void {}
}

/**
 * Server credentials: plaintext without TLS material; with it, TLS that requests a client
 * certificate, verifies it against the CA, and leaves the decision to the services.
 */
export function serverCredentials(tls: TlsMaterial | null): grpc.ServerCredentials {
  if (tls === null) return grpc.ServerCredentials.createInsecure();
  if (tls.cert === undefined || tls.key === undefined) throw new Error('server TLS material needs a certificate and a key');
  const provider = new StaticCertificateProvider({ ca: tls.ca, cert: tls.cert, key: tls.key });
  // The same provider is passed for the CA and the identity: it serves both, and grpc-js's
  // factory and constructor do not name their two provider arguments in the same order.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** How a node authenticates clients. */
export interface ClientAuthPolicy {
  /** TLS is on: a client certificate verified by the cluster CA authenticates. */
  readonly certificates: boolean;
  /** The cluster token, if any: presenting it also authenticates. */
  readonly token: string | null;
  /** Method path prefixes served without credentials (still over TLS). */
  readonly openPaths?: readonly string[];
}

/** Why the call is refused, or null when it may proceed. */
function refusal(policy: ClientAuthPolicy, tokens: TokenCheck | null, call: grpc.ServerInterceptingCallInterface, metadata: grpc.Metadata): string | null {
  if (policy.certificates && call.getAuthContext().sslPeerCertificate !== undefined) return null;
  const presented = metadata.get(TOKEN_METADATA_KEY);
  if (tokens !== null && tokens.matches(presented)) return null;
  const accepted = tokens !== null ? 'a client certificate signed by the cluster CA or the cluster token' : 'a client certificate signed by the cluster CA';
  const got = presented.length > 0 ? (tokens !== null ? 'a wrong token' : 'a token, which this cluster does not use') : 'no valid credentials';
  return `this cluster requires ${accepted}; the call came with ${got}`;
}

/**
 * The interceptor that authenticates client calls, or null when the policy lets everyone
 * in (no TLS, no token). Peer calls pass through: the peer transport checks them.
 */
export function clientAuthInterceptor(policy: ClientAuthPolicy, logger: Logger, clock: Clock): grpc.ServerInterceptor | null {
  if (!policy.certificates && policy.token === null) return null;
  const tokens = policy.token === null ? null : new TokenCheck(policy.token);
  const warnings = new WarningThrottle(logger, clock);
  const open = policy.openPaths ?? [];
  return (method, call) => {
    if (method.path.startsWith(PEER_SERVICE_PATH_PREFIX)) return new grpc.ServerInterceptingCall(call);
    if (open.some((prefix) => method.path.startsWith(prefix))) return new grpc.ServerInterceptingCall(call);
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const why = refusal(policy, tokens, call, metadata);
        if (why === null) {
          next(metadata);
          return;
        }
        warnings.warn('client-refused', { rpc: method.path, remote: call.getPeer(), reason: why }, 'refused an unauthenticated client call');
        call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: why, metadata: new grpc.Metadata() });
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener)).build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}
