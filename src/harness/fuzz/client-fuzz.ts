// Client requests from a stranger, in plaintext: unary calls of every method and Pipeline
// streams, to the leader and to the follower. Each starts from a request built from
// generated fields (keys of the fuzzer's own, empty, oversized or with NUL; values up to past
// the size limit; absurd deltas, consistencies and minimum indexes; write contexts of the
// fuzzer's own session or absurd ones), and many are mutated at the field or byte level.
//
// Write contexts are never mutated into another client's session: a write under the load's
// session id with a sequence the load will use later would be deduplicated against it (by
// design: sessions are not credentials), and the checks would blame the cluster. So a body
// with the fuzzer's session keeps its context field intact, and absurd contexts use session
// ids far above any log index.
//
// Acknowledged puts of unique keys in unmutated requests go to the ledger: each must read
// back at the end.
import * as grpc from '@grpc/grpc-js';
import { type duoraft, pb } from '../../common/proto.js';
import { ClientCaller, type KvUnaryName } from './client-caller.js';
import { bounded, Counter, type FuzzContext, type RoundReport } from './context.js';
import type { FuzzRandom } from './fuzz-random.js';
import { readLiveState } from './live-state.js';
import { mutate } from './mutate.js';
import { concat, serializeFields } from './wire.js';

const UNARY_CALLS: readonly [number, number] = [25, 70];
const STREAMS: readonly [number, number] = [1, 3];
const CONCURRENCY = 8;
const CALL_MS = 2000;
const STREAM_MS = 5000;
/** Field numbers of the write context in Put, Delete, Incr and Cas requests. */
const CTX_FIELD: Partial<Record<KvUnaryName, number>> = { Put: 3, Delete: 2, Incr: 3, Cas: 5 };
/** Session ids this far up are no log index any session could have. */
const FOREIGN_SESSION = 2 ** 50;

type WriteContext = duoraft.client.WriteContext.$Properties;

interface Session {
  readonly id: number;
  sequence: number;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

class Generator {
  private n = 0;

  constructor(
    private readonly r: FuzzRandom,
    private readonly round: number,
    private readonly session: Session | null,
  ) {}

  /** A unique key of the fuzzer's own, and whether it is one (recordable). */
  key(): { key: string; own: boolean } {
    const r = this.r;
    const own = `fz-r${this.round}-${this.n++}`;
    return r.weighted<{ key: string; own: boolean }>([
      [{ key: own, own: true }, 85],
      [{ key: '', own: false }, 3],
      [{ key: 'k'.repeat(r.pick([1024, 1025, 70_000])), own: false }, 3],
      [{ key: `${own}\u0000nul`, own: false }, 3],
      [{ key: `${own}-\u00e9\u{1f600}`, own: true }, 3],
      [{ key: `${own}/../x`, own: true }, 3],
    ]);
  }

  value(): { value: Uint8Array; text: string | null } {
    const r = this.r;
    if (r.chance(0.9)) {
      const t = `v${this.r.int(1_000_000)}`;
      return { value: text(t), text: t };
    }
    const size = r.pick([0, 256 * 1024, 256 * 1024 + 1, 600 * 1024, r.int(4096)]);
    return { value: r.bytes(size), text: null };
  }

  ctx(): { ctx?: WriteContext; own: boolean } {
    const r = this.r;
    const s = this.session;
    const choice = r.weighted<'none' | 'own' | 'foreign'>([
      ['none', 55],
      ['own', s ? 35 : 0],
      ['foreign', 10],
    ]);
    if (choice === 'own' && s) {
      s.sequence++;
      return { ctx: { sessionId: s.id, sequence: s.sequence, firstOutstanding: s.sequence }, own: true };
    }
    if (choice === 'foreign') {
      return { ctx: { sessionId: FOREIGN_SESSION + r.int(1 << 20), sequence: r.pick([0, 1, r.int(1000), Number.MAX_SAFE_INTEGER]), firstOutstanding: r.pick([0, 1, Number.MAX_SAFE_INTEGER]) }, own: false };
    }
    return { own: false };
  }
}

interface UnaryPlan {
  readonly method: KvUnaryName;
  readonly body: Uint8Array;
  readonly mutated: string | null;
  /** Key and value to record when acknowledged (an unmutated put of an own key). */
  readonly record?: { key: string; value: string };
}

function unaryPlan(r: FuzzRandom, g: Generator, peer: string): UnaryPlan {
  const method = r.weighted<KvUnaryName>([
    ['Put', 25],
    ['Get', 20],
    ['Delete', 8],
    ['Incr', 10],
    ['Cas', 10],
    ['RegisterSession', 5],
    ['KeepAlive', 5],
    ['Status', 10],
    ['TransferLeadership', 2],
  ]);
  let body: Uint8Array;
  let record: { key: string; value: string } | undefined;
  const { ctx, own: ownCtx } = method === 'Put' || method === 'Delete' || method === 'Incr' || method === 'Cas' ? g.ctx() : { own: false };
  switch (method) {
    case 'Put': {
      const k = g.key();
      const v = g.value();
      body = pb.client.PutRequest.encode({ key: k.key, value: v.value, ...(ctx ? { ctx } : {}) }).finish();
      if (k.own && v.text !== null) record = { key: k.key, value: v.text };
      break;
    }
    case 'Get': {
      const consistency = r.pick([pb.client.Consistency.LINEARIZABLE, pb.client.Consistency.LEASE, pb.client.Consistency.STALE]);
      body = pb.client.GetRequest.encode({ key: g.key().key, consistency, minIndex: r.chance(0.8) ? 0 : r.pick([1, 1 << 30, Number.MAX_SAFE_INTEGER]) }).finish();
      // An enum value no consistency has (the last occurrence of a scalar field wins).
      if (r.chance(0.05)) body = concat([body, serializeFields([{ field: 2, wire: 0, value: 7n }])]);
      break;
    }
    case 'Delete':
      body = pb.client.DeleteRequest.encode({ key: g.key().key, ...(ctx ? { ctx } : {}) }).finish();
      break;
    case 'Incr':
      body = pb.client.IncrRequest.encode({ key: g.key().key, delta: r.pick([1, -1, 0, 1 << 30, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), ...(ctx ? { ctx } : {}) }).finish();
      break;
    case 'Cas': {
      const absent = r.chance(0.5);
      body = pb.client.CasRequest.encode({ key: g.key().key, expected: absent ? new Uint8Array(0) : g.value().value, expectAbsent: absent, value: g.value().value, ...(ctx ? { ctx } : {}) }).finish();
      break;
    }
    case 'RegisterSession':
      body = pb.client.RegisterSessionRequest.encode({ timeoutMs: r.pick([0, 999, 1000, 10_000, 3_600_000, 3_600_001, Number.MAX_SAFE_INTEGER]), clientNonce: r.bytes(r.pick([0, 16, 32, 33, 4096])) }).finish();
      break;
    case 'KeepAlive':
      body = pb.client.KeepAliveRequest.encode({ sessionId: r.pick([0, FOREIGN_SESSION + r.int(1000), Number.MAX_SAFE_INTEGER]) }).finish();
      break;
    case 'Status':
      body = new Uint8Array(0);
      break;
    case 'TransferLeadership':
      body = pb.client.TransferLeadershipRequest.encode({ to: r.pick(['', peer, 'mallory', 'x'.repeat(300)]) }).finish();
      break;
  }
  if (r.chance(0.45)) return { method, body, mutated: null, ...(record ? { record } : {}) };
  // A body with the fuzzer's own session keeps its context field as it is.
  const ctxField = CTX_FIELD[method];
  const keep = ownCtx && ctxField !== undefined ? new Set([ctxField]) : new Set<number>();
  const m = mutate(r, body, { keep, maxFieldBytes: 300 * 1024, maxRepeats: 2000 });
  return { method, body: m.bytes, mutated: m.what };
}

interface StreamPlan {
  readonly batches: Uint8Array[];
  readonly mutated: string[];
  /** Request id -> key and value, for unmutated batches' own-key puts. */
  readonly records: Map<number, { key: string; value: string }>;
}

function streamPlan(r: FuzzRandom, g: Generator): StreamPlan {
  const batches: Uint8Array[] = [];
  const mutated: string[] = [];
  const records = new Map<number, { key: string; value: string }>();
  let id = 0;
  const count = r.between(1, 3);
  for (let b = 0; b < count; b++) {
    const size = r.weighted<number>([
      [1 + r.int(10), 60],
      [50 + r.int(150), 30],
      [500 + r.int(500), 8],
      [5000, 2],
    ]);
    const requests: duoraft.client.PipelineRequest.$Properties[] = [];
    const candidates = new Map<number, { key: string; value: string }>();
    for (let k = 0; k < size; k++) {
      // Mostly fresh ids; sometimes a duplicate or zero.
      const rid = r.chance(0.97) ? ++id : r.pick([0, id]);
      const op = r.weighted<'put' | 'get' | 'delete' | 'incr' | 'cas' | 'none'>([
        ['put', 35],
        ['get', 35],
        ['delete', 8],
        ['incr', 10],
        ['cas', 10],
        ['none', 2],
      ]);
      const k1 = g.key();
      switch (op) {
        case 'put': {
          const v = size > 400 ? { value: text('bulk'), text: 'bulk' } : g.value();
          requests.push({ id: rid, put: { key: k1.key, value: v.value } });
          if (k1.own && v.text !== null && rid === id) candidates.set(rid, { key: k1.key, value: v.text });
          break;
        }
        case 'get':
          requests.push({ id: rid, get: { key: k1.key, consistency: r.pick([0, 1, 2]) } });
          break;
        case 'delete':
          requests.push({ id: rid, delete: { key: k1.key } });
          break;
        case 'incr':
          requests.push({ id: rid, incr: { key: k1.key, delta: r.pick([1, -3, Number.MAX_SAFE_INTEGER]) } });
          break;
        case 'cas':
          requests.push({ id: rid, cas: { key: k1.key, expectAbsent: true, value: text('c') } });
          break;
        case 'none':
          requests.push({ id: rid });
          break;
      }
    }
    let bytes = pb.client.PipelineRequestBatch.encode({ requests }).finish();
    if (r.chance(0.35)) {
      const m = mutate(r, bytes, { maxFieldBytes: 64 * 1024, maxRepeats: 3000 });
      bytes = m.bytes;
      mutated.push(m.what);
    } else {
      for (const [rid, rec] of candidates) records.set(rid, rec);
    }
    batches.push(bytes);
  }
  return { batches, mutated, records };
}

function inBandLabel(code: number): string {
  return code === 0 ? 'ok' : (pb.client.ErrorCode[code] ?? `error-${code}`);
}

async function registerSession(caller: ClientCaller): Promise<Session | null> {
  const o = await caller.unary('RegisterSession', pb.client.RegisterSessionRequest.encode({ timeoutMs: 30_000, clientNonce: new Uint8Array(0) }).finish(), CALL_MS);
  if (o.code !== 0 || !o.body || o.errorCode !== 0) return null;
  const id = pb.client.RegisterSessionResponse.decode(o.body).sessionId ?? 0;
  return id > 0 ? { id, sequence: 0 } : null;
}

export async function clientRound(ctx: FuzzContext): Promise<RoundReport> {
  const r = ctx.rng;
  const s = await readLiveState(ctx);
  const members = [s.leader, s.follower].filter((m): m is NonNullable<typeof m> => m !== null);
  if (members.length === 0) return { summary: 'no member answered its status; nothing sent', counts: {}, oddities: [] };
  const callers = new Map(members.map((m) => [m.id, new ClientCaller(m.address)] as const));
  const counts = new Counter();
  const oddities: string[] = [];
  try {
    const session = s.leader ? await registerSession(callers.get(s.leader.id)!) : null;
    const g = new Generator(r, ctx.round, session);
    const calls = r.between(UNARY_CALLS[0], UNARY_CALLS[1]);
    const unary = Array.from({ length: calls }, () => {
      const to = r.chance(0.75) && s.leader ? s.leader : r.pick(members);
      return { to, plan: unaryPlan(r, g, s.ids.find((id) => id !== to.id) ?? '') };
    });
    await bounded(
      unary.map(({ to, plan }) => async () => {
        const o = await callers.get(to.id)!.unary(plan.method, plan.body, CALL_MS);
        const label = o.code === 0 ? inBandLabel(o.errorCode) : (grpc.status[o.code] ?? `code-${o.code}`);
        counts.add(`${plan.method}:${label}`);
        if (o.code === grpc.status.INTERNAL || o.code === grpc.status.UNKNOWN || o.errorCode === pb.client.ErrorCode.INTERNAL) {
          oddities.push(`${plan.method} to ${to.id} (${plan.mutated ?? 'unmutated'}): ${label} ${o.details}`);
        }
        if (plan.record && o.code === 0 && o.errorCode === 0 && plan.mutated === null) ctx.ledger.acknowledged.set(plan.record.key, plan.record.value);
      }),
      CONCURRENCY,
    );
    const streams = r.between(STREAMS[0], STREAMS[1]);
    for (let k = 0; k < streams; k++) {
      const to = r.chance(0.75) && s.leader ? s.leader : r.pick(members);
      const p = streamPlan(r, g);
      const o = await callers.get(to.id)!.pipeline(p.batches, STREAM_MS);
      const status = o.finished ? (grpc.status[o.code] ?? `code-${o.code}`) : 'open-at-deadline';
      counts.add(`Pipeline:${status}`);
      counts.add('Pipeline:responses', o.responses.length);
      if (o.undecodable > 0) oddities.push(`Pipeline to ${to.id}: ${o.undecodable} response batch(es) did not decode (${o.undecodableReason ?? ''})`);
      if (o.code === grpc.status.INTERNAL || o.code === grpc.status.UNKNOWN) oddities.push(`Pipeline to ${to.id} (${p.mutated.join('; ') || 'unmutated'}): ${status} ${o.details}`);
      for (const res of o.responses) {
        const rec = p.records.get(res.id ?? 0);
        if (rec && res.put && !res.put.error?.code) ctx.ledger.acknowledged.set(rec.key, rec.value);
        const code = res.error?.code ?? res.put?.error?.code ?? res.get?.error?.code ?? res.delete?.error?.code ?? res.incr?.error?.code ?? res.cas?.error?.code ?? 0;
        if (code === pb.client.ErrorCode.INTERNAL) oddities.push(`Pipeline to ${to.id}: operation ${res.id} answered INTERNAL (${res.error?.message ?? ''})`);
      }
    }
    return {
      summary: `${calls} unary calls and ${streams} Pipeline stream(s) to ${members.map((m) => `${m.id} (${m.role})`).join(' and ')}${session ? `, own session ${session.id}` : ', no session of its own'}`,
      counts: counts.toRecord(),
      oddities: oddities.slice(0, 20),
    };
  } finally {
    for (const c of callers.values()) c.close();
  }
}
