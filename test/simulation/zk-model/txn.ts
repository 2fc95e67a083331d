// A transaction of the model ensemble: what the leader decided for one write (or for a
// session starting or ending), in the order of its zxid. The leader applies it when it
// decides it; every follower applies the same transactions in the same order, later.
// Replaying one on a follower's tree gives exactly the leader's result (same tree before,
// same ops), so a transaction carries the request, not its effects.
import type { ZkOp } from '../../../src/coordination/zk-api.js';
import type { ReplyOutcome } from './requests.js';

export type TxnChange =
  /** Ops applied (all of them: a failed request is an 'error' transaction). */
  | { readonly kind: 'ops'; readonly ops: readonly ZkOp[]; readonly owner: string }
  /** A write that failed: it takes a zxid and changes nothing, as on the real server. */
  | { readonly kind: 'error' }
  | { readonly kind: 'createSession'; readonly sessionId: string }
  /** The session ended (closed, or expired): its ephemerals go. */
  | { readonly kind: 'closeSession'; readonly sessionId: string };

/** Which request a transaction answers: the server it came in through, and its key there. */
export interface TxnOrigin {
  readonly server: number;
  readonly key: number;
}

export interface Txn {
  readonly zxid: bigint;
  readonly change: TxnChange;
  /** null for the ensemble's own transactions (a session expiring, a session upgrade). */
  readonly origin: TxnOrigin | null;
  /** The reply its origin server sends once it applied the transaction itself. */
  readonly outcome: ReplyOutcome;
}
