import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './clock.js';

/** The process's monotonic clock and Node's timers, unref'ed so they never hold the process open. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }

  defer(fn: () => void): void {
    setImmediate(fn);
  }
}

export const realClock = new RealClock();
