// Linearizable reads by ReadIndex (PROTOCOL.md section 6).
//
// A read waits for the next leadership confirmation that starts after it arrived: one
// ZooKeeper `multi(check(epoch))` serves every read queued since the previous one was sent.
// The read index is the commit index when that check is sent, which is at least the
// commit index when each of those reads arrived; once the check succeeds no other leader
// can have committed anything up to then, so reading at (applied >= read index) sees every
// write that completed before the read began.
import type { Clock } from '../common/clock.js';
import { BusyError, type DuoraftError, type LeaderHint, NotLeaderError, TimeoutError } from '../common/errors.js';

export interface ReadIndexHost {
  /** Leader with an entry of its own term committed (its commit index is up to date). */
  canServeReads(): boolean;
  isLeader(): boolean;
  commitIndex(): number;
  /** Resolves when ZooKeeper confirms we still hold the epoch; rejects otherwise. */
  confirmLeadership(): Promise<void>;
  hint(): LeaderHint;
}

interface Waiting {
  readonly resolve: (index: number) => void;
  readonly reject: (e: DuoraftError) => void;
  readonly deadline: number;
}

export class ReadIndexQueue {
  private queued: Waiting[] = [];
  private confirming = false;
  /** The reads the confirmation under way serves: close() answers them without waiting for ZooKeeper. */
  private beingConfirmed: Waiting[] = [];
  /** Set by close() (the member is shutting down): what every read is answered from then on. */
  private closed: (() => DuoraftError) | null = null;

  constructor(
    private readonly host: ReadIndexHost,
    private readonly clock: Clock,
    private readonly capacity: number,
  ) {}

  /** Resolves with the index the read must wait for, once leadership is confirmed. */
  request(timeoutMs: number): Promise<number> {
    // A stopped member's loop kicks nothing again, while its role may still say leader.
    if (this.closed) return Promise.reject(this.closed());
    if (!this.host.isLeader()) return Promise.reject(new NotLeaderError(this.host.hint()));
    if (this.queued.length >= this.capacity) {
      return Promise.reject(new BusyError(10, this.host.hint(), 'too many linearizable reads waiting'));
    }
    return new Promise<number>((resolve, reject) => {
      this.queued.push({ resolve, reject, deadline: this.clock.now() + timeoutMs });
      this.kick();
    });
  }

  /** Starts a confirmation if reads wait and none is under way. Call after state changes. */
  kick(): void {
    if (this.confirming || this.queued.length === 0) return;
    if (!this.host.isLeader()) {
      this.failAll(() => new NotLeaderError(this.host.hint()));
      return;
    }
    this.expire();
    if (!this.host.canServeReads() || this.queued.length === 0) return; // the new leader's no-op is not committed yet
    const batch = this.queued;
    this.queued = [];
    const readIndex = this.host.commitIndex();
    this.confirming = true;
    this.beingConfirmed = batch;
    this.host.confirmLeadership().then(
      () => {
        this.confirming = false;
        this.beingConfirmed = [];
        // Confirmed after the member began to stop: its state machine applies nothing more,
        // so the read would wait out its bound for its index.
        const closed = this.closed;
        if (closed) {
          for (const w of batch) w.reject(closed());
          return;
        }
        for (const w of batch) w.resolve(readIndex);
        this.kick();
      },
      () => {
        this.confirming = false;
        this.beingConfirmed = [];
        const closed = this.closed;
        if (closed) {
          for (const w of batch) w.reject(closed());
          return;
        }
        for (const w of batch) w.reject(new NotLeaderError(this.host.hint(), 'leadership could not be confirmed in ZooKeeper'));
        this.kick();
      },
    );
  }

  /**
   * The member is shutting down: every read waiting, being confirmed, or asked for from now
   * on is answered `error` at once (none may wait out its bound on a loop that has stopped).
   */
  close(error: () => DuoraftError): void {
    this.closed = error;
    this.failAll(error);
    // Its multi may wait seconds for an answer (a ZooKeeper that went quiet, up to the request
    // timeout), while a read has no effect to be unsure of: answered now (review 37). The
    // confirmation's answer then finds them answered already (a second reject does nothing).
    const confirming = this.beingConfirmed;
    this.beingConfirmed = [];
    for (const w of confirming) w.reject(error());
  }

  failAll(error: () => DuoraftError): void {
    const q = this.queued;
    this.queued = [];
    for (const w of q) w.reject(error());
  }

  private expire(): void {
    const now = this.clock.now();
    const keep: Waiting[] = [];
    for (const w of this.queued) {
      if (now >= w.deadline) w.reject(new TimeoutError('linearizable read not served in time'));
      else keep.push(w);
    }
    this.queued = keep;
  }
}
