// The leader's lease in ZooKeeper (see notes/timing.md for the rule that makes it safe).
//
// Leader: every intervalMs it writes `multi(check(epoch, E), setData(lease))`. A write
// that succeeds extends the lease to (the time the write was SENT) + durationMs, by the
// leader's own monotonic clock. If no write succeeds for durationMs, the lease lapses
// (onExpired): no lease reads, and the core stops taking writes. The keeper goes on
// touching; a touch that succeeds later renews it (onRenewed). Only a fence ends it.
//
// Follower: watches the lease znode's version (ZnodeWatch) and tells the core about every
// change; the core takes over only after the version stayed the same for the lease
// window, and the fence multi checks that version again.
//
// Two clocks: the lease holds only while BOTH the monotonic clock and the wall clock say
// it does. performance.now() stops while a VM is stopped (and so may a suspended host's
// monotonic clock), so a leader resumed after a long stop would otherwise believe its
// lease fresh; the wall clock keeps running through such a stop. A wall clock stepped
// back by NTP cannot extend the lease (the monotonic bound still holds); one stepped
// forward only ends it early, which is safe.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from './layout.js';
import { UnavailableError, ZkUnavailableError } from '../common/errors.js';
import { encodeLease } from './records.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';

export interface LeaseKeeperOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly term: number;
  readonly leaderId: string;
  readonly epochVersion: number;
  readonly intervalMs: number;
  readonly durationMs: number;
  /** Published with every touch, with durationMs: followers derive their wait from them. */
  readonly driftBound: number;
  /** Lease valid until this time already (the fence multi touched the lease). */
  readonly initialValidUntil: number;
  /**
   * The same bound on the wall clock, taken when the fence was sent: derived from the
   * monotonic time left at construction, it would move forward by a VM stop in between.
   */
  readonly initialValidUntilWall: number;
  readonly onExpired: () => void;
  readonly onRenewed: () => void;
  /** Every touch that landed, in time or not (ZooKeeper answered: it is reachable). */
  readonly onLanded?: () => void;
  readonly onFenced: (reason: string) => void;
}

/** At most this many lease writes outstanding; a slow ZooKeeper must not pile them up. */
const MAX_OUTSTANDING = 2;

export class LeaseKeeper {
  private readonly o: LeaseKeeperOptions;
  private validUntil: number;
  /** The same bound on the wall clock. */
  private validUntilWall: number;
  private seq = 1;
  private outstanding = 0;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private expired = false;
  private expiredAt = 0;
  /** When a touch last landed (in time or not): ZooKeeper answered then. */
  private landedAt = Number.NEGATIVE_INFINITY;

  constructor(options: LeaseKeeperOptions) {
    this.o = options;
    this.validUntil = options.initialValidUntil;
    this.validUntilWall = options.initialValidUntilWall;
    this.schedule(0);
  }

  /** Whether the lease holds now, by both clocks. False once revoked or stopped. */
  holds(now = this.o.clock.now()): boolean {
    return !this.stopped && !this.expired && now < this.validUntil && this.o.clock.wallNow() < this.validUntilWall;
  }

  /**
   * How long the lease has been lapsed with no touch landing (0 when it holds): the silence
   * the core counts (lease-lapse.ts). A touch that lands too late to renew starts it again,
   * since ZooKeeper is then slow, not unreachable, and the follower cannot take over.
   */
  unansweredForMs(now = this.o.clock.now()): number {
    return this.expired ? now - Math.max(this.expiredAt, this.landedAt) : 0;
  }

  validUntilMs(): number {
    return this.validUntil;
  }

  /**
   * Ends the current lease at once but goes on touching: after an event-loop stall the
   * leader serves no lease read until a touch sent after the stall succeeds.
   */
  lapseNow(): void {
    if (this.stopped) return;
    this.validUntil = this.o.clock.now();
    this.validUntilWall = this.o.clock.wallNow();
    if (!this.expired) {
      this.expired = true;
      this.expiredAt = this.o.clock.now();
      this.o.onExpired();
    }
  }

  /**
   * Ends the lease for good (leadership is being handed over): no more lease reads, no
   * more touches. Resolves once no touch is in flight any more (bounded), so that the
   * record relinquish() writes next is the last: a touch landing after it would make the
   * follower's confirmation, or its fence, fail.
   */
  private async revoke(maxWaitMs = 3000): Promise<void> {
    this.validUntil = Number.NEGATIVE_INFINITY;
    this.validUntilWall = Number.NEGATIVE_INFINITY;
    this.stop();
    const deadline = this.o.clock.now() + maxWaitMs;
    while (this.outstanding > 0 && this.o.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, 1));
    }
  }

  /**
   * Leadership transfer: ends the lease for good (revoke), then writes one last record that
   * says it was relinquished, checked against the epoch like every touch. Resolves with the
   * version that write left: the follower skips the lease window only while the znode is
   * still at it (src/core/hand-over.ts). The record is written only after the lease ended
   * here, so no lease read is answered once it exists. Rejects when the write failed (a
   * BAD_VERSION at op 0: the epoch moved) or its outcome is unknown: then there is no
   * hand-over, and a record that did land is overwritten by the next touch if the lease is
   * taken back. `stillHandingOver` is asked once no touch is in flight, right before the
   * record goes: the transfer may have been given up meanwhile and the lease taken back by a
   * new keeper, whose touches went out first; a record sent after them would land above a
   * touch that renewed the lease, and a follower fencing against it would depose a leader
   * whose lease holds (review 29). Then it rejects without writing.
   */
  async relinquish(stillHandingOver: () => boolean = () => true): Promise<number> {
    await this.revoke();
    if (!stillHandingOver()) throw new UnavailableError('the transfer was given up (the lease taken back) before the relinquished lease record was written; not handing over');
    const { paths, term, leaderId, epochVersion } = this.o;
    const record = encodeLease({ term, leaderId, seq: this.seq++, durationMs: this.o.durationMs, driftBound: this.o.driftBound, relinquished: true });
    const results = await this.o.zk.multi([
      { type: 'check', path: paths.epoch, version: epochVersion },
      { type: 'setData', path: paths.lease, data: record, version: -1 },
    ]);
    const set = results[1];
    if (!set || set.type !== 'setData') throw new ZkUnavailableError("ZooKeeper answered the hand-over's lease write without its znode version; not handing over");
    return set.stat.version;
  }

  private holdsByClocks(): boolean {
    return this.o.clock.now() < this.validUntil && this.o.clock.wallNow() < this.validUntilWall;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => this.onTimer(), delayMs);
  }

  private onTimer(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    if ((now >= this.validUntil || this.o.clock.wallNow() >= this.validUntilWall) && !this.expired) {
      this.expired = true;
      this.expiredAt = now;
      this.o.logger.warn({ overdueMs: Math.round(now - this.validUntil) }, 'lease lapsed: no lease write succeeded in time');
      this.o.onExpired();
    }
    if (this.outstanding < MAX_OUTSTANDING) this.touch(now);
    // Wake at the next touch, or at expiry if that comes first.
    const untilExpiry = this.expired ? this.o.intervalMs : this.validUntil - now;
    this.schedule(Math.max(1, Math.min(this.o.intervalMs, untilExpiry)));
  }

  private touch(sentAt: number): void {
    const sentAtWall = this.o.clock.wallNow();
    this.outstanding++;
    const { paths, term, leaderId, epochVersion } = this.o;
    this.o.zk
      .multi([
        { type: 'check', path: paths.epoch, version: epochVersion },
        { type: 'setData', path: paths.lease, data: encodeLease({ term, leaderId, seq: this.seq++, durationMs: this.o.durationMs, driftBound: this.o.driftBound }), version: -1 },
      ])
      .then(
        () => {
          this.outstanding--;
          if (this.stopped) return;
          this.landedAt = this.o.clock.now();
          const until = sentAt + this.o.durationMs;
          if (until > this.validUntil) this.validUntil = until;
          const untilWall = sentAtWall + this.o.durationMs;
          if (untilWall > this.validUntilWall) this.validUntilWall = untilWall;
          if (this.expired && this.holdsByClocks()) {
            this.expired = false;
            this.o.logger.info({ lapsedMs: Math.round(this.o.clock.now() - this.expiredAt) }, 'lease renewed after a lapse');
            this.o.onRenewed();
          }
          this.o.onLanded?.();
        },
        (err: unknown) => {
          this.outstanding--;
          if (this.stopped) return;
          if (err instanceof ZkError && err.code === 'BAD_VERSION' && err.failedOp === 0) {
            this.stop();
            this.o.onFenced(`lease write found the epoch moved past ${epochVersion}`);
          }
        },
      );
  }
}
