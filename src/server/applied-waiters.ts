// Reads that wait until the state machine has applied a given index. Bounded.
import type { Clock, TimerHandle } from '../common/clock.js';
import { BusyError, type DuoraftError, TimeoutError } from '../common/errors.js';

interface Waiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (e: DuoraftError) => void;
  readonly timer: TimerHandle;
}

export class AppliedWaiters {
  private waiters: Waiter[] = [];
  /** Set by close() (the member is shutting down): nothing will be applied any more. */
  private closed: (() => DuoraftError) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly applied: () => number,
  ) {}

  waitFor(index: number, timeoutMs: number): Promise<void> {
    if (this.applied() >= index) return Promise.resolve();
    if (this.closed) return Promise.reject(this.closed());
    if (this.waiters.length >= this.capacity) {
      return Promise.reject(new BusyError(20, { leaderId: '', leaderAddress: '' }, 'too many reads waiting for the state machine'));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        index,
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new TimeoutError(`index ${index} not applied within ${timeoutMs} ms (applied ${this.applied()})`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** The state machine has applied up to `applied`. */
  notify(applied: number): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.index <= applied) {
        w.timer.cancel();
        w.resolve();
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
  }

  /** The member is shutting down: every waiter, and every later one that would wait, is answered `error` at once. */
  close(error: () => DuoraftError): void {
    this.closed = error;
    this.failAll(error);
  }

  failAll(error: () => DuoraftError): void {
    for (const w of this.waiters) {
      w.timer.cancel();
      w.reject(error());
    }
    this.waiters = [];
  }
}
