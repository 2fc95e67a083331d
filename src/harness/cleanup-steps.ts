// Tearing down what a bench or test started: every step runs even when one before it throws
// (a client that fails to close must not leave the cluster's processes and ZooKeeper's JVM
// running), and every failure is kept, named by its step. A step may carry a time bound: one
// that hangs (a write load that never drains, a client whose close never answers) is given
// up after it and counted as a failure, so the steps after it (the SIGKILLs) still run.

/** One step of a teardown: its name (for the error), what it does, and optionally its bound in ms. */
export type CleanupStep = readonly [name: string, run: () => unknown, timeoutMs?: number];

/** Runs every step in order, each awaited (up to its bound); returns the failures ("name: message"), none thrown. */
export async function runCleanup(steps: readonly CleanupStep[]): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run, timeoutMs] of steps) {
    try {
      await bounded(run, timeoutMs);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failures;
}

/** Awaits `run()`, rejecting if it has not settled within `timeoutMs` (the step itself goes on, abandoned). */
async function bounded(run: () => unknown, timeoutMs: number | undefined): Promise<void> {
  const work = Promise.resolve().then(run);
  if (timeoutMs === undefined) {
    await work;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms (abandoned; the next steps run)`)), timeoutMs);
  });
  // A step that fails after it was abandoned must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
