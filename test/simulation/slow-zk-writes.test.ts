// Review 36: a leader whose ZooKeeper answers every request, but steadily slower than the
// lease duration D. Its lease lapses and is never renewed (a touch must land within D of its
// send), yet every touch lands: ZooKeeper is slow, not unreachable, the lease version keeps
// moving, and the follower can never take over. The core counts the lapse silence from the
// last touch that landed (lease-lapse.ts, notes/timing.md, review 11), so it keeps taking
// writes, and they commit through ZooKeeper. The driver must not tell those writes
// UNKNOWN_OUTCOME once the lapse as such is older than the lapse silence: that failed every
// write of a leader whose ZooKeeper round trip stayed above D for longer than lapseSilenceMs.
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { SeededRandom } from '../../src/core/random.js';
import { type NodeConfig, defaultLimits, defaultTiming, lapseSilenceMs } from '../../src/server/node-config.js';
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

describe('a leader whose ZooKeeper is steadily slower than the lease duration', () => {
  it('keeps committing writes past the lapse silence (every touch lands, so it never falls silent)', async () => {
    const sched = new SimScheduler(36);
    const model = new ZkModel(sched);
    const gate = new NodeGate(sched, 'a#1');
    const zk = model.connect('a#1');
    const config: NodeConfig = { id: 'a', cluster: 'slow-zk-writes', advertise: '127.0.0.1:7001', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };
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
    // b never starts: a takes over once its pre-vote fails and the lease window passed (L1).
    await stepUntil(sched, () => d.status().role === 'leader', 60_000);
    expect(d.status().role).toBe('leader');

    // Every request to ZooKeeper now takes more than D longer: no touch renews the lease.
    const extraMs = defaultTiming.leaseDurationMs + 20;
    model.setExtraLatency('a#1', extraMs);
    const until = sched.now() + lapseSilenceMs(defaultTiming) + 1_000;
    const outcomes = new Map<string, number>();
    let written = 0;
    while (sched.now() < until) {
      let outcome: string | null = null;
      d.submit({ kind: 'put', key: `k${written}`, value: new Uint8Array([written & 0xff]) }).then(
        () => (outcome = 'ok'),
        (e: DuoraftError) => (outcome = e.code ?? String(e)),
      );
      await stepUntil(sched, () => outcome !== null, 5_000);
      const seen = outcome ?? 'no answer';
      outcomes.set(seen, (outcomes.get(seen) ?? 0) + 1);
      written++;
    }
    // The lease did lapse (the setup is what it says), and the node still leads.
    expect(d.inspect().leaseHolds).toBe(false);
    expect(d.status().role).toBe('leader');
    expect(Object.fromEntries(outcomes)).toEqual({ ok: written });
    let stopped = false;
    void d.stop().then(() => (stopped = true));
    await stepUntil(sched, () => stopped, 5_000);
    expect(stopped).toBe(true);
  });
});
