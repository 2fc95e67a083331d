// The harness's side of the relay process: starts it (tracked like every child, so it is
// SIGKILLed if the harness exits), gives it real-time priority, waits for its ports, sets
// delays (each change acknowledged before the call returns) and asks how late it
// delivered. Every wait is bounded.
//
// Why real-time priority: the relays stand in for `tc netem`, which runs in the kernel
// and is not held up by a busy machine. A relay process starved of CPU (2 cores shared by
// ZooKeeper, two voters and the load) would freeze every link at once, a fault nobody
// injected, and a false-failover count would then measure the machine, not the system.
// SCHED_FIFO (`chrt`, root, as the namespaces need anyway) keeps it ahead of them; the
// relay does little work, and the kernel's RT throttling still leaves others 5 %. Where
// chrt fails the run goes on at normal priority and says so; `lateness()` shows what the
// relays really delivered either way.
import { join } from 'node:path';
import { childProcesses, type TrackedChild } from '../child-processes.js';
import { run } from './commands.js';
import type { Delay, RelaySpec } from './relay.js';
import type { RelayLatenessStats } from './relay-lateness.js';
import type { FromRelayProcess, RelayProcessConfig, ToRelayProcess } from './relay-messages.js';
import { packageRoot } from '../package-root.js';

const repoRoot = packageRoot(import.meta.url);
/** The compiled relay process (`npm run build`), as the nodes run from dist/ too. */
const relayMain = join(repoRoot, 'dist', 'harness', 'netns', 'relay-process.js');
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
/** SCHED_FIFO priority of the relay process: above every normal process, low among real-time ones. */
const RELAY_RT_PRIORITY = 10;

type Answer = Extract<FromRelayProcess, { readonly id: number }>;

export class RelayHost {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Answer) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: TrackedChild,
    /** Port of each relay, by name; each listens on its own address. */
    readonly ports: ReadonlyMap<string, number>,
    /** Whether the relay process runs at real-time priority (null), or why not. */
    readonly normalPriorityBecause: string | null,
  ) {
    child.child.on('message', (m: FromRelayProcess) => {
      if (m.type !== 'done' && m.type !== 'lateness') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    void child.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error('the relay process exited'));
      this.pending.clear();
    });
  }

  static async start(relays: readonly RelaySpec[], say: (line: string) => void = () => undefined): Promise<RelayHost> {
    const config: RelayProcessConfig = { relays };
    const child = childProcesses.spawn(process.execPath, [relayMain, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const ports = await new Promise<Map<string, number>>((resolvePorts, reject) => {
        const timer = setTimeout(() => reject(new Error(`the relay process did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        child.child.once('message', (m: FromRelayProcess) => {
          clearTimeout(timer);
          if (m.type === 'ready') resolvePorts(new Map(Object.entries(m.ports)));
          else reject(new Error(`the relay process failed: ${m.type === 'error' ? m.message : m.type}`));
        });
        void child.exited.then((e) => {
          clearTimeout(timer);
          reject(new Error(`the relay process exited at start (code ${e.code}, signal ${e.signal}); is the build current (npm run build)?`));
        });
      });
      let normalPriorityBecause: string | null = null;
      try {
        // -a: every thread of the process, and threads it starts later inherit the policy.
        await run('chrt', ['-a', '-f', '-p', String(RELAY_RT_PRIORITY), String(child.pid)]);
      } catch (err) {
        normalPriorityBecause = err instanceof Error ? err.message : String(err);
        say(`the relay process runs at normal priority (${normalPriorityBecause}); a busy machine can delay its links`);
      }
      return new RelayHost(child, ports, normalPriorityBecause);
    } catch (err) {
      await childProcesses.stop(child.pid, 1000);
      throw err;
    }
  }

  port(name: string): number {
    const p = this.ports.get(name);
    if (p === undefined) throw new Error(`no relay named ${name}`);
    return p;
  }

  async setDelay(names: readonly string[], d: Delay): Promise<void> {
    const answer = await this.ask({ type: 'delay', id: this.nextId++, names, latencyMs: d.latencyMs, jitterMs: d.jitterMs }, 'confirm a delay change');
    if (answer.type === 'done' && answer.error) throw new Error(`relay process: ${answer.error}`);
  }

  /** How late the relays delivered since they started, beyond the delays they were given. */
  async lateness(): Promise<RelayLatenessStats> {
    const answer = await this.ask({ type: 'lateness', id: this.nextId++ }, 'report its lateness');
    if (answer.type !== 'lateness') throw new Error(`the relay process answered a lateness request with ${answer.type}`);
    return answer.stats;
  }

  async stop(): Promise<void> {
    if (this.child.child.connected) this.child.child.disconnect();
    await childProcesses.stop(this.child.pid, 2000);
  }

  private ask(m: ToRelayProcess, what: string): Promise<Answer> {
    return new Promise<Answer>((resolveAnswer, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(m.id);
        reject(new Error(`the relay process did not ${what} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(m.id, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolveAnswer(answer);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.child.send(m);
    });
  }
}
