// A simulated listener: the real listener parts (src/server/listener/listener-parts.ts: the
// listener log, the upstream choice loop, the upstream link, the ZooKeeper tailer, the
// feeder for listeners below it, snapshots, the member znode) on simulated parts, as
// SimNode runs the real NodeDriver: the process gate, the ZooKeeper model, an in-memory WAL
// that loses what was not synced, a snapshot directory as harsh as the voters', and the
// simulated feed network (sim-feed-network.ts). It has no peer transport: the voters'
// network never sees it.
//
// Every ZooKeeper write it sends is reported (`onZkWrite`): the checker holds it to the
// only writes a listener may make (its member znode, its entry in `config`).
import { silentLogger, type Logger } from '../../../src/common/logger.js';
import { readClusterState } from '../../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { registerListener } from '../../../src/coordination/listener-config.js';
import type { ZkOp, ZkOpResult, ZkSession, ZkStat } from '../../../src/coordination/zk-api.js';
import { genesisChain } from '../../../src/core/chain.js';
import { defaultLimits } from '../../../src/server/node-config.js';
import { type ListenerParts, listenerParts } from '../../../src/server/listener/listener-parts.js';
import type { KnownUpstream } from '../../../src/server/listener/upstream-list-file.js';
import type { SnapshotPolicy } from '../../../src/server/snapshotter.js';
import type { WalRecovery } from '../../../src/storage/local-wal.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { ZkModel } from '../zk-model.js';
import { fsyncLatencyMs } from './disk-latency.js';
import { GatedZkSession } from './gated-zk.js';
import { NodeGate } from './node-gate.js';
import type { SimFeedNetwork } from './sim-feed-network.js';
import { IncarnationWal, simAddress } from './sim-node.js';
import { SimSnapshotDisk, SimSnapshotStore, type SnapshotObserver } from './sim-snapshot-disk.js';

export interface SimListenerOptions {
  readonly id: string;
  readonly cluster: string;
  readonly sched: SimScheduler;
  readonly model: ZkModel;
  readonly feed: SimFeedNetwork;
  readonly fanout: number;
  readonly heartbeatMs: number;
  readonly wallOffsetMs: number;
  readonly snapshotPolicy: SnapshotPolicy;
  readonly zkChunkBytes: number;
  readonly snapshotObserver?: SnapshotObserver;
  /** Told of every write this listener sends to ZooKeeper (the paths it touches). */
  readonly onZkWrite: (who: string, paths: readonly string[]) => void;
  readonly logger?: Logger;
}

export type SimListenerState = 'down' | 'starting' | 'up' | 'paused';

/** The gated session, with every write reported before it is sent. */
class ReportingZkSession extends GatedZkSession {
  constructor(
    inner: ZkSession,
    gate: NodeGate,
    private readonly report: (paths: readonly string[]) => void,
  ) {
    super(inner, gate);
  }

  override create(path: string, data: Uint8Array, mode: Parameters<ZkSession['create']>[2]): Promise<string> {
    this.report([path]);
    return super.create(path, data, mode);
  }

  override setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    this.report([path]);
    return super.setData(path, data, version);
  }

  override delete(path: string, version: number): Promise<void> {
    this.report([path]);
    return super.delete(path, version);
  }

  override multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    // A one-op check multi is how sync() may travel; checks write nothing.
    const writes = ops.filter((op) => op.type !== 'check').map((op) => op.path);
    if (writes.length > 0) this.report(writes);
    return super.multi(ops);
  }
}

export class SimListener {
  readonly id: string;
  private readonly o: SimListenerOptions;
  private wal: MemoryWal;
  private recovery: WalRecovery;
  private snapshotDisk: SimSnapshotDisk;
  /** The upstream list file (survives a crash, lost with the disk). */
  private known: KnownUpstream[] = [];
  private incarnation = 0;
  private gate: NodeGate | null = null;
  private zkName = '';
  parts: ListenerParts | null = null;
  private stateValue: SimListenerState = 'down';

  constructor(o: SimListenerOptions) {
    this.o = o;
    this.id = o.id;
    this.wal = this.newWal();
    this.recovery = { hardState: null, entries: [], warnings: [] };
    this.snapshotDisk = new SimSnapshotDisk(o.sched, o.cluster);
  }

  get state(): SimListenerState {
    return this.stateValue;
  }

  get sessionName(): string {
    return this.zkName;
  }

  private newWal(): MemoryWal {
    return new MemoryWal({ scheduleSync: (complete) => this.o.sched.schedule(fsyncLatencyMs(this.o.sched.random), complete) });
  }

  start(): void {
    if (this.stateValue !== 'down') throw new Error(`${this.id} is ${this.stateValue}`);
    this.incarnation++;
    const gate = new NodeGate(this.o.sched, `${this.id}#${this.incarnation}`);
    this.gate = gate;
    this.zkName = gate.name;
    this.stateValue = 'starting';
    const clock = gate.clock(this.o.wallOffsetMs);
    const zk = new ReportingZkSession(this.o.model.connect(this.zkName), gate, (paths) => this.o.onZkWrite(gate.name, paths));
    const paths = new ClusterPaths(this.o.cluster);
    const logger = this.o.logger ?? silentLogger;
    const recovery = this.recovery;
    const wal = new IncarnationWal(this.wal, gate);
    const snapshots = new SimSnapshotStore(this.snapshotDisk, this.o.sched, gate, this.o.snapshotObserver ?? null);
    const begin = async (): Promise<ListenerParts> => {
      await zk.waitConnected(5000);
      // The voters create the tree; a listener started before them fails and is started again.
      const state = await readClusterState(zk, paths);
      await registerListener(zk, paths, this.id);
      const newest = await snapshots.loadNewest();
      return listenerParts({
        id: this.id,
        cluster: this.o.cluster,
        address: simAddress(this.id),
        zk,
        paths,
        clock,
        logger,
        genesis: genesisChain(state.identity.clusterId),
        wal,
        recovery,
        snapshots,
        newest: newest ? { point: newest.loaded.point, store: newest.loaded.store, saved: newest.saved } : null,
        snapshotPolicy: this.o.snapshotPolicy,
        zkChunkBytes: this.o.zkChunkBytes,
        fanout: this.o.fanout,
        heartbeatMs: this.o.heartbeatMs,
        connector: this.o.feed.connector(this.id, gate),
        known: this.known,
        saveKnown: (list) => {
          this.known = [...list];
          return Promise.resolve();
        },
        requestTimeoutMs: defaultLimits.requestTimeoutMs,
        maxPendingReads: defaultLimits.maxPendingReads,
      });
    };
    begin().then(
      (parts) => {
        if (this.gate !== gate || gate.state === 'dead') return;
        this.parts = parts;
        this.o.feed.register(this.id, gate, parts.feeder);
        parts.start();
        if (this.stateValue === 'starting') this.stateValue = 'up';
      },
      () => {
        if (this.gate !== gate || gate.state === 'dead') return;
        // Could not start (ZooKeeper unreachable, no tree yet): exit, started again shortly.
        this.crash({ wipe: false, tornTail: false });
        this.o.sched.schedule(500, () => {
          if (this.stateValue === 'down') this.start();
        });
      },
    );
  }

  /** SIGKILL; with wipe the disk is lost too (WAL, snapshots, the upstream list). */
  crash(o: { wipe: boolean; tornTail: boolean }): void {
    if (!this.gate || this.stateValue === 'down') return;
    this.gate.kill();
    this.o.feed.died(this.id);
    this.o.model.partition(this.zkName);
    this.parts = null;
    this.gate = null;
    this.stateValue = 'down';
    if (o.wipe) {
      this.wal = this.newWal();
      this.recovery = { hardState: null, entries: [], warnings: [] };
      this.snapshotDisk = new SimSnapshotDisk(this.o.sched, this.o.cluster);
      this.known = [];
    } else {
      this.recovery = this.wal.crash({ tornTail: o.tornTail });
      this.snapshotDisk.crash();
    }
  }

  pause(): void {
    if (!this.gate || this.stateValue === 'down' || this.stateValue === 'paused') return;
    this.gate.pause();
    this.o.model.partition(this.zkName, 'silent');
    this.stateValue = 'paused';
  }

  resume(): void {
    if (!this.gate || this.stateValue !== 'paused') return;
    this.o.model.heal(this.zkName);
    this.gate.resume();
    this.stateValue = this.parts ? 'up' : 'starting';
  }

  cutZk(): void {
    if (this.gate && this.stateValue !== 'down') this.o.model.partition(this.zkName);
  }

  healZk(): void {
    if (this.zkName) this.o.model.heal(this.zkName);
  }

  /** Who feeds it now: a member id, 'zookeeper', or '' (choosing). */
  upstream(): string {
    return this.parts?.runner.status().upstream ?? '';
  }
}
