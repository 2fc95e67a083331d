// One listener on the ZooKeeper model with the real listener parts and a connector the test
// writes: for tests of how a listener chooses and leaves its upstreams, without voters.
import { silentLogger } from '../../../src/common/logger.js';
import { clusterTreeOps, createParentIfMissing } from '../../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import type { ZkSession } from '../../../src/coordination/zk-api.js';
import { genesisChain } from '../../../src/core/chain.js';
import type { FeedConnector } from '../../../src/server/listener/feed-connector.js';
import { listenerParts } from '../../../src/server/listener/listener-parts.js';
import type { KnownUpstream } from '../../../src/server/listener/upstream-list-file.js';
import { defaultLimits } from '../../../src/server/node-config.js';
import { defaultSnapshotPolicy } from '../../../src/server/snapshotter.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import { NodeGate } from './node-gate.js';
import { IncarnationWal } from './sim-node.js';
import { SimSnapshotDisk, SimSnapshotStore } from './sim-snapshot-disk.js';
import { SimClock, type SimScheduler, settle } from '../sim-scheduler.js';
import { ZkModel } from '../zk-model.js';

/** Runs the scheduler for `ms` of simulated time (bounded in events). */
export async function runFor(sched: SimScheduler, ms: number): Promise<void> {
  await settle();
  const until = sched.now() + ms;
  for (let events = 0; events < 200_000 && sched.nextAt() <= until; events++) await sched.step();
}

export interface LoneListenerOptions {
  readonly cluster: string;
  readonly connector: FeedConnector;
  /** The upstreams on record at start (no member registers in members/). */
  readonly known: readonly KnownUpstream[];
  readonly fanout?: number;
  readonly heartbeatMs?: number;
}

export interface LoneListener {
  readonly parts: ReturnType<typeof listenerParts>;
  /** A session of voter a's, for the test to change the cluster's znodes. */
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
}

/** Creates the cluster's tree (voters a and b, listener l1) and starts listener l1; the caller stops it. */
export async function startLoneListener(sched: SimScheduler, o: LoneListenerOptions): Promise<LoneListener> {
  const paths = new ClusterPaths(o.cluster);
  const model = new ZkModel(sched, { servers: 1 });
  const a = model.connect('a');
  const zk = model.connect('l1');
  const ready = Promise.all([a.waitConnected(5000), zk.waitConnected(5000)]);
  await runFor(sched, 1000);
  await ready;
  const tree = (async () => {
    await createParentIfMissing(a);
    await a.multi(
      clusterTreeOps(paths, {
        identity: { cluster: paths.cluster, clusterId: 'c1', createdAtMs: 0 },
        epoch: { term: 1, leaderId: 'a' },
        tail: { term: 0, lastIndex: 0, segmentFirstIndex: 0 },
        config: { voters: ['a', 'b'], listeners: ['l1'] },
        walHead: null,
      }),
    );
  })();
  await runFor(sched, 1000);
  await tree;
  const gate = new NodeGate(sched, 'l1');
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
    fanout: o.fanout ?? 2,
    heartbeatMs: o.heartbeatMs ?? 500,
    connector: o.connector,
    known: o.known,
    saveKnown: () => Promise.resolve(),
    requestTimeoutMs: defaultLimits.requestTimeoutMs,
    maxPendingReads: defaultLimits.maxPendingReads,
  });
  parts.start();
  return { parts, zk: a, paths };
}
