// The operator's leadership-transfer request (the transfer-leader RPC, and a stopping
// leader's hand-over), kept apart from the node driver's loop: it starts a transfer in the
// core or joins the one under way, waits for it with the other requests held while the role
// settles, and answers with the three-way TransferOutcome (transfer-outcome.ts).
//
// The core drives the transfer itself (core/transfer-driving.ts); the driver's handOver sends
// its TimeoutNow and says so here (timeoutNowLeft), since whether one left decides whether a
// deadline may answer "still leads" (review 37). Nothing here steps the core except through
// its transfer calls, and nothing orders a Ready's side effects: the loop is asked to run.
import type { Clock } from '../common/clock.js';
import { UnavailableError, UnknownOutcomeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { RaftCore } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import type { TransferOutcome } from './transfer-outcome.js';

/** What a transfer request needs of the driver. */
export interface TransferRequestHost {
  /** Leads as the loop last carried it out and as the core sees it now (it may have stepped down since). */
  leads(): boolean;
  /** The node stopped (stop() woke the wait, or it had stopped already). */
  stopped(): boolean;
  /** Asks the loop to run (processReady on the next turn). */
  schedule(): void;
  /** Waits until the role changes or the deadline passes (bounded number of waiters; BUSY beyond it). */
  waitForRoleChange(deadline: number, busyMessage: string): Promise<void>;
  /** The other voter, the transfer's target (for log lines and errors). */
  peer(): NodeId;
}

export interface TransferRequestOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The core's transfer calls. */
  readonly core: Pick<RaftCore, 'isTransferring' | 'transferLeadership' | 'abortTransfer' | 'withdrawHandOver'>;
  readonly host: TransferRequestHost;
}

export class TransferRequests {
  private readonly o: TransferRequestOptions;
  /** TimeoutNows sent so far (the driver's handOver): a transfer's answer asks whether one left while it ran. */
  private timeoutNowsSent = 0;
  /** timeoutNowsSent when the transfer under way (or the last one) started: what a request joining it counts from. */
  private timeoutNowsAtTransferStart = 0;

  constructor(options: TransferRequestOptions) {
    this.o = options;
  }

  /** A TimeoutNow of the transfer under way left for the follower (the driver's handOver sent it). */
  timeoutNowLeft(): void {
    this.timeoutNowsSent++;
  }

  /** A transfer runs now, so a request arriving would join it rather than start one. */
  underWay(): boolean {
    return this.o.host.leads() && this.o.core.isTransferring();
  }

  /**
   * Hands leadership to the follower, waiting at most `timeoutMs` for it to take over (a
   * request that comes while a transfer runs joins it, as in etcd, and waits for its outcome
   * within its own deadline). Rejects UNAVAILABLE when stop() woke the wait, UNKNOWN_OUTCOME
   * instead once a TimeoutNow of the transfer left.
   */
  async transferLeadership(timeoutMs: number): Promise<TransferOutcome> {
    const { clock, logger, core, host } = this.o;
    if (!host.leads()) return 'handed-over';
    const deadline = clock.now() + timeoutMs;
    // A second request used to answer "failed, still leads" at once, while a transfer ran.
    const joined = core.isTransferring();
    // A TimeoutNow of the transfer this request waits on that left makes "still leads" unsure
    // for good, even once the core gives the transfer up: the follower may fence against the
    // relinquished record until the first touch after it lands (review 37).
    const timeoutNowsBefore = joined ? this.timeoutNowsAtTransferStart : this.timeoutNowsSent;
    if (joined) {
      logger.info({ to: host.peer() }, 'a leadership transfer is under way: waiting for its outcome');
    } else {
      if (!core.transferLeadership()) return host.leads() ? 'still-leads' : 'handed-over';
      this.timeoutNowsAtTransferStart = timeoutNowsBefore;
      logger.info({ to: host.peer() }, 'transferring leadership');
      host.schedule();
    }
    const followerTold = (): boolean => this.timeoutNowsSent > timeoutNowsBefore;
    while (host.leads() && core.isTransferring() && clock.now() < deadline && !host.stopped()) {
      await host.waitForRoleChange(deadline, 'too many requests waiting for a transfer');
    }
    if (!host.leads()) return 'handed-over';
    // stop() woke the wait: the member is shutting down (its transfer did not time out, and
    // it will not go on leading), which a caller must hear as such, like every held request.
    if (host.stopped()) {
      // UNAVAILABLE is retried by the client, at whoever leads by then: once a TimeoutNow left
      // that may be the follower, and the retry would hand leadership back (review 37).
      if (followerTold()) {
        throw new UnknownOutcomeError(`this member is shutting down, and ${host.peer()} was told to take over and may still do so: run duoraft status to see who leads before transferring again`);
      }
      throw new UnavailableError('this member is shutting down; leadership was not handed over');
    }
    // A joined transfer is not this request's to give up: the request that started it does so
    // at its own deadline. Still running, it may yet hand over.
    if (joined) return core.isTransferring() || followerTold() ? 'unknown' : 'still-leads';
    core.abortTransfer();
    // abortTransfer leaves a handed-over transfer to its take-over; but one whose TimeoutNow
    // has not left yet (its relinquish not carried out, or its record still being written)
    // ends here, lease taken back, so the "still leads" the operator hears stays true (review 35).
    core.withdrawHandOver();
    host.schedule();
    // What still runs now is a transfer whose TimeoutNow left: the follower may take over yet.
    // One the core gave up already (its own timeout, often before this deadline) had taken its
    // lease back, but a fence against the relinquished record may land before the next touch.
    return core.isTransferring() || followerTold() ? 'unknown' : 'still-leads';
  }
}

/** What the log says of the transfer a stopping leader tried (null: it failed, logged already). */
export function transferBeforeShutdown(outcome: TransferOutcome | null): string {
  switch (outcome) {
    case 'handed-over':
      return 'leadership handed over before shutdown';
    case 'unknown':
      // Its TimeoutNow left, or the transfer it joined still runs: either may still hand over.
      return 'leadership transfer did not finish before shutdown; the follower may still take over by it, else once the lease lapses';
    default:
      return 'leadership transfer did not finish before shutdown; the follower takes over once the lease lapses';
  }
}
