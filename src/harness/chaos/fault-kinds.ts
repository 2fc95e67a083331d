// The faults a chaos run injects, by name. Each kind is one way a two-voter cluster can be
// hurt with real processes: a crash, a stall, a partition, the loss of a disk, or trouble
// in ZooKeeper itself (a server dies or stalls, a session expires in a take-over). Two
// families of network faults: on loopback, TCP proxies cut single connections (reset or
// blackhole); with --net netns, the voters sit in network namespaces and the faults are
// packets dropped by nftables and delays added on the path (src/harness/netns).
import { InvalidArgumentError } from '../../common/errors.js';

export const PROCESS_FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'wipe-restart'] as const;
/**
 * Both voters at once (issue 10): SIGKILLed together and restarted on their data
 * (restart-both: local snapshots and WALs), or with both data folders deleted (wipe-both:
 * the whole state comes back from ZooKeeper's snapshot and log alone).
 */
export const BOTH_VOTERS_FAULT_KINDS = ['restart-both', 'wipe-both'] as const;
export const PROXY_FAULT_KINDS = ['cut-link', 'cut-zk'] as const;
export const NETNS_FAULT_KINDS = ['partition-voters', 'partition-leader', 'partition-clients', 'latency', 'loss'] as const;

/**
 * The loopback run's kinds, in their historical order (the schedule of a seed depends on
 * it); kill-follower-after-failover came next, then the two kinds that hit both voters.
 */
export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'cut-link', 'cut-zk', 'wipe-restart', 'kill-follower-after-failover', ...BOTH_VOTERS_FAULT_KINDS] as const;

/**
 * Kinds aimed at ZooKeeper: added to the default with --zk-ensemble. kill-zk and pause-zk
 * need an ensemble (one server of three may die); expire-session runs on one server too.
 */
export const ZK_FAULT_KINDS = ['kill-zk', 'pause-zk', 'expire-session'] as const;

/** Kinds aimed at listeners (issue 13): a run with --listeners N adds them to its default. */
export const LISTENER_FAULT_KINDS = ['kill-listener', 'kill-upstream'] as const;

export const ALL_FAULT_KINDS = [...FAULT_KINDS, ...ZK_FAULT_KINDS, ...NETNS_FAULT_KINDS, ...LISTENER_FAULT_KINDS] as const;

export type FaultKind = (typeof ALL_FAULT_KINDS)[number];
export type NetMode = 'loopback' | 'netns';

/** Kinds that kill or stop a ZooKeeper server: the run needs a quorum that survives it. */
export const ENSEMBLE_ONLY_KINDS: readonly FaultKind[] = ['kill-zk', 'pause-zk'];

/**
 * Kinds after which no change of leader is needed: a new leader then is a false failover.
 * A ZooKeeper server that dies or stalls leaves both voters healthy: whoever led can lead
 * on once the ensemble serves again, so a change there is counted too.
 */
export const NO_FAILOVER_NEEDED: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'kill-follower',
  'kill-listener',
  // The leader never feeds a listener: an upstream is a follower or a listener.
  'kill-upstream',
  'cut-link',
  'partition-voters',
  'partition-clients',
  'latency',
  'loss',
  'kill-zk',
  'pause-zk',
]);

export function isFaultKind(s: string): s is FaultKind {
  return (ALL_FAULT_KINDS as readonly string[]).includes(s);
}

/** The kinds a run uses when none are named: in namespaces the packet-level kinds; with an ensemble, the ZooKeeper kinds too. */
export function defaultKinds(net: NetMode, zkServers = 1, listeners = 0): readonly FaultKind[] {
  const forListeners = listeners > 0 ? LISTENER_FAULT_KINDS : [];
  if (net === 'netns') return [...PROCESS_FAULT_KINDS, ...NETNS_FAULT_KINDS, ...BOTH_VOTERS_FAULT_KINDS, ...forListeners];
  return zkServers > 1 ? [...FAULT_KINDS, ...ZK_FAULT_KINDS, ...forListeners] : [...FAULT_KINDS, ...forListeners];
}

/** Parses a comma list such as "kill-leader,cut-link"; duplicates are dropped, order is kept. */
export function parseFaultKinds(list: string, net: NetMode = 'loopback'): FaultKind[] {
  const kinds: FaultKind[] = [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!isFaultKind(name)) throw new InvalidArgumentError(`unknown fault kind ${JSON.stringify(name)}; the kinds are ${ALL_FAULT_KINDS.join(', ')}`);
    if (!kinds.includes(name)) kinds.push(name);
  }
  if (kinds.length === 0) throw new InvalidArgumentError(`name at least one fault kind (${defaultKinds(net).join(', ')})`);
  checkKindsForNet(kinds, net);
  return kinds;
}

/**
 * Proxy cuts need the loopback cluster's proxies; packet-level faults need namespaces;
 * kill-zk and pause-zk need an ensemble, which only a loopback run starts (the namespace
 * harness relays one ZooKeeper server).
 */
export function checkKindsForNet(kinds: readonly FaultKind[], net: NetMode): void {
  const among = (list: readonly string[]): FaultKind[] => kinds.filter((k) => list.includes(k));
  if (net === 'netns') {
    const proxy = among(PROXY_FAULT_KINDS);
    if (proxy.length > 0) {
      throw new InvalidArgumentError(`${proxy.join(', ')} ${proxy.length > 1 ? 'cut' : 'cuts'} TCP proxies, which a --net netns run does not have: use partition-voters or partition-leader`);
    }
    const ensemble = among(ENSEMBLE_ONLY_KINDS);
    if (ensemble.length > 0) {
      throw new InvalidArgumentError(
        `${ensemble.join(' and ')} ${ensemble.length > 1 ? 'stop a ZooKeeper server and need' : 'stops a ZooKeeper server and needs'} an ensemble, ` +
          'which a --net netns run does not have (it relays one ZooKeeper server): run it on loopback with --zk-ensemble 3',
      );
    }
    return;
  }
  const packet = among(NETNS_FAULT_KINDS);
  if (packet.length > 0) throw new InvalidArgumentError(`${packet.join(', ')} ${packet.length > 1 ? 'need' : 'needs'} the voters in network namespaces: add --net netns (root, ip and nft)`);
}
