// Review 31 follow-up: a request held while the node's role settles (a take-over under way:
// ClientApi's bounded wait) must settle at once when the node stops, with UNAVAILABLE, and
// not only when its 2 s bound runs out. Virtual time does not move after stop(): a request
// that settles did so because stop() woke it.
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { SeededRandom } from '../../src/core/random.js';
import { type NodeConfig, defaultLimits, defaultTiming } from '../../src/server/node-config.js';
import { NodeDriver } from '../../src/server/node-driver.js';
import { MemoryWal } from '../../src/storage/memory-wal.js';
import { SimScheduler, settle } from './sim-scheduler.js';
import { NodeGate } from './sim/node-gate.js';
import { SimNetwork } from './sim/sim-network.js';
import { ZkModel } from './zk-model.js';

/** Steps virtual time until `done()` or `limitMs` of it passed. */
async function stepUntil(sched: SimScheduler, done: () => boolean, limitMs: number): Promise<void> {
  await settle();
  const deadline = sched.now() + limitMs;
  for (let events = 0; !done() && events < 1_000_000 && sched.nextAt() <= deadline; events++) await sched.step();
}

type Outcome = DuoraftError | 'resolved' | null;

describe('stop() with requests held while a take-over settles', () => {
  it('answers them UNAVAILABLE at once, without waiting out their bound', async () => {
    const sched = new SimScheduler(31);
    const model = new ZkModel(sched);
    const gate = new NodeGate(sched, 'a#1');
    const zk = model.connect('a#1');
    const config: NodeConfig = { id: 'a', cluster: 'stop-wakes', advertise: '127.0.0.1:7001', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };
    let connected = false;
    void zk.waitConnected(5000).then(() => (connected = true));
    await stepUntil(sched, () => connected, 5_000);
    let driver: NodeDriver | null = null;
    void NodeDriver.start({
      config,
      clock: gate.clock(0),
      random: new SeededRandom(1),
      logger: silentLogger,
      zk,
      transport: new SimNetwork(sched).attach('a', gate),
      wal: new MemoryWal({ scheduleSync: (complete) => sched.schedule(1, complete) }),
      recovery: { hardState: null, entries: [], warnings: [] },
    }).then((d) => (driver = d));
    await stepUntil(sched, () => driver !== null, 10_000);
    const d = driver as NodeDriver | null;
    if (!d) throw new Error('the node did not start');
    // b never starts: a's pre-vote fails and it takes over; while it is a candidate,
    // reads and writes wait for the outcome (client-api.ts waitWhileUnsettled).
    await stepUntil(sched, () => d.status().role === 'candidate', 60_000);
    expect(d.status().role).toBe('candidate');
    // The driver learns the role in its next loop round (deferred at this same instant).
    for (let events = 0; events < 100 && sched.nextAt() === sched.now(); events++) await sched.step();

    let write: Outcome = null;
    let read: Outcome = null;
    d.submit({ kind: 'put', key: 'k', value: new Uint8Array([1]) }).then(
      () => (write = 'resolved'),
      (e: DuoraftError) => (write = e),
    );
    d.read('k', 'linearizable').then(
      () => (read = 'resolved'),
      (e: DuoraftError) => (read = e),
    );
    await settle();
    expect(write).toBeNull();
    expect(read).toBeNull();
    expect(d.status().role).toBe('candidate');

    const before = sched.now();
    void d.stop();
    for (let i = 0; i < 5; i++) await settle();
    expect(sched.now()).toBe(before);
    expect((write as Outcome as DuoraftError | null)?.code).toBe('UNAVAILABLE');
    expect((read as Outcome as DuoraftError | null)?.code).toBe('UNAVAILABLE');
  });
});
