// The mapping between typed errors and the in-band Error of proto/client.proto, used by
// the server to answer and by the client to rethrow. Both sides share it so a code never
// means two things.
import { pb } from './proto.js';
import {
  BusyError,
  DuoraftError,
  InvalidArgumentError,
  NotLeaderError,
  PermissionDeniedError,
  SessionExpiredError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UnknownOutcomeError,
  ZkBudgetExceededError,
} from './errors.js';

const Code = pb.client.ErrorCode;

export interface WireError {
  readonly code: number;
  readonly message: string;
  readonly leaderId: string;
  readonly leaderAddress: string;
  readonly retryAfterMs: number;
}

export function toWireError(err: unknown): WireError {
  const base = { leaderId: '', leaderAddress: '', retryAfterMs: 0 };
  if (err instanceof NotLeaderError) return { ...base, code: Code.NOT_LEADER, message: err.message, leaderId: err.leaderId, leaderAddress: err.leaderAddress };
  if (err instanceof BusyError) {
    return { code: Code.BUSY, message: err.message, leaderId: err.leaderId, leaderAddress: err.leaderAddress, retryAfterMs: err.retryAfterMs };
  }
  if (err instanceof DuoraftError) {
    const code =
      err.code === 'TIMEOUT' ? Code.TIMEOUT
      : err.code === 'SESSION_EXPIRED' ? Code.SESSION_EXPIRED
      : err.code === 'INVALID_ARGUMENT' ? Code.INVALID_ARGUMENT
      : err.code === 'UNKNOWN_OUTCOME' ? Code.UNKNOWN_OUTCOME
      : err.code === 'UNAVAILABLE' || err.code === 'ZK_UNAVAILABLE' ? Code.UNAVAILABLE
      : err.code === 'ZK_BUDGET_EXCEEDED' ? Code.ZK_BUDGET_EXCEEDED
      : Code.INTERNAL;
    return { ...base, code, message: err.message };
  }
  return { ...base, code: Code.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

/** The wire error as decoded: every field may be absent or null. */
export interface DecodedWireError {
  readonly code?: number | null;
  readonly message?: string | null;
  readonly leaderId?: string | null;
  readonly leaderAddress?: string | null;
  readonly retryAfterMs?: number | null;
}

/** The typed error for a wire error, or null for OK. */
export function fromWireError(e: DecodedWireError | null | undefined): DuoraftError | null {
  if (!e || !e.code) return null;
  const message = e.message ?? '';
  const hint = { leaderId: e.leaderId ?? '', leaderAddress: e.leaderAddress ?? '' };
  switch (e.code) {
    case Code.NOT_LEADER:
      return new NotLeaderError(hint, message || undefined);
    case Code.BUSY:
      return new BusyError(e.retryAfterMs ?? 10, hint, message || undefined);
    case Code.TIMEOUT:
      return new TimeoutError(message);
    case Code.SESSION_EXPIRED:
      return new SessionExpiredError(message);
    case Code.INVALID_ARGUMENT:
      return new InvalidArgumentError(message);
    case Code.UNKNOWN_OUTCOME:
      return new UnknownOutcomeError(message);
    case Code.UNAVAILABLE:
      return new UnavailableError(message);
    case Code.ZK_BUDGET_EXCEEDED:
      return new ZkBudgetExceededError(message);
    default:
      return new DuoraftError('INTERNAL', message || 'internal error', false);
  }
}

/** gRPC status codes duoraft gives a meaning of its own (grpc.status, without importing grpc-js here). */
export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_PERMISSION_DENIED = 7;

/**
 * The typed error for a call a member refused with a gRPC status (not in-band): the
 * credentials were missing or wrong (UNAUTHENTICATED) or do not allow the call
 * (PERMISSION_DENIED). Null for any other status, which is the transport's business.
 */
export function fromGrpcStatus(err: { readonly code?: unknown; readonly details?: unknown }, address: string): DuoraftError | null {
  const details = typeof err.details === 'string' ? err.details : '';
  if (err.code === GRPC_UNAUTHENTICATED) {
    return new UnauthenticatedError(`the member at ${address} refused the call: ${details}; give the cluster's client certificate (--tls-cert/--tls-key) or token (--token-file)`);
  }
  if (err.code === GRPC_PERMISSION_DENIED) return new PermissionDeniedError(`the member at ${address} refused the call: ${details}`);
  return null;
}
