// Why a connection to a member failed, when the reason is that the two sides' security
// settings do not match. grpc-js reports all of these as UNAVAILABLE, like a member that
// is down, and a caller would retry until its deadline; these checks turn them into one
// clear, non-retryable error (or, for the peer transport, one clear log line).
//
// - We speak TLS, the member does not: OpenSSL reads its HTTP/2 bytes as a TLS record
//   ("wrong version number").
// - We speak TLS and the member's certificate does not verify (another CA, expired, or
//   it names no voter of this cluster).
// - We speak plaintext and the member speaks TLS: grpc-js only says "Failed to connect",
//   so speaksTls() asks the member for a TLS handshake to find out.
import { connect as tlsConnect } from 'node:tls';
import { ConfigError, type DuoraftError, UnauthenticatedError } from '../common/errors.js';

const PLAINTEXT_ANSWER = /wrong version number|packet length too long|http request|unknown protocol/i;
const CERTIFICATE_PROBLEM =
  /certificate|WrongMemberIdentityError|unable to get (local )?issuer|unable to verify|self[- ]signed|CERT_|DEPTH_ZERO|ERR_TLS_CERT|tlsv1 alert|alert (bad|unknown)/i;

/** What a failed TLS connection's details say about the other end, if anything. */
export type TlsFailureKind = 'speaks-plaintext' | 'certificate';

export function classifyTlsFailure(details: string): TlsFailureKind | null {
  if (PLAINTEXT_ANSWER.test(details)) return 'speaks-plaintext';
  if (CERTIFICATE_PROBLEM.test(details)) return 'certificate';
  return null;
}

/** The client's error for a failure of a TLS connection whose details show a security mismatch, or null. */
export function tlsConnectionFailure(details: string, address: string): DuoraftError | null {
  switch (classifyTlsFailure(details)) {
    case 'speaks-plaintext':
      return new ConfigError(`the member at ${address} does not speak TLS: the cluster runs without TLS; connect without --tls-ca, or restart the nodes with --tls-cert/--tls-key/--tls-ca`);
    case 'certificate':
      return new UnauthenticatedError(`the member at ${address} could not prove it is a voter of this cluster (${oneLine(details)}); check that --tls-ca is the cluster's CA and --cluster its name`);
    case null:
      return null;
  }
}

/** The error for a plaintext caller whose member turned out to speak TLS. */
export function plaintextToTlsMember(address: string): ConfigError {
  return new ConfigError(
    `the member at ${address} requires TLS: give the cluster CA (--tls-ca, or tls.ca in connect()) and a client certificate (--tls-cert/--tls-key) or the cluster token (--token-file)`,
  );
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** host and port of "host:port" or "[v6]:port"; null if it is neither. */
function hostPort(address: string): { host: string; port: number } | null {
  const i = address.lastIndexOf(':');
  if (i <= 0) return null;
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return null;
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

/**
 * Whether the member at `address` completes a TLS handshake (certificate not checked: the
 * question is only which protocol it speaks). False when it does not, or does not answer
 * within timeoutMs.
 */
export function speaksTls(address: string, timeoutMs = 1000): Promise<boolean> {
  const hp = hostPort(address);
  if (hp === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const socket = tlsConnect({ host: hp.host, port: hp.port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: 'duoraft-member' });
    const finish = (answer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    socket.once('secureConnect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}
