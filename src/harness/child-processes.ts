// A registry of the child processes this process started (ZooKeeper servers, demo
// nodes). It only ever signals pids it spawned itself and that have not exited yet (a
// pid of an exited child may already belong to someone else), and it makes sure no
// child outlives this process: on 'exit', SIGINT, SIGTERM and SIGHUP it SIGKILLs every
// child still running.
//
// A SIGKILL of this process cannot be caught, so children survive that one; everything
// else (vitest ending a worker, Ctrl-C in the demo) goes through the hooks.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface TrackedChild {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. Never rejects. */
  readonly exited: Promise<ChildExit>;
  running(): boolean;
}

const parentSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class ChildProcessRegistry {
  private readonly children = new Map<number, TrackedChild>();
  private hooksInstalled = false;

  /** Starts a process and tracks it until it exits. Throws when the spawn itself fails. */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): TrackedChild {
    this.installHooks();
    const child = spawn(command, args, { ...options, detached: false });
    const pid = child.pid;
    if (pid === undefined) {
      // spawn reports ENOENT and friends asynchronously through 'error'; swallow it here
      // because we throw a clearer error synchronously.
      child.once('error', () => undefined);
      throw new Error(`could not start ${command}: no pid (is it installed and on PATH?)`);
    }
    let isRunning = true;
    const exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => {
        isRunning = false;
        this.children.delete(pid);
        resolve({ code, signal });
      });
      child.once('error', () => {
        // An error after spawn (e.g. a failed kill) does not mean the process exited;
        // 'exit' still follows when it does.
      });
    });
    const tracked: TrackedChild = { pid, child, exited, running: () => isRunning };
    this.children.set(pid, tracked);
    return tracked;
  }

  /** Whether `pid` is a child of ours that is still running. */
  isRunning(pid: number): boolean {
    return this.children.get(pid)?.running() ?? false;
  }

  /** Sends `signal` to a running child we spawned. Returns false (and sends nothing) for any other pid. */
  kill(pid: number, signal: NodeJS.Signals): boolean {
    const tracked = this.children.get(pid);
    if (!tracked?.running()) return false;
    try {
      return tracked.child.kill(signal);
    } catch {
      return false;
    }
  }

  /** Resolves true once the child has exited, false if it still runs after timeoutMs. */
  async waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
    const tracked = this.children.get(pid);
    if (!tracked) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    const result = await Promise.race([tracked.exited, timedOut]);
    clearTimeout(timer);
    return result !== 'timeout';
  }

  /**
   * SIGTERM, then SIGKILL if the child still runs after graceMs. A stopped (SIGSTOPped)
   * child is continued first so it can act on the SIGTERM. Resolves once it has exited
   * (bounded: a SIGKILLed process exits at once).
   */
  async stop(pid: number, graceMs: number): Promise<void> {
    if (!this.isRunning(pid)) return;
    this.kill(pid, 'SIGCONT');
    this.kill(pid, 'SIGTERM');
    if (await this.waitForExit(pid, graceMs)) return;
    this.kill(pid, 'SIGKILL');
    if (!(await this.waitForExit(pid, 5_000))) throw new Error(`child ${pid} did not exit after SIGKILL`);
  }

  /** SIGKILLs every child still running, synchronously (usable from an 'exit' hook). Returns how many. */
  killAllNow(): number {
    let killed = 0;
    for (const pid of [...this.children.keys()]) if (this.kill(pid, 'SIGKILL')) killed++;
    return killed;
  }

  /** SIGKILLs every child still running and waits (bounded) until they have exited. */
  async stopAll(timeoutMs = 5_000): Promise<void> {
    const pids = [...this.children.keys()];
    this.killAllNow();
    await Promise.all(pids.map((pid) => this.waitForExit(pid, timeoutMs)));
  }

  /** Pids of children still running. */
  runningPids(): number[] {
    return [...this.children.values()].filter((c) => c.running()).map((c) => c.pid);
  }

  private installHooks(): void {
    if (this.hooksInstalled) return;
    this.hooksInstalled = true;
    process.on('exit', () => {
      this.killAllNow();
    });
    for (const signal of parentSignals) {
      const onSignal = (): void => {
        this.killAllNow();
        // Installing a listener replaces Node's default "terminate" action. When ours is
        // the only listener, restore the default and re-raise so the process still ends.
        if (process.listenerCount(signal) === 1) {
          process.removeListener(signal, onSignal);
          process.kill(process.pid, signal);
        }
      };
      process.on(signal, onSignal);
    }
  }
}

/** The registry shared by the harness (one per process). */
export const childProcesses = new ChildProcessRegistry();
