// Event-loop pause detection, the Node analogue of Ratis' JvmPauseMonitor: a timer that
// should fire every intervalMs notices when it fires late. A stall (GC, CPU starvation,
// SIGSTOP, a VM pause) is reported with its length once the loop runs again; Node runs due
// timers before it reads sockets, so usually before the node answers anything that queued
// up during the stall.
import type { Clock, TimerHandle } from '../common/clock.js';

export interface PauseMonitorOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Stalls at least this long are reported. */
  readonly thresholdMs: number;
  readonly onStall: (stalledMs: number) => void;
}

export class PauseMonitor {
  private timer: TimerHandle | null = null;
  private expected = 0;
  private stopped = false;

  constructor(private readonly o: PauseMonitorOptions) {}

  start(): void {
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private arm(): void {
    if (this.stopped) return;
    this.expected = this.o.clock.now() + this.o.intervalMs;
    this.timer = this.o.clock.setTimeout(() => this.fire(), this.o.intervalMs);
  }

  private fire(): void {
    const late = this.o.clock.now() - this.expected;
    if (late >= this.o.thresholdMs) this.o.onStall(late);
    this.arm();
  }
}
