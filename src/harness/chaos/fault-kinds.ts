// The faults a chaos run injects, by name. Each kind is one way a two-voter cluster can be
// hurt with real processes: a crash, a stall, a partition, or the loss of a disk. Two
// families of network faults: on loopback, TCP proxies cut single connections (reset or
// blackhole); with --net netns, the voters sit in network namespaces and the faults are
// packets dropped by nftables and delays added on the path (src/harness/netns).
import { InvalidArgumentError } from '../../common/errors.js';

export const PROCESS_FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'wipe-restart'] as const;
export const PROXY_FAULT_KINDS = ['cut-link', 'cut-zk'] as const;
export const NETNS_FAULT_KINDS = ['partition-voters', 'partition-leader', 'partition-clients', 'latency', 'loss'] as const;

/** The loopback run's kinds, in their historical order (the schedule of a seed depends on it). */
export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'cut-link', 'cut-zk', 'wipe-restart'] as const;
export const ALL_FAULT_KINDS = [...FAULT_KINDS, ...NETNS_FAULT_KINDS] as const;

export type FaultKind = (typeof ALL_FAULT_KINDS)[number];
export type NetMode = 'loopback' | 'netns';

/** Kinds after which no change of leader is needed: a new leader then is a false failover. */
export const NO_FAILOVER_NEEDED: ReadonlySet<FaultKind> = new Set<FaultKind>(['kill-follower', 'cut-link', 'partition-voters', 'partition-clients', 'latency', 'loss']);

export function isFaultKind(s: string): s is FaultKind {
  return (ALL_FAULT_KINDS as readonly string[]).includes(s);
}

/** The kinds a run uses when none are named. */
export function defaultKinds(net: NetMode): readonly FaultKind[] {
  return net === 'netns' ? [...PROCESS_FAULT_KINDS, ...NETNS_FAULT_KINDS] : FAULT_KINDS;
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

/** Proxy cuts need the loopback cluster's proxies; packet-level faults need namespaces. */
export function checkKindsForNet(kinds: readonly FaultKind[], net: NetMode): void {
  const wrong =
    net === 'netns' ? kinds.filter((k) => (PROXY_FAULT_KINDS as readonly string[]).includes(k)) : kinds.filter((k) => (NETNS_FAULT_KINDS as readonly string[]).includes(k));
  if (wrong.length === 0) return;
  throw new InvalidArgumentError(
    net === 'netns'
      ? `${wrong.join(', ')} ${wrong.length > 1 ? 'cut' : 'cuts'} TCP proxies, which a --net netns run does not have: use partition-voters or partition-leader`
      : `${wrong.join(', ')} ${wrong.length > 1 ? 'need' : 'needs'} the voters in network namespaces: add --net netns (root, ip and nft)`,
  );
}
