// The ensemble contract (what a lagging server may return) against the model ensemble:
// three servers, server 0 leads, followers 1 and 2; with global sessions (ZooKeeper's
// default) and with local sessions. The same suite runs against three
// real servers in test/integration/zk-client.test.ts. Virtual time runs as fast as there
// are events (autorun); the fixture's sleep waits virtual time.
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { zkEnsembleContractSuite } from '../contract/zk-ensemble-contract-suite.js';
import { SimScheduler } from './sim-scheduler.js';
import { autorun, ZkModel } from './zk-model.js';

for (const localSessions of [false, true]) zkEnsembleContractSuite('in-memory model ensemble (simulator)', { localSessions }, async () => {
  const sched = new SimScheduler(20_250_117);
  const model = new ZkModel(sched, { servers: 3, localSessions });
  const driver = autorun(sched);
  const names = new Map<ZkSession, string>();
  const start = (server: number): ZkSession => {
    const name = `ensemble-${names.size + 1}`;
    const session = model.connect(name, { servers: [server] });
    names.set(session, name);
    return session;
  };
  return {
    followers: () => Promise.resolve([1, 2] as const),
    async openOn(server) {
      const session = start(server);
      await session.waitConnected(10_000);
      return session;
    },
    startOn: (server) => Promise.resolve(start(server)),
    hold(server) {
      model.holdServer(server);
      return Promise.resolve(() => model.releaseServer(server));
    },
    moveTo(session, server) {
      const name = names.get(session);
      if (name === undefined) throw new Error('moveTo: not a session of this fixture');
      model.reroute(name, [server]);
    },
    sleep: (ms) => new Promise<void>((resolve) => sched.schedule(ms, resolve)),
    teardown: () => driver.stop(),
  };
});
