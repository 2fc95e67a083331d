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
//
// Where a stall came from: given the process's CPU time, a report also says how much CPU the
// process used over the late timer's whole wait. About the wait's length: the process was
// busy (a long turn of its own, or garbage collection); far less: it was runnable or
// waiting but not running (other work had the cores, or the process was stopped).
import type { Clock, TimerHandle } from '../common/clock.js';

export interface PauseMonitorOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Stalls at least this long are reported. */
  readonly thresholdMs: number;
  readonly onStall: (stalledMs: number, cpu: StallCpu | null) => void;
  /** The process's CPU time so far in ms (all threads), when known: reports then carry StallCpu. */
  readonly cpuTimeMs?: () => number;
}

/** The process's CPU use over the wait that ended late: from arming the timer to its firing. */
export interface StallCpu {
  /** How long the timer waited in all (interval + lateness), by the monotonic clock. */
  readonly waitedMs: number;
  /** CPU time the process used meanwhile, all threads (GC helpers and the thread pool included). */
  readonly cpuMs: number;
}

export class PauseMonitor {
  private timer: TimerHandle | null = null;
  private expected = 0;
  private expectedWall = 0;
  private armedAt = 0;
  private cpuAtArm = 0;
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
    this.armedAt = this.o.clock.now();
    this.cpuAtArm = this.o.cpuTimeMs?.() ?? 0;
    this.expected = this.armedAt + this.o.intervalMs;
    this.expectedWall = this.o.clock.wallNow() + this.o.intervalMs;
    this.timer = this.o.clock.setTimeout(() => this.fire(), this.o.intervalMs);
  }

  private fire(): void {
    const late = Math.max(this.o.clock.now() - this.expected, this.o.clock.wallNow() - this.expectedWall);
    if (late >= this.o.thresholdMs) {
      const cpu = this.o.cpuTimeMs ? { waitedMs: this.o.clock.now() - this.armedAt, cpuMs: this.o.cpuTimeMs() - this.cpuAtArm } : null;
      this.o.onStall(late, cpu);
    }
    this.arm();
  }
}
