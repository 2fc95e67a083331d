// One ZooKeeper server JVM: start, wait until it serves, stop, kill, restart, pause.
// Shared by the standalone launcher and the ensemble. Its output goes to a log file
// that survives restarts, so a failure report can show the server's own words.
import fs from 'node:fs';
import type { Logger } from '../common/logger.js';
import { childProcesses, type TrackedChild } from './child-processes.js';
import { waitForRunState } from './process-state.js';
import { javaArgs, type ZooKeeperInstallation, type ZooKeeperJvmProfile } from './zk-java.js';
import { waitUntilServing } from './zk-four-letter.js';

export const standaloneMainClass = 'org.apache.zookeeper.server.ZooKeeperServerMain';
export const quorumMainClass = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

export interface ServerProcessSpec {
  readonly name: string;
  readonly mainClass: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly host: string;
  readonly port: number;
  readonly installation: ZooKeeperInstallation;
  readonly java: string;
  readonly heapMb?: number;
  readonly jvmProfile?: ZooKeeperJvmProfile;
  readonly logger: Logger;
}

/** How long SIGTERM gets before SIGKILL. ZooKeeper shuts down in well under a second. */
const stopGraceMs = 5_000;

export class ZooKeeperServerProcess {
  private current: TrackedChild | null = null;
  private paused = false;

  constructor(private readonly spec: ServerProcessSpec) {}

  /** Pid of the running JVM, or -1 when none runs. */
  get pid(): number {
    return this.current?.running() ? this.current.pid : -1;
  }

  running(): boolean {
    return this.current?.running() ?? false;
  }

  /** Starts the JVM (if not running) and waits until `srvr` reports a mode. Resolves with the mode. */
  async start(timeoutMs: number): Promise<string> {
    if (!this.running()) this.spawn();
    const child = this.current;
    try {
      return await waitUntilServing(this.spec.host, this.spec.port, {
        timeoutMs,
        stillRunning: () => child?.running() ?? false,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${this.spec.name}: ${reason}. Last lines of ${this.spec.logFile}:\n${this.logTail(30)}`, { cause: err });
    }
  }

  /** SIGKILL; the data directory stays. */
  async kill(): Promise<void> {
    const child = this.current;
    if (!child?.running()) return;
    childProcesses.kill(child.pid, 'SIGKILL');
    if (!(await childProcesses.waitForExit(child.pid, 5_000))) throw new Error(`${this.spec.name}: pid ${child.pid} survived SIGKILL`);
    this.paused = false;
  }

  /** SIGTERM, SIGKILL after a bound. The data directory stays. */
  async stop(): Promise<void> {
    const child = this.current;
    if (!child?.running()) return;
    await childProcesses.stop(child.pid, stopGraceMs);
    this.paused = false;
  }

  /**
   * SIGSTOP: the process keeps its sockets (the kernel still accepts connections) but
   * answers nothing. Resolves once every thread is stopped: the signal is asynchronous
   * and a JVM answers for a moment after it was sent.
   */
  async pause(): Promise<void> {
    const child = this.current;
    if (!child?.running()) throw new Error(`${this.spec.name} is not running`);
    childProcesses.kill(child.pid, 'SIGSTOP');
    this.paused = true;
    await waitForRunState(child.pid, 'stopped', 5_000);
  }

  /** SIGCONT; resolves once the process runs again. */
  async resume(): Promise<void> {
    const child = this.current;
    if (!child?.running() || !this.paused) return;
    childProcesses.kill(child.pid, 'SIGCONT');
    this.paused = false;
    await waitForRunState(child.pid, 'running', 5_000);
  }

  isPaused(): boolean {
    return this.paused && this.running();
  }

  /** The last `lines` lines of the server's log. */
  logTail(lines: number): string {
    try {
      const text = fs.readFileSync(this.spec.logFile, 'utf8');
      return text.split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private spawn(): void {
    const out = fs.openSync(this.spec.logFile, 'a');
    try {
      this.current = childProcesses.spawn(
        this.spec.java,
        javaArgs(this.spec.installation, this.spec.mainClass, this.spec.configFile, this.spec.heapMb, this.spec.jvmProfile),
        { stdio: ['ignore', out, out] },
      );
    } finally {
      // The child holds its own copy of the descriptor.
      fs.closeSync(out);
    }
    this.paused = false;
    this.spec.logger.debug({ server: this.spec.name, pid: this.current.pid, port: this.spec.port }, 'ZooKeeper server started');
  }
}

/** zoo.cfg text from key/value pairs, in the given order. */
export function renderZooCfg(settings: ReadonlyArray<readonly [string, string | number]>): string {
  return settings.map(([key, value]) => `${key}=${value}`).join('\n') + '\n';
}
