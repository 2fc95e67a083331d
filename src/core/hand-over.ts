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

/** What the core does next about the hand-over it waits on. */
export type HandOverAction =
  /** Nothing (still waiting, or nothing waited on). */
  | { readonly kind: 'stay' }
  /** Confirmed by the lease znode: fence now, against the claimed version. */
  | { readonly kind: 'take-over' }
  /** The sender still leads (it touched its lease), or the wait timed out: follow it again. */
  | { readonly kind: 'follow'; readonly sender: NodeId };

const STAY: HandOverAction = { kind: 'stay' };

/** A hand-over the follower waits on: the claim, when it came, and whether it said why it fell back. */
class PendingHandOver {
  private noted = false;

  constructor(
    readonly claim: HandOverClaim,
    /** The tick the wait began (its first TimeoutNow; a restated claim keeps it). */
    readonly since: number,
  ) {}

  /** `reason` the first time this hand-over is found not confirmed; null afterwards (one warning per hand-over). */
  once(reason: string): string | null {
    if (this.noted) return null;
    this.noted = true;
    return reason;
  }
}

/**
 * The follower's wait on a TimeoutNow: what it claims, and why it was not taken at once (said
 * once per hand-over, Ready.handOverUnconfirmed). The core owns the roles; this decides
 * what a TimeoutNow, a lease sighting, a tick or a refused pre-vote means for the wait.
 */
export class HandOverWait {
  private pending: PendingHandOver | null = null;
  private note: string | undefined;
  /** What the lease znode held at the version last seen (null: not told). */
  private lease: LeaseSighting | null = null;

  constructor(private readonly timeoutTicks: number) {}

  /** A hand-over is waited on (the pre-vote says so: a leader that handed over grants it). */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Whether the wait is on a hand-over from `from` (a TimeoutNow of its may restate the claim). */
  waitsOn(from: NodeId): boolean {
    return this.pending !== null && this.pending.claim.from === from;
  }

  /**
   * A TimeoutNow the core accepts from its leader, or from the sender it waits on. 'ignore':
   * the sender touched its lease after the version it names (a transfer it gave up, or a
   * forgery); otherwise the wait goes on with this claim: 'take-over' when the lease znode
   * confirms it already, else 'wait'. A claim restated by the sender waited on keeps the
   * wait's start: a forger repeating TimeoutNows must not keep the follower off its leader
   * past the transfer timeout (review 29).
   */
  receive(claim: HandOverClaim, tick: number): 'ignore' | 'take-over' | 'wait' {
    const verdict = judgeHandOver(claim, this.lease);
    if (verdict.kind === 'alive') {
      this.note = verdict.reason;
      return 'ignore';
    }
    const since = this.pending?.claim.from === claim.from ? this.pending.since : tick;
    this.pending = new PendingHandOver(claim, since);
    return verdict.kind === 'confirmed' ? 'take-over' : 'wait';
  }

  /**
   * The lease watch saw `version`, holding `record` when the caller read it (a version names
   * one write: what it held stays known until the version changes).
   */
  sight(version: number, record: Omit<LeaseSighting, 'version'> | undefined): void {
    if (record) this.lease = { version, ...record };
    else if (this.lease?.version !== version) this.lease = null;
  }

  /** What the lease znode, as last seen, says of the pending hand-over (a pre-candidate acts on it). */
  judge(): HandOverAction {
    const h = this.pending;
    if (h === null) return STAY;
    const verdict = judgeHandOver(h.claim, this.lease);
    if (verdict.kind === 'confirmed') return { kind: 'take-over' };
    if (verdict.kind === 'alive') {
      this.noteOnce(verdict.reason);
      return { kind: 'follow', sender: h.claim.from };
    }
    if (verdict.kind === 'unconfirmed') this.noteOnce(verdict.reason);
    return STAY;
  }

  /** A tick as a pre-candidate: the leader gives its transfer up after as long, and takes its lease back. */
  onTick(tick: number): HandOverAction {
    const h = this.pending;
    if (h === null || tick - h.since < this.timeoutTicks) return STAY;
    this.noteOnce(`the lease znode did not confirm it within ${this.timeoutTicks} ticks`);
    return { kind: 'follow', sender: h.claim.from };
  }

  /** The ordinary take-over starts instead (the lease was quiet for the window after silence). */
  onQuietLease(leaseVersion: number): void {
    const h = this.pending;
    if (h) this.noteOnce(`the lease znode stayed at version ${leaseVersion} without confirming it (the TimeoutNow names version ${h.claim.leaseVersion})`);
  }

  /** The peer refused the pre-vote as a leader that did not hand over. */
  onObjection(from: NodeId): void {
    if (this.pending) this.noteOnce(`${from} answered that it leads and has not handed over`);
  }

  /** The core left the pre-candidate's wait (it follows, takes over, or leads). */
  clear(): void {
    this.pending = null;
  }

  /** Why a hand-over was not taken as confirmed, if there is news (handed out once). */
  takeNote(): string | undefined {
    const n = this.note;
    this.note = undefined;
    return n;
  }

  get hasNote(): boolean {
    return this.note !== undefined;
  }

  private noteOnce(reason: string): void {
    const note = this.pending?.once(reason) ?? null;
    if (note !== null) this.note = note;
  }
}
