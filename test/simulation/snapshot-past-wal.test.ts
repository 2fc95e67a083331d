// A node restarted on a local snapshot that reaches past its WAL's durable end: the power
// went after the snapshot's fsyncs but before the WAL's paced fsync covered the entries the
// snapshot holds. Found by the simulator once it took snapshots (seeds 44, 67, 68, 70): the
// node's first append after the restart left a gap in its WAL (the WAL ended at 113, the
// snapshot at 118, the next entry was 119), the WAL refused it, and the exception ended the
// process; restarted on the same disk, it would fail the same way every time.
import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../../src/statemachine/command.js';
import { silentLogger } from '../../src/common/logger.js';
import { SeededRandom } from '../../src/core/random.js';
import { defaultLimits, defaultTiming } from '../../src/server/node-config.js';
import { NodeDriver } from '../../src/server/node-driver.js';
import type { WalRecovery } from '../../src/storage/local-wal.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { MemoryWal } from '../../src/storage/memory-wal.js';
import { NodeGate } from './sim/node-gate.js';
import { SimNetwork } from './sim/sim-network.js';
import { SimScheduler } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const put = (key: string, value: string): KvCommand => ({ kind: 'put', key, value: new TextEncoder().encode(value) });

describe('a restart on a snapshot past the WAL', () => {
  it('starts the WAL over after the snapshot and takes writes', async () => {
    const sched = new SimScheduler(7);
    const model = new ZkModel(sched, { servers: 1 });
    const net = new SimNetwork(sched);
    let syncs = true;
    const wal = new MemoryWal({ scheduleSync: (complete) => sched.schedule(1, () => syncs && complete()) });
    const storage = new MemorySnapshotStore({ cluster: 'c' });
    const policy = { everyEntries: 12, everyBytes: 1 << 20, retainEntries: 0, keep: 2, zkBudgetBytes: 64 << 20 };
    const run = async <T>(p: Promise<T>, limitMs = 5000): Promise<T> => {
      const box: { out?: { v: T } | { e: unknown } } = {};
      p.then(
        (v) => (box.out = { v }),
        (e: unknown) => (box.out = { e }),
      );
      const until = sched.now() + limitMs;
      while (box.out === undefined && sched.nextAt() <= until) await sched.step();
      const o = box.out;
      if (o === undefined) throw new Error('timed out');
      if ('e' in o) throw o.e;
      return o.v;
    };
    const gates: NodeGate[] = [];
    const start = async (name: string, recovery: WalRecovery, initial: Awaited<ReturnType<MemorySnapshotStore['load']>> | null): Promise<NodeDriver> => {
      const gate = new NodeGate(sched, name);
      gates.push(gate);
      const zk = model.connect(name);
      await run(zk.waitConnected(5000));
      const saved = initial ? await storage.newest() : null;
      return run(
        NodeDriver.start({
          config: { id: 'a', cluster: 'c', advertise: 'a.sim:7000', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits },
          clock: gate.clock(0),
          random: new SeededRandom(1),
          logger: silentLogger,
          zk,
          transport: net.attach('a', gate),
          wal,
          recovery,
          snapshots: { storage, policy, ...(initial && saved ? { initial: { saved, loaded: initial } } : {}) },
        }),
      );
    };
    const write = async (d: NodeDriver, key: string, value: string): Promise<number> => {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          return (await run(d.submit(put(key, value)))).index;
        } catch {
          await run(new Promise((resolve) => sched.schedule(50, () => resolve(undefined))));
        }
      }
      throw new Error('no write accepted');
    };

    const first = await start('a#1', { hardState: null, entries: [], warnings: [] }, null);
    for (let i = 0; i < 4; i++) await write(first, `k${i}`, `v${i}`);
    await run(new Promise((resolve) => sched.schedule(100, () => resolve(undefined)))); // the WAL syncs
    syncs = false; // from here on nothing reaches the WAL's disk
    for (let i = 4; i < 20; i++) await write(first, `k${i}`, `v${i}`);
    const snapshot = await storage.newest();
    // The power goes: the process dies (its session lingers until it expires), the WAL keeps what was synced.
    gates[0]!.kill();
    net.detach('a');
    model.partition('a#1');
    const recovery = wal.crash();
    const walEnd = recovery.entries.at(-1)?.index ?? 0;
    expect(snapshot).not.toBeNull();
    expect(walEnd).toBeGreaterThan(0);
    expect(snapshot!.point.index).toBeGreaterThan(walEnd + 1); // the case: a gap between the WAL and the snapshot
    syncs = true;

    const second = await start('a#2', recovery, await storage.load(snapshot!));
    const index = await write(second, 'after', 'restart');
    expect(index).toBeGreaterThan(snapshot!.point.index);
    expect(second.inspect().kv.get('k19')).toEqual(new TextEncoder().encode('v19'));
    // And the WAL it left recovers (it starts after the snapshot, with no gap).
    await run(new Promise((resolve) => sched.schedule(100, () => resolve(undefined))));
    const again = wal.crash();
    expect(again.entries[0]?.index ?? index).toBeGreaterThan(snapshot!.point.index);
  }, 60_000);
});
