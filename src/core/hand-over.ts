// The follower's side of a leadership transfer: whether a TimeoutNow may skip the lease
// window (fuzz finding 5). Pure: the core calls it with what the lease watch last showed.
//
// In plaintext anyone can send a TimeoutNow that names the leader, its term and the lease
// version (all readable in ZooKeeper). Fencing at once on such a message would depose a
// leader whose lease still holds, and its lease reads would then be stale. So the fast path
// needs ZooKeeper's word, which a forger cannot write: the leader, once its lease has ended,
// writes one last lease record that says it relinquished the lease, and names that write's
// version in its TimeoutNow. The follower takes the fast path only when the lease znode is
// at exactly that version and holds that record (relinquished by the sender, in its term);
// its fence checks the version again, so the znode is still that record when the epoch
// moves. Anything else falls back to the ordinary take-over, which waits out the lease
// window (notes/safety.md, "Leadership transfer").
import type { NodeId } from './types.js';

/** What the lease znode held at one version, as the follower's watch read it. */
export interface LeaseSighting {
  readonly version: number;
  /** The term and leader the record names. */
  readonly term: number;
  readonly holder: NodeId;
  /** The record says its holder relinquished the lease (a hand-over). */
  readonly relinquished: boolean;
}

/** What a TimeoutNow claims: its sender hands over its term, its lease left at this version. */
export interface HandOverClaim {
  readonly from: NodeId;
  readonly term: number;
  readonly leaseVersion: number;
}

export type HandOverVerdict =
  /** The lease znode is at the claimed version and says the sender relinquished it: take over now. */
  | { readonly kind: 'confirmed' }
  /** The lease znode has not reached the claimed version yet (the watch lags the message): wait. */
  | { readonly kind: 'wait' }
  /** The sender touched its lease after the claimed version: it leads, with a lease. */
  | { readonly kind: 'alive'; readonly reason: string }
  /** The znode reached the claimed version (or passed it) without confirming the hand-over. */
  | { readonly kind: 'unconfirmed'; readonly reason: string };

export function judgeHandOver(claim: HandOverClaim, lease: LeaseSighting | null): HandOverVerdict {
  if (lease === null || lease.version < claim.leaseVersion) return { kind: 'wait' };
  const bySender = lease.holder === claim.from && lease.term === claim.term;
  if (lease.version === claim.leaseVersion) {
    if (bySender && lease.relinquished) return { kind: 'confirmed' };
    return { kind: 'unconfirmed', reason: `the lease znode at version ${lease.version} holds ${describe(lease)}, not a lease relinquished by ${claim.from} in term ${claim.term}` };
  }
  if (bySender && !lease.relinquished) {
    return { kind: 'alive', reason: `${claim.from} touched its lease (version ${lease.version}) after the version ${claim.leaseVersion} its TimeoutNow names` };
  }
  return { kind: 'unconfirmed', reason: `the lease znode moved to version ${lease.version} (${describe(lease)}), past the version ${claim.leaseVersion} the TimeoutNow names` };
}

function describe(l: LeaseSighting): string {
  const who = l.holder === '' ? 'no leader' : `${l.holder} in term ${l.term}`;
  return l.relinquished ? `a lease relinquished by ${who}` : `a touch of ${who}`;
}

/** A hand-over the follower waits on: the claim, when it came, and whether it said why it fell back. */
export class PendingHandOver {
  private noted = false;

  constructor(
    readonly claim: HandOverClaim,
    /** The tick the TimeoutNow came at. */
    readonly since: number,
  ) {}

  /** `reason` the first time this hand-over is found not confirmed; null afterwards (one warning per hand-over). */
  once(reason: string): string | null {
    if (this.noted) return null;
    this.noted = true;
    return reason;
  }
}
