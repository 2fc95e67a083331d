// The ZooKeeper a chaos run starts: one standalone server, or an ensemble of N on loopback
// (free ports, one JVM each) whose servers the ZooKeeper fault kinds kill and stop. The
// voters, the clients and the bare ZooKeeper client all get the full connect string.
import type { LocalEnsemble } from '../zk-ensemble.js';
import { startEnsemble, startZooKeeper, type ZooKeeperEnv } from '../zk-launcher.js';
import type { ZkServerAddress } from './fault-env.js';

export interface ChaosZooKeeper {
  readonly connectString: string;
  /** Null for a standalone server. */
  readonly ensemble: LocalEnsemble | null;
  /** The servers in connect-string order, and whether each runs. */
  servers(): readonly ZkServerAddress[];
  stop(): Promise<void>;
}

export async function startChaosZooKeeper(servers: number, env: ZooKeeperEnv): Promise<ChaosZooKeeper> {
  if (servers <= 1) {
    const zk = await startZooKeeper({ env });
    return {
      connectString: zk.connectString,
      ensemble: null,
      servers: () => [{ host: zk.host, port: zk.port, live: zk.pid !== -1 }],
      stop: () => zk.stop(),
    };
  }
  const ensemble = await startEnsemble(servers, { env });
  return {
    connectString: ensemble.connectString,
    ensemble,
    servers: () => ensemble.servers.map((m) => ({ host: m.host, port: m.port, live: m.pid !== -1 })),
    stop: () => ensemble.stop(),
  };
}
