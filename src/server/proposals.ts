// Client writes waiting for their log entry to commit and apply. Bounded: the driver
// refuses new writes with BUSY when full.
import type { Clock, TimerHandle } from '../common/clock.js';
import { type DuoraftError, NotLeaderError, TimeoutError, UnknownOutcomeError } from '../common/errors.js';
import type { LeaderHint } from '../common/errors.js';
import type { KvResult } from '../statemachine/kv-store.js';

export interface Applied {
  readonly index: number;
  readonly result: KvResult;
}

interface Pending {
  readonly term: number;
  /** A put, whose result is known before it applies (used only by the ackBeforeCommit fault). */
  readonly earlyAckable: boolean;
  readonly resolve: (a: Applied) => void;
  readonly reject: (e: DuoraftError) => void;
  readonly timer: TimerHandle;
}

export class PendingProposals {
  private readonly byIndex = new Map<number, Pending>();
  /** Set by close() (the member is shutting down): no loop carries a new entry out any more. */
  private closed: (() => DuoraftError) | null = null;

  constructor(
    private readonly clock: Clock,
    readonly capacity: number,
  ) {}

  size(): number {
    return this.byIndex.size;
  }

  isFull(): boolean {
    return this.byIndex.size >= this.capacity;
  }

  add(index: number, term: number, timeoutMs: number, earlyAckable = false): Promise<Applied> {
    if (this.closed) return Promise.reject(this.closed());
    this.replaced(index, term);
    return new Promise<Applied>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.byIndex.get(index)?.timer === timer) {
          this.byIndex.delete(index);
          reject(new TimeoutError(`write at index ${index} not committed within ${timeoutMs} ms; it may still take effect`));
        }
      }, timeoutMs);
      this.byIndex.set(index, { term, earlyAckable, resolve, reject, timer });
    });
  }

  /**
   * A write of `term` is about to wait on `index`: one still waiting there is answered now,
   * or it would wait for ever (its timer fires only while the map holds it). The driver fails
   * every waiting write above the commit index when leadership is lost, before a newer term
   * can propose (carryOut: leadershipLost comes before any take-over), so this is a defence
   * (review 28). A newer term proposes at `index` only past ZooKeeper's log as its fence froze
   * it, and the fence refuses the older term's multis: the older entry never took effect.
   * The same term twice at one index is no leader's doing: its outcome is unknown.
   */
  private replaced(index: number, term: number): void {
    const p = this.byIndex.get(index);
    if (!p) return;
    this.byIndex.delete(index);
    p.timer.cancel();
    if (p.term < term) {
      p.reject(new NotLeaderError({ leaderId: '', leaderAddress: '' }, `write at index ${index} was superseded by a newer leader's write (term ${term}); it did not take effect`));
    } else {
      p.reject(new UnknownOutcomeError(`write at index ${index} was replaced by another write of term ${term} before it was answered; retry with the same session and sequence to learn its outcome`));
    }
  }

  /** Entry `index` of `term` was applied with `result`. */
  applied(index: number, term: number, result: KvResult): void {
    const p = this.byIndex.get(index);
    if (!p) return;
    this.byIndex.delete(index);
    p.timer.cancel();
    if (p.term === term) {
      p.resolve({ index, result });
    } else {
      // Another leader's entry took this index: ours was dropped before it committed.
      p.reject(new NotLeaderError({ leaderId: '', leaderAddress: '' }, `write at index ${index} was superseded by a new leader; it did not take effect`));
    }
  }

  /**
   * Leadership was lost. Entries up to `commit` have been applied already; those in
   * (commit, sentToMirror] reached ZooKeeper's door and may or may not commit; later ones
   * were never sent and certainly did not take effect.
   */
  leadershipLost(commit: number, sentToMirror: number, hint: LeaderHint, reason: string): void {
    for (const [index, p] of this.byIndex) {
      if (index <= commit) continue;
      this.byIndex.delete(index);
      p.timer.cancel();
      if (index <= sentToMirror) {
        p.reject(new UnknownOutcomeError(`leadership lost (${reason}) while the write at index ${index} was in flight to ZooKeeper; retry with the same session and sequence to learn its outcome`));
      } else {
        p.reject(new NotLeaderError(hint, `leadership lost (${reason}) before the write was sent; it did not take effect`));
      }
    }
  }

  /**
   * TEST-ONLY FAULT (ackBeforeCommit): answers puts as soon as they are handed to
   * ZooKeeper, before the multi returns. This breaks S2 on purpose so the simulator and
   * the chaos run can show they catch it.
   */
  ackEarly(indexes: readonly number[]): void {
    for (const index of indexes) {
      const p = this.byIndex.get(index);
      if (!p || !p.earlyAckable) continue;
      this.byIndex.delete(index);
      p.timer.cancel();
      p.resolve({ index, result: { ok: true, kind: 'put' } });
    }
  }

  /**
   * The member is shutting down: every write waiting is answered `waiting` (its entry may be
   * in a multi ZooKeeper has yet to answer), and one added later `late` at once (its entry
   * stays in a core no loop carries out: it does not take effect).
   */
  close(waiting: () => DuoraftError, late: () => DuoraftError): void {
    this.closed = late;
    this.rejectAll(waiting);
  }

  /** Rejects everything waiting (shutdown, or a lease lapsed too long). */
  rejectAll(error: () => DuoraftError): void {
    for (const p of this.byIndex.values()) {
      p.timer.cancel();
      p.reject(error());
    }
    this.byIndex.clear();
  }
}
