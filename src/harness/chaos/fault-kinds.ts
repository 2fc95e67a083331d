// The faults a chaos run injects, by name. Each kind is one way a two-voter cluster can be
// hurt with real processes: a crash, a stall, a partition, or the loss of a disk.
import { InvalidArgumentError } from '../../common/errors.js';

export const FAULT_KINDS = ['kill-leader', 'kill-follower', 'pause-leader', 'cut-link', 'cut-zk', 'wipe-restart'] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s);
}

/** Parses a comma list such as "kill-leader,cut-link"; duplicates are dropped, order is kept. */
export function parseFaultKinds(list: string): FaultKind[] {
  const kinds: FaultKind[] = [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!isFaultKind(name)) throw new InvalidArgumentError(`unknown fault kind ${JSON.stringify(name)}; the kinds are ${FAULT_KINDS.join(', ')}`);
    if (!kinds.includes(name)) kinds.push(name);
  }
  if (kinds.length === 0) throw new InvalidArgumentError(`name at least one fault kind (${FAULT_KINDS.join(', ')})`);
  return kinds;
}
