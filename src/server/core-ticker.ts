// Turns elapsed time into the core's ticks. The core reads no clock: it counts ticks, and
// its timeouts and lease windows are tick counts. Ticks count real elapsed time: every tick
// owed up to now runs, never one ahead. The driver calls catchUp() before every input the
// core stamps with its tick count (a lease or epoch observation, a peer message): after an
// event-loop stall, an observation queued behind the stall must not be stamped with a tick
// from before it, or the lease window would be credited with time that passed before the
// observation (notes/timing.md). A stall longer than MAX_CATCHUP_TICKS ticks counts as that
// many: the window is then credited with less time than passed, never more.
import type { Clock, TimerHandle } from '../common/clock.js';

/** Bound on catch-up ticks run at once after the event loop was blocked. */
const MAX_CATCHUP_TICKS = 50;

export interface CoreTickerOptions {
  readonly clock: Clock;
  readonly tickMs: number;
  /** One tick of the core. */
  readonly tick: () => void;
  /** Ticks ran: the core may have something to do. */
  readonly ticked: () => void;
  /** The tick timer fired (after catching up): periodic work of the driver. */
  readonly onTimer: () => void;
}

export class CoreTicker {
  private origin = 0;
  private done = 0;
  private timer: TimerHandle | null = null;
  private running = false;

  constructor(private readonly o: CoreTickerOptions) {}

  /** Tick 0 is now; the timer runs from here. */
  start(): void {
    this.origin = this.o.clock.now();
    this.done = 0;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Runs every tick owed up to now (at most MAX_CATCHUP_TICKS of them). */
  catchUp(): void {
    if (!this.running) return;
    const owed = Math.floor((this.o.clock.now() - this.origin) / this.o.tickMs) - this.done;
    if (owed <= 0) return;
    const run = Math.min(owed, MAX_CATCHUP_TICKS);
    for (let i = 0; i < run; i++) this.o.tick();
    this.done += owed;
    this.o.ticked();
  }

  private arm(): void {
    const due = this.origin + (this.done + 1) * this.o.tickMs;
    this.timer = this.o.clock.setTimeout(() => this.fire(), Math.max(0, due - this.o.clock.now()));
  }

  private fire(): void {
    if (!this.running) return;
    this.catchUp();
    this.o.onTimer();
    this.arm();
  }
}
