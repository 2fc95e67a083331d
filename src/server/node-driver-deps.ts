// What a node driver is built from (node-driver.ts, node-driver-wiring.ts): the real or
// simulated parts it runs against, and what its owner is told when it must stop for good.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { LocalClusterView } from '../coordination/cluster-init.js';
import type { ZkSession } from '../coordination/zk-api.js';
import type { RandomSource } from '../core/random.js';
import type { LocalWal, WalRecovery } from '../storage/local-wal.js';
import type { SnapshotStorage } from '../storage/snapshot-storage.js';
import type { SavedSnapshot } from '../storage/snapshot-store.js';
import type { LoadedSnapshot } from '../statemachine/snapshot-loader.js';
import type { PeerTransport } from '../transport/transport.js';
import type { NodeConfig } from './node-config.js';
import type { SnapshotPolicy } from './snapshotter.js';
import type { NodeTelemetry } from './telemetry.js';

export interface NodeDriverDeps {
  readonly config: NodeConfig;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly zk: ZkSession;
  readonly transport: PeerTransport;
  readonly wal: LocalWal;
  readonly recovery: WalRecovery;
  /**
   * The node cannot go on with this state (its committed log diverged from the leader's or
   * ZooKeeper's): it has stopped serving; the owner should set its data aside and restart it
   * to rebuild from ZooKeeper. Default: only logged.
   */
  readonly onFatal?: (reason: string, what: FatalKind) => void;
  /** What this node knows of the cluster from its data folder (default: a fresh node). */
  readonly local?: LocalClusterView;
  /** Told what the node's parts do (metrics, src/server/telemetry.ts). Default: nobody. */
  readonly telemetry?: NodeTelemetry;
  /** Snapshots: where they are kept, and the one the state machine starts from (default: in memory, none). */
  readonly snapshots?: NodeSnapshots;
  /** Verify the segments of wal/ this node depends on before it starts (zk-log-check.ts). Default true. */
  readonly verifyZkLogAtStart?: boolean;
  /**
   * The process's CPU time so far in ms, read by the pause monitor each time it arms, so that
   * a stall report says whether the process was busy. Default: process.cpuUsage(). The
   * simulator passes a constant: its nodes share one process, so the figure would mean
   * nothing there, and the reading (a system call every tick) was a tenth of its busy time.
   */
  readonly cpuTimeMs?: () => number;
}

export interface NodeSnapshots {
  readonly storage: SnapshotStorage;
  /** The newest local snapshot, loaded: the state machine starts from it. */
  readonly initial?: { readonly saved: SavedSnapshot; readonly loaded: LoadedSnapshot };
  readonly policy?: SnapshotPolicy;
  /** Use ZooKeeper for snapshots (publish as leader, fetch when behind). Default true. */
  readonly useZooKeeper?: boolean;
  /**
   * Piece sizes of the transfers (defaults: ZooKeeper's chunk size and 1 MiB ranges). The
   * simulator's states are a few hundred bytes: it passes small ones so that uploads,
   * downloads and pulls between the voters take many pieces, each of which a fault can cut.
   */
  readonly pieces?: { readonly zkChunkBytes?: number; readonly rangeBytes?: number };
}

/**
 * 'diverged': the local state cannot be trusted: set it aside and rebuild from ZooKeeper.
 * 'zk-data-lost': ZooKeeper lost the cluster's data: keep the local data (restore-zk needs it).
 */
export type FatalKind = 'diverged' | 'zk-data-lost';
