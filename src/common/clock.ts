// Time and scheduling as an interface, so the deterministic simulator can replace
// them. Nothing outside src/common/real-clock.ts and the simulator reads the real
// clock or starts real timers.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (arbitrary origin). Never goes backwards. */
  now(): number;
  /** Wall-clock milliseconds since the epoch. Never used for safety decisions. */
  wallNow(): number;
  /** Runs fn once after ms milliseconds. The timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Runs fn soon, after the current task and its promise jobs (setImmediate). */
  defer(fn: () => void): void;
}

/** Resolves after ms milliseconds of the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}
