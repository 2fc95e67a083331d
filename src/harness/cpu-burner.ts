// Another process that burns one core, as issue 12 asks of the steady part: a node process
// spinning in a loop for as long as the work it surrounds runs. It is ended by its pid
// (SIGKILL) in a finally, whatever the work does, so it is never left running; the child
// registry also kills it if this process exits first.
import { childProcesses, type TrackedChild } from './child-processes.js';

/** A loop with no end and no output: one core busy until the process is killed. */
const SPIN = 'for (;;) {}';
const EXIT_WAIT_MS = 5000;

export interface CpuBurner {
  readonly pid: number;
  running(): boolean;
}

/** Runs `work` while a child process spins on one core; the child is ended before this resolves or rejects. */
export async function withCpuBurner<T>(work: (burner: CpuBurner) => Promise<T>): Promise<T> {
  const child: TrackedChild = childProcesses.spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' });
  try {
    return await work({ pid: child.pid, running: () => child.running() });
  } finally {
    childProcesses.kill(child.pid, 'SIGKILL');
    if (!(await childProcesses.waitForExit(child.pid, EXIT_WAIT_MS))) {
      // Cannot happen short of a kernel problem; say so rather than leave it unnoticed.
      throw new Error(`the CPU burner (pid ${child.pid}) did not exit within ${EXIT_WAIT_MS} ms of SIGKILL`);
    }
  }
}
