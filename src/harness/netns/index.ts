// The network-namespace harness: voters on their own addresses, with real packet loss,
// silent partitions and latency between them, ZooKeeper and the clients.
export { NetnsCluster, NODE_PORT, type NetnsClusterOptions } from './cluster.js';
export { NetFaults, LINK_KINDS, linkName, type LinkKind } from './faults.js';
export { netnsSupport, requireNetns, NetnsUnavailableError, type NetnsSupport } from './support.js';
export type { Delay } from './relay.js';
