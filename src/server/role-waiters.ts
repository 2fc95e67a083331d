// Requests that wait for the node's role to settle: a client that reaches a node in the
// middle of a take-over, or a leader handing over, waits (bounded in number and time) for
// the outcome instead of being sent away to retry; an operator's transfer waits for the
// leader to step down. They are woken when the role changes, and when a transfer ends
// without one (given up, or called off: the leader takes writes again).
import type { Clock } from '../common/clock.js';

export class RoleWaiters {
  /** Bounded by `max`; a waiter leaves when it is woken or its deadline passes. */
  private waiting: Array<() => void> = [];
  private wasTransferring = false;
  /** Set by close() (the member is shutting down): no wait waits any more. */
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  /** Resolves when the role changes or at `deadline`; rejects with full() when `max` wait already. */
  wait(deadline: number, full: () => Error): Promise<void> {
    // The caller looks again at once, finds the member stopped and answers so.
    if (this.closed) return Promise.resolve();
    if (this.waiting.length >= this.max) return Promise.reject(full());
    return new Promise<void>((resolve) => {
      const woken = (): void => {
        timer.cancel();
        resolve();
      };
      // A waiter that timed out gives its place back at once: a long spell without a
      // leader must not fill the bound with waiters nobody waits for (review 21).
      const timer = this.clock.setTimeout(() => {
        const at = this.waiting.indexOf(woken);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve();
      }, Math.max(1, deadline - this.clock.now()));
      this.waiting.push(woken);
    });
  }

  /** The member is shutting down: every waiter looks again now, and a later wait returns at once. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** The role changed: every waiter looks again. */
  wake(): void {
    if (this.waiting.length === 0) return;
    const waiters = this.waiting;
    this.waiting = [];
    for (const w of waiters) w();
  }

  /** Whether a transfer is under way now (after each round of the loop): one that ended wakes the waiters. */
  transferring(now: boolean): void {
    if (this.wasTransferring && !now) this.wake();
    this.wasTransferring = now;
  }
}
