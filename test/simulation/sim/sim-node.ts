// A simulated voter: the real NodeDriver (and so the real core, WAL mirror, lease, fence
// and replay) on simulated parts: virtual clock, simulated network, the ZooKeeper model,
// an in-memory WAL with heavy-tailed fsync latency that loses what was not synced when
// the process dies, and a snapshot directory that is as harsh (sim-snapshot-disk.ts).
import { UnavailableError } from '../../../src/common/errors.js';
import { silentLogger, type Logger } from '../../../src/common/logger.js';
import { SeededRandom } from '../../../src/core/random.js';
import type { Entry, HardState } from '../../../src/core/types.js';
import { type LimitsConfig, type NodeConfig, defaultLimits, defaultTiming, type TestFaults } from '../../../src/server/node-config.js';
import { NodeDriver } from '../../../src/server/node-driver.js';
import type { LocalWal, WalRecovery } from '../../../src/storage/local-wal.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import type { SnapshotPolicy } from '../../../src/server/snapshotter.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { ZkModel } from '../zk-model.js';
import { fsyncLatencyMs } from './disk-latency.js';
import { GatedZkSession } from './gated-zk.js';
import { NodeGate } from './node-gate.js';
import { genesisChain } from '../../../src/core/chain.js';
import { ListenerFeeder } from '../../../src/server/listener/feeder.js';
import { wakeOnLeaderCommit } from '../../../src/server/listener/commit-wakeup.js';
import { voterFeedSource } from '../../../src/server/listener/voter-feed-source.js';
import type { SimFeedNetwork } from './sim-feed-network.js';
import type { SimNetwork } from './sim-network.js';
import { SimSnapshotDisk, SimSnapshotStore, type SnapshotObserver } from './sim-snapshot-disk.js';

export interface SimNodeOptions {
  readonly id: string;
  readonly cluster: string;
  readonly sched: SimScheduler;
  readonly model: ZkModel;
  readonly net: SimNetwork;
  readonly faults?: TestFaults;
  /** Limits other than the simulator's defaults (a targeted test lowers a bound to reach it). */
  readonly limits?: Partial<LimitsConfig>;
  readonly logger?: Logger;
  /** Offset of this process's wall clock (clocks are not synchronized). */
  readonly wallOffsetMs: number;
  /** When the node snapshots (small in the simulator, so that it happens many times per run). */
  readonly snapshotPolicy: SnapshotPolicy;
  /** Piece sizes of snapshot uploads, downloads and pulls (small: many pieces, each of which a fault can cut). */
  readonly snapshotPieces: { readonly zkChunkBytes: number; readonly rangeBytes: number };
  /** Told of every snapshot a process loads or makes durable (the invariant checker). */
  readonly snapshotObserver?: SnapshotObserver;
  /** With listeners: the feed network its feeder serves on, and the feeder's settings (as run-node.ts wires it). */
  readonly feed?: { readonly net: SimFeedNetwork; readonly fanout: number; readonly heartbeatMs: number };
}

/** The in-memory WAL as one incarnation sees it: after its death it writes nothing more. */
export class IncarnationWal implements LocalWal {
  constructor(
    private readonly wal: MemoryWal,
    private readonly gate: NodeGate,
  ) {}

  private alive(): boolean {
    return this.gate.state !== 'dead';
  }

  appendEntries(entries: readonly Entry[]): void {
    if (this.alive()) this.wal.appendEntries(entries);
  }

  truncateFrom(fromIndex: number): void {
    if (this.alive()) this.wal.truncateFrom(fromIndex);
  }

  setHardState(hs: HardState): void {
    if (this.alive()) this.wal.setHardState(hs);
  }

  sync(): Promise<void> {
    if (!this.alive()) return new Promise(() => undefined);
    return new Promise((resolve, reject) => {
      this.wal.sync().then(
        () => this.gate.deliver(resolve),
        (e: unknown) => this.gate.deliver(() => reject(e)),
      );
    });
  }

  compact(upToIndex: number): Promise<void> {
    return this.alive() ? this.wal.compact(upToIndex) : new Promise(() => undefined);
  }

  async close(): Promise<void> {
    if (this.alive()) await this.wal.close();
  }
}

export type SimNodeState = 'down' | 'starting' | 'up' | 'paused';

/** The address a simulated node advertises (clients find it in the leader znode). */
export function simAddress(id: string): string {
  return `${id}.sim:7000`;
}

export class SimNode {
  readonly id: string;
  private readonly o: SimNodeOptions;
  private wal: MemoryWal;
  private recovery: WalRecovery;
  private snapshotDisk: SimSnapshotDisk;
  private incarnation = 0;
  private gate: NodeGate | null = null;
  private zkName = '';
  driver: NodeDriver | null = null;
  private stateValue: SimNodeState = 'down';
  /** Start failures (ZooKeeper unreachable at start), retried like a supervisor would. */
  startFailures = 0;

  constructor(o: SimNodeOptions) {
    this.o = o;
    this.id = o.id;
    this.wal = this.newWal();
    this.recovery = { hardState: null, entries: [], warnings: [] };
    this.snapshotDisk = new SimSnapshotDisk(o.sched, o.cluster);
  }

  get state(): SimNodeState {
    return this.stateValue;
  }

  get sessionName(): string {
    return this.zkName;
  }

  get currentGate(): NodeGate | null {
    return this.gate;
  }

  private newWal(): MemoryWal {
    // fsync takes milliseconds, with a heavy tail to hundreds (disk-latency.ts). A crash
    // keeps only what a completed sync covered (MemoryWal.crash).
    return new MemoryWal({ scheduleSync: (complete) => this.o.sched.schedule(fsyncLatencyMs(this.o.sched.random), complete) });
  }

  /** Starts a new incarnation (the driver is up once it registered in ZooKeeper). */
  start(): void {
    if (this.stateValue !== 'down') throw new Error(`${this.id} is ${this.stateValue}`);
    this.incarnation++;
    const gate = new NodeGate(this.o.sched, `${this.id}#${this.incarnation}`);
    this.gate = gate;
    this.zkName = gate.name;
    this.stateValue = 'starting';
    const clock = gate.clock(this.o.wallOffsetMs);
    const zk = new GatedZkSession(this.o.model.connect(this.zkName), gate);
    // As run-node.ts: the feeder pushes once the follower stepped its leader's commit index.
    let feeder: ListenerFeeder | null = null;
    const attached = this.o.net.attach(this.id, gate);
    const transport = this.o.feed ? wakeOnLeaderCommit(attached, () => feeder?.kick()) : attached;
    const config: NodeConfig = {
      id: this.id,
      cluster: this.o.cluster,
      advertise: simAddress(this.id),
      voters: ['a', 'b'],
      timing: defaultTiming,
      limits: { ...defaultLimits, maxPendingProposals: 256, ...this.o.limits },
      ...(this.o.faults ? { faults: this.o.faults } : {}),
    };
    const recovery = this.recovery;
    const snapshots = new SimSnapshotStore(this.snapshotDisk, this.o.sched, gate, this.o.snapshotObserver ?? null);
    zk.waitConnected(5000)
      // As run-node.ts: the newest local snapshot is what the state machine starts from.
      .then(() => snapshots.loadNewest())
      .then((initial) =>
        NodeDriver.start({
          config,
          clock,
          random: new SeededRandom(this.o.sched.random.nextUint32()),
          logger: this.o.logger ?? silentLogger,
          zk,
          transport,
          wal: new IncarnationWal(this.wal, gate),
          recovery,
          // A constant: the nodes share this process, and the real reading is a system call per tick.
          cpuTimeMs: () => 0,
          snapshots: { storage: snapshots, policy: this.o.snapshotPolicy, pieces: this.o.snapshotPieces, ...(initial ? { initial } : {}) },
        }),
      )
      .then(
        (driver) => {
          if (this.gate !== gate || gate.state === 'dead') return;
          this.driver = driver;
          if (this.o.feed) {
            feeder = new ListenerFeeder({
              cluster: this.o.cluster,
              source: voterFeedSource(driver, genesisChain(driver.identity.clusterId), this.o.faults),
              clock,
              logger: this.o.logger ?? silentLogger,
              fanout: this.o.feed.fanout,
              heartbeatMs: this.o.feed.heartbeatMs,
            });
            this.o.feed.net.register(this.id, gate, feeder);
          }
          if (this.stateValue === 'starting') this.stateValue = 'up';
        },
        () => {
          if (this.gate !== gate || gate.state === 'dead') return;
          // Could not start (ZooKeeper unreachable): exit, and be started again shortly.
          this.startFailures++;
          this.crash({ wipe: false, tornTail: false });
          this.o.sched.schedule(500, () => {
            if (this.stateValue === 'down') this.start();
          });
        },
      );
  }

  /** SIGKILL: the process is gone; its ZooKeeper session lingers until it expires. */
  crash(o: { wipe: boolean; tornTail: boolean }): void {
    if (!this.gate || this.stateValue === 'down') return;
    this.gate.kill();
    this.o.net.detach(this.id);
    this.o.feed?.net.died(this.id);
    this.o.model.partition(this.zkName);
    this.driver = null;
    this.gate = null;
    this.stateValue = 'down';
    if (o.wipe) {
      // The disk is gone: its WAL and its snapshots.
      this.wal = this.newWal();
      this.recovery = { hardState: null, entries: [], warnings: [] };
      this.snapshotDisk = new SimSnapshotDisk(this.o.sched, this.o.cluster);
    } else {
      this.recovery = this.wal.crash({ tornTail: o.tornTail });
      this.snapshotDisk.crash();
    }
  }

  pause(): void {
    if (!this.gate || this.stateValue === 'down' || this.stateValue === 'paused') return;
    this.gate.pause();
    // The stopped process sends no pings: to ZooKeeper it has gone silent.
    this.o.model.partition(this.zkName, 'silent');
    this.stateValue = 'paused';
  }

  resume(): void {
    if (!this.gate || this.stateValue !== 'paused') return;
    this.o.model.heal(this.zkName);
    this.gate.resume();
    this.stateValue = this.driver ? 'up' : 'starting';
  }

  cutZk(): void {
    if (this.gate && this.stateValue !== 'down') this.o.model.partition(this.zkName);
  }

  healZk(): void {
    if (this.zkName) {
      this.o.model.heal(this.zkName);
      this.o.model.setExtraLatency(this.zkName, 0);
    }
  }

  /** Its network to ZooKeeper gets `extraMs` slower each way (0 ends it). */
  slowZk(extraMs: number): void {
    if (this.zkName) this.o.model.setExtraLatency(this.zkName, extraMs);
  }

  /**
   * A client call to this node: travels the network, runs in the process (when it runs),
   * and its answer travels back. A node that is down refuses the connection.
   */
  call<T>(fn: (d: NodeDriver) => Promise<T>): Promise<T> {
    const sched = this.o.sched;
    const gate = this.gate;
    const latency = (): number => 1 + sched.random.nextInt(2);
    return new Promise<T>((resolve, reject) => {
      if (!gate || gate.state === 'dead') {
        sched.schedule(latency(), () => reject(new UnavailableError(`${this.id} refused the connection`)));
        return;
      }
      sched.schedule(latency(), () =>
        gate.deliver(() => {
          const d = this.driver;
          if (!d || this.gate !== gate) {
            reject(new UnavailableError(`${this.id} is starting`));
            return;
          }
          fn(d).then(
            (v) => sched.schedule(latency(), () => resolve(v)),
            (e: unknown) => sched.schedule(latency(), () => reject(e)),
          );
        }),
      );
    });
  }
}
