// Event-loop pause detection, the Node analogue of Ratis' JvmPauseMonitor: a timer that
// should fire every intervalMs notices when it fires late. A stall (GC, CPU starvation,
// SIGSTOP, a VM pause) is reported with its length once the loop runs again; Node runs due
// timers before it reads sockets, so usually before the node answers anything that queued
// up during the stall.
//
// Both clocks are watched: performance.now() does not advance while a VM is stopped (nor,
// on some systems, while the host is suspended), so such a pause shows only on the wall
// clock. A wall clock stepped forward looks like a pause too: the reaction (the lease
// lapses, or the leader steps down) is then needless but safe. One stepped back is ignored.
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
  private expectedWall = 0;
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
    this.expectedWall = this.o.clock.wallNow() + this.o.intervalMs;
    this.timer = this.o.clock.setTimeout(() => this.fire(), this.o.intervalMs);
  }

  private fire(): void {
    const late = Math.max(this.o.clock.now() - this.expected, this.o.clock.wallNow() - this.expectedWall);
    if (late >= this.o.thresholdMs) this.o.onStall(late);
    this.arm();
  }
}
