// What the newer fault kinds need besides the voters: the ZooKeeper servers (to kill or
// stop one, or to close a session on one) and the nodes' log lines (to aim at a moment
// inside a take-over). The run builds one and hands it to every fault.
import type { ProcessCluster } from '../process-cluster.js';
import type { LocalEnsemble } from '../zk-ensemble.js';
import type { NodeLogWatch } from './node-log-watch.js';
import type { ZkTargetPicker } from './zk-server-faults.js';

export interface ZkServerAddress {
  readonly host: string;
  readonly port: number;
  /** False while killed. */
  readonly live: boolean;
}

export interface FaultEnv {
  /** The voters' log lines, as they arrive. */
  readonly watch: NodeLogWatch;
  /** The ensemble, when the run has one (kill-zk and pause-zk need it). */
  readonly ensemble: LocalEnsemble | null;
  /** The ZooKeeper servers in connect-string order (the order of each node's ZooKeeper proxies). */
  readonly zkServers: () => readonly ZkServerAddress[];
  readonly zkTargets: ZkTargetPicker;
  /** Bound of each wait inside a fault (a take-over to show, the ensemble to be whole). */
  readonly recoveryTimeoutMs: number;
  /** The listeners, when the run has some (--listeners N): kill-listener and kill-upstream need them. */
  readonly listeners?: ProcessCluster | null;
}
