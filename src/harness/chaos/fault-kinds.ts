// The faults a chaos run injects, by name. Each kind is one way a two-voter cluster can be
// hurt with real processes: a crash, a stall, a partition, the loss of a disk, or trouble
// in ZooKeeper itself (a server dies or stalls, a session expires in a take-over).
import { InvalidArgumentError } from '../../common/errors.js';

/** The kinds a run uses by default on one ZooKeeper server. */
export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'cut-link', 'cut-zk', 'wipe-restart', 'kill-follower-after-failover'] as const;

/**
 * Kinds aimed at ZooKeeper: added to the default with --zk-ensemble. kill-zk and pause-zk
 * need an ensemble (one server of three may die); expire-session runs on one server too.
 */
export const ZK_FAULT_KINDS = ['kill-zk', 'pause-zk', 'expire-session'] as const;

export const ALL_FAULT_KINDS = [...FAULT_KINDS, ...ZK_FAULT_KINDS] as const;

export type FaultKind = (typeof ALL_FAULT_KINDS)[number];

/** Kinds that kill or stop a ZooKeeper server: the run needs a quorum that survives it. */
export const ENSEMBLE_ONLY_KINDS: readonly FaultKind[] = ['kill-zk', 'pause-zk'];

export function isFaultKind(s: string): s is FaultKind {
  return (ALL_FAULT_KINDS as readonly string[]).includes(s);
}

/** What a run injects when no --kinds is given: with an ensemble, the ZooKeeper kinds too. */
export function defaultFaultKinds(zkServers: number): readonly FaultKind[] {
  return zkServers > 1 ? ALL_FAULT_KINDS : FAULT_KINDS;
}

/** Parses a comma list such as "kill-leader,cut-link"; duplicates are dropped, order is kept. */
export function parseFaultKinds(list: string): FaultKind[] {
  const kinds: FaultKind[] = [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!isFaultKind(name)) throw new InvalidArgumentError(`unknown fault kind ${JSON.stringify(name)}; the kinds are ${ALL_FAULT_KINDS.join(', ')}`);
    if (!kinds.includes(name)) kinds.push(name);
  }
  if (kinds.length === 0) throw new InvalidArgumentError(`name at least one fault kind (${ALL_FAULT_KINDS.join(', ')})`);
  return kinds;
}
