// The mapping between typed errors and the in-band Error of proto/client.proto, used by
// the server to answer and by the client to rethrow. Both sides share it so a code never
// means two things.
import { pb } from './proto.js';
import {
  BusyError,
  DuoraftError,
  InvalidArgumentError,
  NotLeaderError,
  SessionExpiredError,
  TimeoutError,
  UnavailableError,
  UnknownOutcomeError,
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
    default:
      return new DuoraftError('INTERNAL', message || 'internal error', false);
  }
}
