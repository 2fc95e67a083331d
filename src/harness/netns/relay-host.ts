// The harness's side of the relay process: starts it (tracked like every child, so it is
// SIGKILLed if the harness exits), waits for its ports, and sets delays, each change
// acknowledged before the call returns. Every wait is bounded.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcesses, type TrackedChild } from '../child-processes.js';
import type { Delay, RelaySpec } from './relay.js';
import type { FromRelayProcess, RelayProcessConfig, ToRelayProcess } from './relay-messages.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The compiled relay process (`npm run build`), as the nodes run from dist/ too. */
const relayMain = join(repoRoot, 'dist', 'harness', 'netns', 'relay-process.js');
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;

export class RelayHost {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: TrackedChild,
    /** Port of each relay, by name; each listens on its own address. */
    readonly ports: ReadonlyMap<string, number>,
  ) {
    child.child.on('message', (m: FromRelayProcess) => {
      if (m.type !== 'done') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(`relay process: ${m.error}`));
      else p?.resolve();
    });
    void child.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error('the relay process exited'));
      this.pending.clear();
    });
  }

  static async start(relays: readonly RelaySpec[]): Promise<RelayHost> {
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
      return new RelayHost(child, ports);
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

  setDelay(names: readonly string[], d: Delay): Promise<void> {
    const id = this.nextId++;
    const m: ToRelayProcess = { type: 'delay', id, names, latencyMs: d.latencyMs, jitterMs: d.jitterMs };
    return new Promise<void>((resolveDone, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the relay process did not confirm a delay change within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: () => {
          clearTimeout(timer);
          resolveDone();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.child.send(m);
    });
  }

  async stop(): Promise<void> {
    if (this.child.child.connected) this.child.child.disconnect();
    await childProcesses.stop(this.child.pid, 2000);
  }
}
