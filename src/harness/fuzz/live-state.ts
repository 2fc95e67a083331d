// The cluster as a well-informed forger sees it just before a round: who leads, each
// member's term and last index (its Status RPC), ZooKeeper's epoch, tail and lease version,
// and the chain value of the entry at the tail. Plausible templates are built from it, so a
// mutation starts from a message the receiver might well take.
import { pb } from '../../common/proto.js';
import type { ChainedEntry } from '../../core/types.js';
import { ClientCaller } from './client-caller.js';
import type { FuzzContext } from './context.js';

export interface MemberDetail {
  readonly id: string;
  readonly address: string;
  readonly role: string;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
}

export interface LiveState {
  readonly cluster: string;
  readonly leader: MemberDetail | null;
  readonly follower: MemberDetail | null;
  /** Both voters' ids, whoever leads. */
  readonly ids: readonly string[];
  readonly term: number;
  readonly tail: ChainedEntry | null;
  readonly leaseVersion: number;
}

async function memberDetail(id: string, address: string): Promise<MemberDetail | null> {
  const caller = new ClientCaller(address);
  try {
    const o = await caller.unary('Status', new Uint8Array(0), 1000);
    if (o.code !== 0 || !o.body) return null;
    const m = pb.client.StatusResponse.decode(o.body).member;
    if (!m) return null;
    return { id, address, role: m.role ?? '', term: m.term ?? 0, lastIndex: m.lastIndex ?? 0, commitIndex: m.commitIndex ?? 0 };
  } finally {
    caller.close();
  }
}

export async function readLiveState(ctx: FuzzContext): Promise<LiveState> {
  const ids = ctx.cluster.ids();
  const details = await Promise.all(ids.map((id) => (ctx.cluster.running(id) ? memberDetail(id, ctx.cluster.node(id).address) : Promise.resolve(null))));
  const up = details.filter((d): d is MemberDetail => d !== null);
  const leader = up.find((d) => d.role === 'leader') ?? null;
  const follower = up.find((d) => d.id !== leader?.id) ?? null;
  let term = Math.max(0, ...up.map((d) => d.term));
  let tail: ChainedEntry | null = null;
  let leaseVersion = 0;
  try {
    const s = await ctx.view.state();
    term = Math.max(term, s.term);
    tail = s.tailIndex > 0 ? await ctx.view.entry(s.tailIndex) : null;
    leaseVersion = (await ctx.zk.exists(ctx.view.paths.lease))?.version ?? 0;
  } catch {
    // A znode another round left corrupt, or ZooKeeper busy: templates do without.
  }
  return { cluster: ctx.clusterName, leader, follower, ids, term, tail, leaseVersion };
}
