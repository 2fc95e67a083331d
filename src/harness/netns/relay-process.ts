// The relay process: every relay of one run, in a process of its own so that the delays
// it adds are timed by an event loop that the clients, the checker and the harness do not
// keep busy. Started by relay-host.ts with its configuration as the first argument; it
// reports its ports, applies delay changes, reports how late it delivered
// (relay-lateness.ts), and exits when its parent goes away (the IPC channel closes even
// when the parent is SIGKILLed).
import { performance } from 'node:perf_hooks';
import type { FromRelayProcess, RelayProcessConfig, ToRelayProcess } from './relay-messages.js';
import { RelayLateness } from './relay-lateness.js';
import { type Relay, startRelay } from './relay.js';

/** Period of the timer that times the event loop. */
const LOOP_PROBE_MS = 10;

function send(m: FromRelayProcess): void {
  process.send?.(m);
}

function timeTheEventLoop(lateness: RelayLateness): void {
  let due = performance.now() + LOOP_PROBE_MS;
  const probe = setInterval(() => {
    const now = performance.now();
    lateness.loopGap(Math.max(0, now - due), Date.now());
    due = now + LOOP_PROBE_MS;
  }, LOOP_PROBE_MS);
  probe.unref();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RelayProcessConfig;
  const lateness = new RelayLateness();
  const relays = new Map<string, Relay>();
  for (const spec of config.relays) relays.set(spec.name, await startRelay(spec, Math.random, lateness));
  timeTheEventLoop(lateness);
  process.on('message', (m: ToRelayProcess) => {
    if (m.type === 'lateness') {
      send({ type: 'lateness', id: m.id, stats: lateness.stats() });
      return;
    }
    try {
      for (const name of m.names) {
        const r = relays.get(name);
        if (!r) throw new Error(`no relay named ${name}`);
        r.setDelay({ latencyMs: m.latencyMs, jitterMs: m.jitterMs });
      }
      send({ type: 'done', id: m.id });
    } catch (err) {
      send({ type: 'done', id: m.id, error: (err as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ports: Object.fromEntries([...relays].map(([name, r]) => [name, r.port])) });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
