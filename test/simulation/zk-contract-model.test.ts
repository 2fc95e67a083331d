// The shared ZkSession contract against the in-memory model: the proof that the
// simulator's ZooKeeper behaves like the real one (the same suite runs against a real
// server in test/integration/zk-client.test.ts). The suite is written for real time;
// autorun drives the model's virtual time from the real event loop meanwhile.
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { zkContractSuite } from '../contract/zk-contract-suite.js';
import { SimScheduler } from './sim-scheduler.js';
import { autorun, ZkModel } from './zk-model.js';

zkContractSuite('in-memory model (simulator)', async () => {
  const sched = new SimScheduler(20_240_601);
  // One server: the general contract states what a standalone server guarantees (the
  // ensemble's own cases are in zk-ensemble-contract-model.test.ts).
  const model = new ZkModel(sched, { servers: 1 });
  const driver = autorun(sched);
  const names = new Map<ZkSession, string>();
  return {
    async open() {
      const name = `contract-${names.size + 1}`;
      const session = model.connect(name);
      names.set(session, name);
      await session.waitConnected(10_000);
      return session;
    },
    async expire(session) {
      const name = names.get(session);
      if (name === undefined) throw new Error('expire: not a session of this fixture');
      const expired = new Promise<void>((resolve, reject) => {
        const off = session.onStateChange((state) => {
          if (state !== 'expired') return;
          off();
          bound.cancel();
          resolve();
        });
        const bound = sched.schedule(10_000, () => {
          off();
          reject(new Error(`expire: ${name} did not report 'expired' within 10 s of virtual time`));
        });
      });
      model.expire(name);
      await expired;
    },
    // No restartServer: the model has no process to restart (the case is skipped).
    teardown: () => driver.stop(),
  };
});
