// Follows a node's health (health.ts) over time: answers "now" for Check, tells watchers
// (the health service's Watch streams) when SERVING flips, and logs each flip with its
// reason, so an operator reading the log sees why a probe failed.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { type HealthRules, type HealthVerdict, healthOf } from './health.js';
import type { FiguresSource } from './node-figures.js';

export interface HealthMonitorOptions {
  readonly figures: FiguresSource;
  readonly rules: HealthRules;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the figures are looked at for flips (Check always looks afresh). */
  readonly intervalMs: number;
  /** Bound on watchers at once. */
  readonly maxWatchers: number;
}

export interface HealthWatcher {
  /** The verdict now, and again at every flip. */
  update(verdict: HealthVerdict): void;
  /** The monitor stopped (the node is shutting down): end the watch. */
  end(): void;
}

export class HealthMonitor {
  private readonly o: HealthMonitorOptions;
  private readonly watchers = new Set<HealthWatcher>();
  private last: HealthVerdict | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(options: HealthMonitorOptions) {
    this.o = options;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.poll();
  }

  /** The verdict on the figures as they are now. */
  current(): HealthVerdict {
    return healthOf(this.o.figures(), this.o.rules);
  }

  /**
   * Tells `watcher` the verdict now and again at every flip. Returns the function that
   * ends the watch, or null when maxWatchers are watching already.
   */
  watch(watcher: HealthWatcher): (() => void) | null {
    if (this.stopped || this.watchers.size >= this.o.maxWatchers) return null;
    this.watchers.add(watcher);
    watcher.update(this.last ?? this.current());
    return () => {
      this.watchers.delete(watcher);
    };
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  /** Looks a last time (watchers see the stopped node's NOT_SERVING), ends every watch and stops. */
  stop(): void {
    if (this.stopped) return;
    this.check();
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const w of watchers) w.end();
  }

  private poll(): void {
    if (this.stopped) return;
    this.check();
    this.timer = this.o.clock.setTimeout(() => this.poll(), this.o.intervalMs);
  }

  private check(): void {
    const now = this.current();
    const before = this.last;
    this.last = now;
    if (before !== null && before.serving === now.serving) return;
    this.o.logger.info({ serving: now.serving, reason: now.reason }, now.serving ? 'health: SERVING' : 'health: NOT_SERVING');
    for (const w of [...this.watchers]) w.update(now);
  }
}
