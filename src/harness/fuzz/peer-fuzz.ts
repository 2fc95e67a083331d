// Peer messages from a stranger, in plaintext, to the leader and to the follower. Each
// starts from a plausible template built from the live state (the other voter as sender,
// the real term, the real tail and its chain value, the current lease version; an
// AppendEntries may carry entries that chain correctly), and most are then mutated at the
// field or byte level. Entries carry writes of keys that only forgeries use (the ledger's
// forgedKeys): the end-of-run checks require that none of them is ever visible.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../../common/proto.js';
import { chainNext } from '../../core/chain.js';
import { EntryType } from '../../core/types.js';
import { encodeCommand } from '../../statemachine/command.js';
import { bounded, Counter, type FuzzContext, type RoundReport } from './context.js';
import type { FuzzRandom } from './fuzz-random.js';
import { type LiveState, readLiveState } from './live-state.js';
import { absurdNumber, mutate } from './mutate.js';
import { encodePeerRequest, type PeerCallOutcome, PeerCaller, type PeerMethodName } from './peer-caller.js';
import { probeForgedTimeoutNow } from './timeout-now-probe.js';

/** Messages per round, calls in flight at once, and each call's deadline (a refused one is answered only after 2 s). */
const MESSAGES: readonly [number, number] = [30, 90];
const CONCURRENCY = 16;
const CALL_MS = 250;

interface Planned {
  readonly to: 'leader' | 'follower';
  readonly method: PeerMethodName;
  readonly body: Uint8Array;
  readonly what: string;
}

function near(r: FuzzRandom, n: number): number {
  return Math.max(0, n + r.pick([0, 0, 0, 1, -1, 2, 5, -5]));
}

/** A number for a uint64 field: plausible most of the time, absurd (as a safe number) sometimes. */
function num(r: FuzzRandom, plausible: number): number {
  if (r.chance(0.85)) return near(r, plausible);
  const n = absurdNumber(r);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : Number.MAX_SAFE_INTEGER;
}

function chainOr(r: FuzzRandom, real: Uint8Array | undefined): Uint8Array {
  if (real && r.chance(0.7)) return real;
  return r.pick([new Uint8Array(16), r.bytes(16), r.bytes(r.int(40))]);
}

function sender(r: FuzzRandom, real: string, receiver: string): string {
  return r.weighted<string>([
    [real, 90],
    [receiver, 3],
    ['mallory', 4],
    ['', 3],
  ]);
}

/** Entries after `prev` (index, chain) in `term`: forged writes, chained correctly most of the time. */
function entries(r: FuzzRandom, ctx: FuzzContext, prevIndex: number, prevChain: Uint8Array | undefined, term: number): duoraft.wal.Entry.$Properties[] {
  const n = r.weighted<number>([
    [0, 25],
    [1, 50],
    [3, 20],
    [70_000, 1],
  ]);
  const out: duoraft.wal.Entry.$Properties[] = [];
  let chain = prevChain ?? new Uint8Array(16);
  for (let k = 0; k < n; k++) {
    const index = prevIndex + 1 + k;
    let data: Uint8Array;
    if (n > 3) data = new Uint8Array(0);
    else if (r.chance(0.8)) {
      const key = `fzf-r${ctx.round}-${ctx.ledger.forgedKeys.size}`;
      ctx.ledger.forgedKeys.add(key);
      data = encodeCommand({ kind: 'put', key, value: new TextEncoder().encode('FORGED') }, Date.now());
    } else data = r.bytes(r.int(64));
    const type = r.chance(0.9) ? EntryType.Normal : EntryType.Noop;
    const next = chainNext(chain, { index, term, type, data });
    const entryChain = n > 3 || r.chance(0.8) ? next : r.bytes(16);
    chain = next;
    out.push({ index, term, type: type === EntryType.Noop ? pb.wal.EntryType.ENTRY_NOOP : pb.wal.EntryType.ENTRY_NORMAL, data, chain: entryChain });
  }
  return out;
}

function plan(r: FuzzRandom, ctx: FuzzContext, s: LiveState): Planned {
  const to: 'leader' | 'follower' = s.leader && s.follower ? r.pick(['leader', 'follower'] as const) : s.leader ? 'leader' : 'follower';
  const receiver = (to === 'leader' ? s.leader : s.follower) ?? s.leader ?? s.follower;
  const receiverId = receiver?.id ?? s.ids[0]!;
  const other = s.ids.find((id) => id !== receiverId) ?? 'b';
  const method = r.weighted<PeerMethodName>([
    ['AppendEntries', 40],
    ['Heartbeat', 25],
    ['RequestVote', 20],
    ['TimeoutNow', 15],
  ]);
  const cluster = r.chance(0.95) ? s.cluster : r.pick(['', 'another-cluster', `${s.cluster}x`]);
  const from = sender(r, other, receiverId);
  const env = { cluster, from, to: r.chance(0.97) ? receiverId : other, term: num(r, s.term + (r.chance(0.2) ? 1 : 0)) };
  const tailIndex = s.tail?.index ?? 0;
  const last = receiver?.lastIndex ?? tailIndex;
  let body: Uint8Array;
  switch (method) {
    case 'AppendEntries': {
      // Continue the receiver's log from the tail ZooKeeper shows (the chain value is known there).
      const prevIndex = r.chance(0.8) ? tailIndex : num(r, last);
      const prevChain = prevIndex === tailIndex ? s.tail?.chain : undefined;
      body = encodePeerRequest('AppendEntries', {
        ...env,
        prevLogIndex: prevIndex,
        prevLogTerm: prevIndex === tailIndex ? (s.tail?.term ?? 0) : num(r, s.term),
        prevLogChain: chainOr(r, prevChain),
        entries: entries(r, ctx, prevIndex, prevChain, env.term),
        leaderCommit: num(r, prevIndex + 1),
      });
      break;
    }
    case 'Heartbeat':
      body = encodePeerRequest('Heartbeat', { ...env, commit: num(r, tailIndex), commitTerm: num(r, s.tail?.term ?? s.term), commitChain: chainOr(r, s.tail?.chain) });
      break;
    case 'RequestVote':
      body = encodePeerRequest('RequestVote', { ...env, lastLogIndex: num(r, last), lastLogTerm: num(r, s.term), preVote: r.chance(0.6), transfer: r.chance(0.3), round: num(r, 1) });
      break;
    case 'TimeoutNow':
      body = encodePeerRequest('TimeoutNow', { ...env, leaseVersion: num(r, s.leaseVersion) });
      break;
  }
  if (r.chance(0.3)) return { to, method, body, what: 'plausible' };
  const m = mutate(r, body, { maxFieldBytes: 64 * 1024, maxRepeats: 5000 });
  return { to, method, body: m.bytes, what: m.what };
}

function outcomeLabel(o: PeerCallOutcome): string {
  if (o.code === 0) return o.noReply === null ? 'undecodable-reply' : o.noReply ? 'no_reply' : 'answered';
  return grpc.status[o.code] ?? `code-${o.code}`;
}

export async function peerRound(ctx: FuzzContext): Promise<RoundReport> {
  const r = ctx.rng;
  const s = await readLiveState(ctx);
  if (!s.leader && !s.follower) return { summary: 'no member answered its status; nothing sent', counts: {}, oddities: [] };
  // Alone first, so that what follows it in the follower's log is its doing.
  const probe = await probeForgedTimeoutNow(ctx, s);
  const count = r.between(MESSAGES[0], MESSAGES[1]);
  const planned = Array.from({ length: count }, () => plan(r, ctx, s));
  const callers = new Map<string, PeerCaller>();
  const counts = new Counter();
  const oddities: string[] = [];
  try {
    await bounded(
      planned.map((p) => async () => {
        const member = p.to === 'leader' ? (s.leader ?? s.follower)! : (s.follower ?? s.leader)!;
        let caller = callers.get(member.address);
        if (!caller) {
          caller = new PeerCaller(member.address);
          callers.set(member.address, caller);
        }
        const o = await caller.call(p.method, p.body, CALL_MS);
        const label = outcomeLabel(o);
        counts.add(`${p.method}->${p.to}:${label}`);
        // INTERNAL or UNKNOWN: something on the receiver threw instead of refusing cleanly.
        if (o.code === grpc.status.INTERNAL || o.code === grpc.status.UNKNOWN) oddities.push(`${p.method} to the ${p.to} (${p.what}): ${label} ${o.details}`);
      }),
      CONCURRENCY,
    );
  } finally {
    for (const c of callers.values()) c.close();
  }
  const plausible = planned.filter((p) => p.what === 'plausible').length;
  return {
    summary:
      `${count} peer messages (${plausible} plausible, ${count - plausible} mutated) to ${s.leader?.id ?? '-'} (leader) and ${s.follower?.id ?? '-'} (follower), term ${s.term}, tail ${s.tail?.index ?? '?'}` +
      (probe ? `; first a ${probe.summary}` : ''),
    counts: counts.toRecord(),
    oddities,
    ...(probe?.failure ? { failures: [probe.failure] } : {}),
  };
}
