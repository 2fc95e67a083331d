// The caller's side of security: the credentials of a gRPC channel to a member.
//
// With TLS the member's certificate must be signed by the cluster CA and name a voter of
// this cluster (SAN URI duoraft://CLUSTER/voter/ID, see tls-identity.ts); a peer channel
// insists on the one voter it means to reach. Host names are not checked: the identity
// is. A client certificate is presented when there is one, and the token rides on every
// call as call credentials (grpc-js sends those only over TLS).
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../common/errors.js';
import { bearerValue, TOKEN_METADATA_KEY, validateToken } from './client-token.js';
import { voterIdOf } from './tls-identity.js';
import type { TlsMaterial } from './tls-material.js';

/** What a client (library, CLI, tests) authenticates with. */
export interface ClientSecurity {
  /** The cluster CA, and a client certificate and key if the client has one. Absent: plaintext. */
  readonly tls?: TlsMaterial;
  /** The cluster token (needs tls). */
  readonly token?: string;
}

/** A channel's credentials and the options that go with them. */
export interface ChannelSecurity {
  readonly credentials: grpc.ChannelCredentials;
  readonly options: grpc.ChannelOptions;
}

/** Thrown (as the handshake's error) when a member's certificate names no voter, or the wrong one. */
export class WrongMemberIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WrongMemberIdentityError';
  }
}

/**
 * The TLS server name sent to members. A fixed name, not the address: SNI with an IP
 * address is not allowed (Node warns), and the identity check below does not use it.
 */
const SERVER_NAME = 'duoraft-member';

function expectVoter(cluster: string, id: string | null, address: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const who = voterIdOf(cert.subjectaltname, cluster);
    if ('problem' in who) return new WrongMemberIdentityError(`the member at ${address} is not a voter of this cluster: ${who.problem}`);
    if (id !== null && who.id !== id) return new WrongMemberIdentityError(`the member at ${address} is voter ${JSON.stringify(who.id)}, not the expected ${JSON.stringify(id)}`);
    return undefined;
  };
}

function tlsChannel(tls: TlsMaterial, cluster: string, voter: string | null, address: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null, { checkServerIdentity: expectVoter(cluster, voter, address) });
}

const PLAINTEXT: ChannelSecurity = { credentials: grpc.credentials.createInsecure(), options: {} };

/** A client's channel to the member at `address` of `cluster`. Throws ConfigError for a token without TLS. */
export function memberChannelSecurity(cluster: string, security: ClientSecurity, address: string): ChannelSecurity {
  const { tls, token } = security;
  if (tls === undefined) {
    if (token !== undefined) throw new ConfigError('a token needs TLS: give the cluster CA (tls.ca / --tls-ca) too, or the token would travel in clear text');
    return PLAINTEXT;
  }
  const options = { 'grpc.ssl_target_name_override': SERVER_NAME };
  const channel = tlsChannel(tls, cluster, null, address);
  if (token === undefined) return { credentials: channel, options };
  validateToken(token);
  const value = bearerValue(token);
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set(TOKEN_METADATA_KEY, value);
    callback(null, metadata);
  });
  return { credentials: grpc.credentials.combineChannelCredentials(channel, perCall), options };
}

/** A voter's channel to its peer `peerId` at `address`: mutual TLS, or plaintext without material. */
export function peerChannelSecurity(cluster: string, peerId: string, tls: TlsMaterial | null, address: string): ChannelSecurity {
  if (tls === null) return PLAINTEXT;
  return { credentials: tlsChannel(tls, cluster, peerId, address), options: { 'grpc.ssl_target_name_override': SERVER_NAME } };
}
