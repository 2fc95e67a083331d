// Tearing down what a bench or test started: every step runs even when one before it throws
// (a client that fails to close must not leave the cluster's processes and ZooKeeper's JVM
// running), and every failure is kept, named by its step.

/** One step of a teardown: its name (for the error) and what it does. */
export type CleanupStep = readonly [name: string, run: () => unknown];

/** Runs every step in order, each awaited; returns the failures ("name: message"), none thrown. */
export async function runCleanup(steps: readonly CleanupStep[]): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failures;
}
