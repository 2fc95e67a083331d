// Review 10: start-up retried while ZooKeeper comes and goes (startup-retry.ts) must not leave
// anything of a failed attempt behind. NodeDriver.start builds the driver (whose Ephemerals
// subscribes to the session's state changes) before it registers the member znode; when that
// last step is lost to a connection loss, the next attempt builds another driver, and the
// first one's subscription stays: it restores members/<id> on every reconnect for the life
// of the process, and one more is left per failed attempt.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { ZkError, type ZkConnectionState, type ZkSession } from '../../src/coordination/zk-api.js';
import { SeededRandom } from '../../src/core/random.js';
import { type NodeConfig, defaultLimits, defaultTiming } from '../../src/server/node-config.js';
import { NodeDriver } from '../../src/server/node-driver.js';
import { retryWhileZkUnavailable } from '../../src/server/startup-retry.js';
import { MemoryWal } from '../../src/storage/memory-wal.js';
import { SimScheduler, settle } from './sim-scheduler.js';
import { NodeGate } from './sim/node-gate.js';
import { SimNetwork } from './sim/sim-network.js';
import { ZkModel } from './zk-model.js';

async function drive<T>(sched: SimScheduler, promise: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  const deadline = sched.now() + limitMs;
  for (let events = 0; !done && events < 1_000_000 && sched.nextAt() <= deadline; events++) await sched.step();
  if (!done) throw new Error(`drive: not settled by virtual time ${deadline}`);
  return promise;
}

/** Starts a node whose first `failures` member registrations end in connection loss; returns the state-change subscriptions left after its stop(). */
async function subscriptionsLeftAfterStop(failures: number): Promise<number> {
  const sched = new SimScheduler(7);
  const model = new ZkModel(sched);
  const gate = new NodeGate(sched, 'a#1');
  const clock = gate.clock(0);
  const inner = model.connect('a#1');
  let active = 0;
  let toFail = failures;
  const zk = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'onStateChange') {
        return (listener: (state: ZkConnectionState) => void): (() => void) => {
          active++;
          const off = target.onStateChange(listener);
          let done = false;
          return () => {
            if (!done) active--;
            done = true;
            off();
          };
        };
      }
      if (prop === 'create') {
        return (path: string, data: Uint8Array, mode: Parameters<ZkSession['create']>[2]) => {
          if (path.includes('/members/') && toFail > 0) {
            toFail--;
            return Promise.reject(new ZkError('CONNECTION_LOSS', path));
          }
          return target.create(path, data, mode);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  const config: NodeConfig = { id: 'a', cluster: 'orphan', advertise: '127.0.0.1:7001', voters: ['a', 'b'], timing: defaultTiming, limits: defaultLimits };
  const transport = new SimNetwork(sched).attach('a', gate);
  const retry = { zk, clock, logger: silentLogger };
  await drive(sched, zk.waitConnected(5000));
  const driver = await drive(
    sched,
    retryWhileZkUnavailable(
      'starting',
      () =>
        NodeDriver.start({
          config,
          clock,
          random: new SeededRandom(1),
          logger: silentLogger,
          zk,
          transport,
          wal: new MemoryWal({ scheduleSync: (complete) => sched.schedule(1, complete) }),
          recovery: { hardState: null, entries: [], warnings: [] },
        }),
      retry,
    ),
  );
  await drive(sched, driver.stop());
  return active;
}

describe('start-up retried after a connection loss at the last step', () => {
  it('leaves no subscription of the failed attempt behind', async () => {
    const clean = await subscriptionsLeftAfterStop(0);
    const retried = await subscriptionsLeftAfterStop(2);
    expect(retried).toBe(clean);
  });
});
