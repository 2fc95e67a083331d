// Review 28: a leader stopped while a write's entry is in flight to ZooKeeper. The multi may
// still land, and the next leader replays it; the client must therefore hear that the outcome
// is unknown (retry in its session), not UNAVAILABLE, which says "stopping: retry later" and
// which the client retries at once even without a session (an incr applied twice).
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import type { ZkOp, ZkOpResult } from '../../src/coordination/zk-api.js';
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

describe('a leader stopped with a write in flight to ZooKeeper', () => {
  it('tells the client UNKNOWN_OUTCOME (the multi may still land), not UNAVAILABLE', async () => {
    const sched = new SimScheduler(11);
    const model = new ZkModel(sched);
    const gate = new NodeGate(sched, 'a#1');
    const clock = gate.clock(0);
    const inner = model.connect('a#1');
    /** Once set, multis are held: they reached ZooKeeper's door and have not come back (`held`: those with a WAL segment). */
    let holdMultis = false;
    let held = 0;
    const zk = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'multi') {
          return (ops: readonly ZkOp[]): Promise<ZkOpResult[]> => {
            if (!holdMultis) return target.multi(ops);
            // The WAL mirror's multi: it creates the segment znode with the write's entry.
            if (ops.some((op) => op.type === 'create' && op.path.includes('/wal/'))) held++;
            return new Promise<ZkOpResult[]>(() => {});
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const config: NodeConfig = { id: 'a', cluster: 'stop-in-flight', advertise: '127.0.0.1:7001', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };
    let connected = false;
    void zk.waitConnected(5000).then(() => (connected = true));
    await stepUntil(sched, () => connected, 5_000);
    let driver: NodeDriver | null = null;
    void NodeDriver.start({
      config,
      clock,
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
    // b never starts: a takes over once its pre-vote fails and the lease window passed (L1).
    await stepUntil(sched, () => d.status().role === 'leader', 60_000);
    expect(d.status().role).toBe('leader');
    // A write of its term committed: nothing else of the take-over is in flight.
    const first = d.submit({ kind: 'put', key: 'k', value: new Uint8Array([1]) }).catch(() => null);
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await stepUntil(sched, () => firstDone, 10_000);
    expect(await first).not.toBeNull();

    holdMultis = true;
    let outcome: DuoraftError | 'resolved' | null = null;
    d.submit({ kind: 'incr', key: 'n', delta: 1 }).then(
      () => (outcome = 'resolved'),
      (e: DuoraftError) => (outcome = e),
    );
    await stepUntil(sched, () => held > 0, 1_000);
    expect(held).toBeGreaterThan(0);
    expect(outcome).toBeNull();
    let stopped = false;
    void d.stop().then(() => (stopped = true));
    await stepUntil(sched, () => stopped, 5_000);
    expect(stopped).toBe(true);
    expect(outcome).not.toBeNull();
    expect((outcome as DuoraftError | null)?.code).toBe('UNKNOWN_OUTCOME');
  });
});
