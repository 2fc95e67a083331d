// The leader's side of a leadership transfer as the core drives it: starts one, steps it on
// every tick and on every answer that moved the follower's match, hands over (a heartbeat that
// tells the follower everything is committed, then TimeoutNow, and the relinquish of the lease
// for the next Ready), gives it up and takes the lease back, and judges the driver's late
// reports about a hand-over (its relinquish failed, its TimeoutNow left, the operator's
// deadline passed) against the transfer they name (reviews 32-35). leader-transfer.ts holds
// the transfer's state and steps; this carries them out. The role and the term stay RaftCore's:
// this reads them through the leader it works for. Pure: no I/O, no clock.
import { LeaderTransfer } from './leader-transfer.js';
import type { RaftLog } from './log.js';
import type { Message } from './messages.js';
import type { PendingReady } from './pending-ready.js';
import type { Replication } from './replication.js';
import type { NodeId } from './types.js';

/** What a transfer reads of the log (RaftLog): whether the follower holds all of it. */
export type TransferLog = Pick<RaftLog, 'lastIndex'>;

/** What a transfer reads of the leader's replication and asks of it (replication.ts). */
export type TransferReplication = Pick<Replication, 'hasFollower' | 'matchedUpTo' | 'sendHeartbeat'>;

/** The lease requests a transfer makes of the next Ready (pending-ready.ts). */
export type TransferLeaseRequests = Pick<PendingReady, 'relinquishLease' | 'resumeLease'>;

/** The leader a transfer works for, as it stands at each call (RaftCore). */
export interface TransferringLeader {
  readonly id: NodeId;
  /** Whether this node leads now. */
  leads(): boolean;
  /** The follower ('' while the cluster has only this voter). */
  peer(): NodeId;
  term(): number;
  commit(): number;
  send(m: Message): void;
}

export class TransferDriving {
  private readonly transfer: LeaderTransfer;

  constructor(
    timeoutSteps: number,
    private readonly log: TransferLog,
    private readonly replication: TransferReplication,
    private readonly lease: TransferLeaseRequests,
    private readonly leader: TransferringLeader,
  ) {
    this.transfer = new LeaderTransfer(timeoutSteps);
  }

  /** Whether a transfer is under way. */
  get transferring(): boolean {
    return this.transfer.transferring;
  }

  /** TimeoutNow went (the lease was relinquished) and the follower's take-over is awaited. */
  get handedOver(): boolean {
    return this.transfer.handedOver;
  }

  /** Which transfer runs now (or ran last): the relinquish it asks for carries this. */
  get generation(): number {
    return this.transfer.generation;
  }

  /** Leader: hand leadership to the follower once it is caught up. */
  start(): boolean {
    if (!this.leader.leads() || !this.leader.peer() || !this.transfer.start()) return false;
    this.step();
    // Not handed over at once (the follower has not answered for everything yet): a heartbeat
    // now hurries the answers it holds, rather than waiting for its paced fsync. Asked of the
    // transfer itself: an ended transfer's relinquish still uncollected is not this one's (review 34).
    if (this.transfer.transferring && !this.transfer.handedOver) this.replication.sendHeartbeat();
    return true;
  }

  /**
   * A leader's tick, or an append reply that moved its follower's match: one step of the
   * transfer under way, if any.
   */
  advance(): void {
    if (this.transfer.transferring) this.step();
  }

  /** Leader: give up a transfer that is not done (the driver's deadline passed). */
  abort(): void {
    if (this.leader.leads()) this.transfer.abort();
  }

  /**
   * Leader: the last lease record of a hand-over (relinquished) did not land, so its
   * TimeoutNow was not sent: the transfer is given up and the lease taken back. `transfer`
   * is the generation its Ready named: the relinquish is async, and a failure that comes
   * after its transfer ended must not end a newer one (that one's own relinquish decides).
   */
  relinquishFailed(term: number, transfer: number): void {
    this.endHandOver(term, transfer);
  }

  /**
   * Leader: the operator's deadline passed (after abort). A transfer that handed over is given
   * up too, and the lease taken back, unless its TimeoutNow left already (the driver said so:
   * timeoutNowLeft; then its take-over decides): its relinquish may not be handed out yet, or
   * its record still being written. The operator is told the transfer failed and this node
   * still leads; the relinquish is then not handed out (collect), or its answer sends nothing
   * (handingOver).
   */
  withdrawHandOver(): void {
    if (!this.transfer.handedOver || this.transfer.timeoutNowOut) return;
    this.endHandOver(this.leader.term(), this.transfer.generation);
  }

  /** Leader: the driver sent the TimeoutNow of transfer `transfer` of term `term` (its record landed). */
  timeoutNowLeft(term: number, transfer: number): void {
    if (this.handingOver(term, transfer)) this.transfer.markTimeoutNowLeft();
  }

  /**
   * Leader: whether transfer `transfer` of term `term` still waits on its hand-over, so the
   * TimeoutNow its relinquished lease record was written for may still go. A transfer that
   * ended while the record was being written (timed out, its peer replaced) took the lease
   * back already; its TimeoutNow would hand over a leadership the operator was told stays.
   */
  handingOver(term: number, transfer: number): boolean {
    return this.leader.leads() && term === this.leader.term() && this.transfer.handedOver && transfer === this.transfer.generation;
  }

  /**
   * Leader: the follower changed. A transfer went to the old peer: it is over. If the lease
   * was handed over, take it back (the old peer's take-over, if any, fails the fence's lease
   * and config checks). Left alone, the leader refused every write as 'transferring' for good
   * (review 12).
   */
  peerChanged(): void {
    if (this.transfer.end()) this.lease.resumeLease();
  }

  /** A new term as leader, or leadership lost: no transfer. */
  reset(): void {
    this.transfer.reset();
  }

  private step(): void {
    const last = this.log.lastIndex();
    const step = this.transfer.step(this.replication.hasFollower, this.replication.matchedUpTo(last) && this.leader.commit() === last);
    // The follower did not catch up, or did not take over, in time: keep leading. If the
    // lease was handed over, take it back (a take-over still under way then fails its
    // lease check).
    if (step === 'take-lease-back') this.lease.resumeLease();
    if (step !== 'hand-over') return;
    this.lease.relinquishLease(this.transfer.generation);
    // Tell the follower everything is committed first: then it has nothing to replay.
    this.replication.sendHeartbeat();
    this.leader.send({ type: 'timeoutNow', from: this.leader.id, to: this.leader.peer(), term: this.leader.term(), leaseVersion: 0 });
  }

  private endHandOver(term: number, transfer: number): void {
    if (!this.leader.leads() || term !== this.leader.term() || !this.transfer.transferring || transfer !== this.transfer.generation) return;
    if (this.transfer.end()) this.lease.resumeLease();
  }
}
