// Another process that burns one core, as issue 12 asks of the steady part: a node process
// spinning in a loop for as long as the work it surrounds runs. It is ended by its pid
// (SIGKILL) in a finally, whatever the work does, so it is never left running; the child
// registry also kills it if this process exits first.
//
// By default it runs in a session of its own (setsid, which execs in place: the pid stays
// the burner's). With the kernel's autogroup scheduling (sched_autogroup_enabled = 1, as on
// this machine) CPU is shared fairly between sessions first, then between the processes of
// a session: a burner in the bench's own session would take its core out of the share of
// the session that holds the voters, ZooKeeper and the load generator, which is not what
// "another process on the machine" does to a deployment (a service runs in a session, and a
// cgroup, of its own).
import { childProcesses, type TrackedChild } from './child-processes.js';

/** A loop with no end and no output: one core busy until the process is killed. */
const SPIN = 'for (;;) {}';
const EXIT_WAIT_MS = 5000;

export interface CpuBurner {
  readonly pid: number;
  running(): boolean;
}

/** own: a session of its own (the default); shared: this process's session (to compare the two). */
export type BurnerSession = 'own' | 'shared';

/** Runs `work` while a child process spins on one core; the child is ended before this resolves or rejects. */
export async function withCpuBurner<T>(work: (burner: CpuBurner) => Promise<T>, session: BurnerSession = 'own'): Promise<T> {
  const child: TrackedChild =
    session === 'own'
      ? childProcesses.spawn('setsid', [process.execPath, '-e', SPIN], { stdio: 'ignore' })
      : childProcesses.spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' });
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
