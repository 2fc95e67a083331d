// duoraft_listener_upstream_changes_total counts every change of the source a listener is
// fed from (listener-runner.ts, fedFrom). Review 22 found the error path of the choice (a
// probe that throws) falling back to ZooKeeper's log without counting it. On the ZooKeeper
// model, with the real listener parts and a connector whose probe throws.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { clusterTreeOps, createParentIfMissing } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { genesisChain } from '../../src/core/chain.js';
import type { FeedConnector } from '../../src/server/listener/feed-connector.js';
import { listenerParts } from '../../src/server/listener/listener-parts.js';
import { defaultLimits } from '../../src/server/node-config.js';
import { defaultSnapshotPolicy } from '../../src/server/snapshotter.js';
import { MemoryWal } from '../../src/storage/memory-wal.js';
import { NodeGate } from './sim/node-gate.js';
import { IncarnationWal } from './sim/sim-node.js';
import { SimSnapshotDisk, SimSnapshotStore } from './sim/sim-snapshot-disk.js';
import { SimClock, SimScheduler, settle } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const paths = new ClusterPaths('changes');

async function run(sched: SimScheduler, ms: number): Promise<void> {
  await settle();
  const until = sched.now() + ms;
  for (let events = 0; events < 200_000 && sched.nextAt() <= until; events++) await sched.step();
}

describe('a listener whose upstream choice fails', () => {
  it('reads ZooKeeper\'s log and counts that as a change of source', async () => {
    const sched = new SimScheduler(11);
    const model = new ZkModel(sched, { servers: 1 });
    const a = model.connect('a');
    const zk = model.connect('l1');
    const ready = Promise.all([a.waitConnected(5000), zk.waitConnected(5000)]);
    await run(sched, 1000);
    await ready;
    const tree = (async () => {
      await createParentIfMissing(a);
      await a.multi(clusterTreeOps(paths, { identity: { cluster: paths.cluster, clusterId: 'c1', createdAtMs: 0 }, epoch: { term: 1, leaderId: 'a' }, tail: { term: 0, lastIndex: 0, segmentFirstIndex: 0 }, config: { voters: ['a', 'b'], listeners: ['l1'] }, walHead: null }));
    })();
    await run(sched, 1000);
    await tree;
    const gate = new NodeGate(sched, 'l1');
    // Every probe throws (not "no answer": that is null), which sends the choice down its error path.
    const connector: FeedConnector = {
      probe: () => Promise.reject(new Error('probe exploded')),
      subscribe: () => {
        throw new Error('never chosen');
      },
    };
    const parts = listenerParts({
      id: 'l1',
      cluster: paths.cluster,
      address: 'l1:1',
      zk,
      paths,
      clock: new SimClock(sched),
      logger: silentLogger,
      genesis: genesisChain('c1'),
      wal: new IncarnationWal(new MemoryWal({ scheduleSync: (complete) => sched.schedule(1, complete) }), gate),
      recovery: { hardState: null, entries: [], warnings: [] },
      snapshots: new SimSnapshotStore(new SimSnapshotDisk(sched, paths.cluster), sched, gate, null),
      newest: null,
      snapshotPolicy: defaultSnapshotPolicy,
      fanout: 2,
      heartbeatMs: 500,
      connector,
      known: [{ id: 'b', address: 'b:1' }],
      saveKnown: () => Promise.resolve(),
      requestTimeoutMs: defaultLimits.requestTimeoutMs,
      maxPendingReads: defaultLimits.maxPendingReads,
    });
    parts.start();
    await run(sched, 500);
    const f = parts.figures();
    parts.stop();
    expect(f.upstream).toBe('zookeeper');
    expect(f.upstreamChanges).toBe(1);
  });
});
