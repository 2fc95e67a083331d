// Which member feeds a listener (Apache Ratis RATIS-1298's rules, PROTOCOL.md section 9):
// - never the leader: its event loop belongs to the ZooKeeper commit path;
// - a follower, or a listener that is itself fed (depth >= 1; one tailing ZooKeeper,
//   depth 0, feeds no one);
// - one with fewer listeners than its fanout;
// - the smallest depth wins (a voter is depth 0, so its listeners are depth 1), then the
//   fewest listeners, then the id (the same inputs always give the same choice);
// - never one fed through this listener (its path names it): that would be a cycle.
// Pure: no I/O, so it is tested directly.

export interface CandidateProbe {
  readonly id: string;
  readonly address: string;
  readonly canFeed: boolean;
  /** 0 for a voter; a listener's own depth. */
  readonly depth: number;
  readonly listeners: number;
  readonly fanout: number;
  /** The members it is fed through, nearest first. */
  readonly path: readonly string[];
}

export interface UpstreamChoice {
  readonly id: string;
  readonly address: string;
  /** The depth the listener will have when fed by it. */
  readonly depth: number;
  /** The listener's own path: the upstream, then the upstream's path. */
  readonly path: readonly string[];
}

export interface ChoiceInput {
  readonly self: string;
  /** The leader's id as ZooKeeper names it ('' while unknown). */
  readonly leaderId: string;
  readonly candidates: readonly CandidateProbe[];
  /** Ids not to use now (one that just dropped us or failed). */
  readonly avoid?: ReadonlySet<string>;
}

/** Why a candidate was passed over, for logs and tests. */
export function rejection(c: CandidateProbe, input: ChoiceInput): string | null {
  if (c.id === input.self) return 'itself';
  if (c.id === input.leaderId) return 'the leader';
  if (!c.canFeed) return 'cannot feed now';
  if (c.path.includes(input.self)) return 'fed through this listener';
  if (c.listeners >= c.fanout) return `full (${c.listeners} of ${c.fanout})`;
  if (input.avoid?.has(c.id)) return 'avoided for now';
  return null;
}

export function chooseUpstream(input: ChoiceInput): UpstreamChoice | null {
  const usable = input.candidates.filter((c) => rejection(c, input) === null);
  usable.sort((x, y) => x.depth - y.depth || x.listeners - y.listeners || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const best = usable[0];
  if (!best) return null;
  return { id: best.id, address: best.address, depth: best.depth + 1, path: [best.id, ...best.path] };
}
