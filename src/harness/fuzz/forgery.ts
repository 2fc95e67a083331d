// A forged AppendEntries that passes every check a plaintext follower can make (issue 11
// defect 1): it claims to come from the real leader, in the real term, continues the
// follower's log exactly where it ends, with the chain value ZooKeeper shows for that
// entry, and its one entry chains onto it. Only the content is the forger's.
import { chainNext } from '../../core/chain.js';
import { EntryType } from '../../core/types.js';
import { encodeCommand, type KvCommand } from '../../statemachine/command.js';
import { encodePeerRequest, type PeerCallOutcome, PeerCaller } from './peer-caller.js';
import type { ZkLogView } from './zk-log-view.js';

export interface ForgedAppend {
  readonly cluster: string;
  /** The leader the forger pretends to be. */
  readonly from: string;
  readonly to: string;
  readonly term: number;
  /** The follower's last index: the forged entry goes right after it. */
  readonly afterIndex: number;
  readonly command: KvCommand;
  /** The commit index the forged message claims (default: its own entry). */
  readonly leaderCommit?: number;
}

export interface ForgeryResult {
  readonly outcome: PeerCallOutcome;
  /** The index the forged entry was given. */
  readonly index: number;
}

/** Builds the forged message from what ZooKeeper shows and sends it to `address` in plaintext. */
export async function sendForgedAppend(view: ZkLogView, address: string, f: ForgedAppend): Promise<ForgeryResult> {
  const prev = await view.entry(f.afterIndex);
  const index = f.afterIndex + 1;
  const data = encodeCommand(f.command, Date.now());
  const entry = { index, term: f.term, type: EntryType.Normal, data };
  const chain = chainNext(prev.chain, entry);
  const body = encodePeerRequest('AppendEntries', {
    cluster: f.cluster,
    from: f.from,
    to: f.to,
    term: f.term,
    prevLogIndex: prev.index,
    prevLogTerm: prev.term,
    prevLogChain: prev.chain,
    entries: [{ index, term: f.term, type: 0, data, chain }],
    leaderCommit: f.leaderCommit ?? index,
  });
  const caller = new PeerCaller(address);
  try {
    return { outcome: await caller.call('AppendEntries', body), index };
  } finally {
    caller.close();
  }
}
