// How the client service tells metrics about each operation it answered: its kind (a
// read by its consistency), how long it took, and its outcome (OK or the error code the
// client got). Unary calls and pipelined operations are told alike.
import { pb } from '../common/proto.js';
import type { duoraft } from '../common/proto.js';

export type ClientOpKind =
  | 'put'
  | 'delete'
  | 'incr'
  | 'cas'
  | 'get_linearizable'
  | 'get_lease'
  | 'get_stale'
  | 'register_session'
  | 'keep_alive'
  | 'transfer_leadership'
  | 'take_snapshot'
  | 'status'
  | 'invalid';

export interface ClientOpObserver {
  /** `code`: 'OK' or the wire error's code name ('NOT_LEADER', 'BUSY', ...). */
  clientOp(kind: ClientOpKind, ms: number, code: string): void;
}

export const noClientOpObserver: ClientOpObserver = { clientOp: () => undefined };

/** The name of a wire error code ('BUSY'); OK for 0 and for none. */
export function errorCodeName(code: number | null | undefined): string {
  if (!code) return 'OK';
  return pb.client.ErrorCode[code] ?? 'UNKNOWN';
}

/** A read's kind, by the consistency it asked for. */
export function getKind(consistency: number | null | undefined): ClientOpKind {
  switch (consistency ?? 0) {
    case pb.client.Consistency.LINEARIZABLE:
      return 'get_linearizable';
    case pb.client.Consistency.LEASE:
      return 'get_lease';
    case pb.client.Consistency.STALE:
      return 'get_stale';
    default:
      return 'invalid';
  }
}

/** A pipelined operation's kind. */
export function pipelinedKind(req: duoraft.client.PipelineRequest.$Properties): ClientOpKind {
  if (req.put) return 'put';
  if (req.get) return getKind(req.get.consistency);
  if (req.delete) return 'delete';
  if (req.incr) return 'incr';
  if (req.cas) return 'cas';
  return 'invalid';
}

/** A pipelined operation's outcome code. */
export function pipelinedCode(res: duoraft.client.PipelineResponse.$Properties): string {
  const error = res.error ?? res.put?.error ?? res.get?.error ?? res.delete?.error ?? res.incr?.error ?? res.cas?.error;
  return errorCodeName(error?.code);
}
