// Requests that wait for the node's role to settle: a client that reaches a node in the
// middle of a take-over, or a leader handing over, waits (bounded in number and time) for
// the outcome instead of being sent away to retry; an operator's transfer waits for the
// leader to step down. They are woken when the role changes, and when a transfer ends
// without one (given up, or called off: the leader takes writes again).
import type { Clock } from '../common/clock.js';

export class RoleWaiters {
  /** Bounded by `max`; a waiter whose deadline passed stays counted until the next wake. */
  private waiting: Array<() => void> = [];
  private wasTransferring = false;

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  /** Resolves when the role changes or at `deadline`; rejects with full() when `max` wait already. */
  wait(deadline: number, full: () => Error): Promise<void> {
    if (this.waiting.length >= this.max) return Promise.reject(full());
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(resolve, Math.max(1, deadline - this.clock.now()));
      this.waiting.push(() => {
        timer.cancel();
        resolve();
      });
    });
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
