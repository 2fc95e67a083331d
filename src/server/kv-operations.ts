// The client operations, executed against the node driver. Shared by the unary RPCs and
// the pipeline stream, so both answer exactly alike.
import { toWireError } from '../common/error-codes.js';
import { BusyError, InvalidArgumentError, NotLeaderError, SessionExpiredError, TimeoutError, UnavailableError, UnknownOutcomeError, ZkBudgetExceededError } from '../common/errors.js';
import { performance } from 'node:perf_hooks';
import type { duoraft } from '../common/proto.js';
import { pb } from '../common/proto.js';
import type { WriteContext } from '../statemachine/command.js';
import type { KvResult } from '../statemachine/kv-store.js';
import type { LeaderHint } from '../common/errors.js';
import type { Applied } from './proposals.js';
import type { KvCommand } from '../statemachine/command.js';
import type { ReadResult } from './applier.js';
import type { Consistency, MemberStatus } from './client-api.js';
import type { SnapshotTaken } from './snapshotter.js';
import { transferBudget } from '../common/transfer-deadline.js';
import type { TransferOutcome } from './transfer-outcome.js';
import type { ZkBudgetStatus } from './zk-budget.js';

type PutRes = duoraft.client.PutResponse.$Properties;
type GetRes = duoraft.client.GetResponse.$Properties;
type DeleteRes = duoraft.client.DeleteResponse.$Properties;
type IncrRes = duoraft.client.IncrResponse.$Properties;
type PipelineRes = duoraft.client.PipelineResponse.$Properties;
type PutReq = duoraft.client.PutRequest.$Properties;
type GetReq = duoraft.client.GetRequest.$Properties;
type DeleteReq = duoraft.client.DeleteRequest.$Properties;
type IncrReq = duoraft.client.IncrRequest.$Properties;
type CasReq = duoraft.client.CasRequest.$Properties;
type CasRes = duoraft.client.CasResponse.$Properties;

/** A listener's own figures in its status (PROTOCOL.md section 9). */
export interface ListenerStatusView {
  readonly upstream: string;
  readonly depth: number;
  readonly knownCommit: number;
  readonly lagEntries: number;
  readonly lagMs: number;
  /** The last batches applied and when, on the machine's monotonic clock (apply-trace.ts; for the bench). */
  readonly recentApplies?: ReadonlyArray<{ readonly lastIndex: number; readonly atUs: number }>;
}

/**
 * What the client service needs of a member: the node driver of a voter, or a listener
 * (which answers writes and non-stale reads with NOT_LEADER and the leader's address).
 */
export interface KvMember {
  readonly id: string;
  submit(command: KvCommand, ctx?: WriteContext): Promise<Applied>;
  read(key: string, consistency: Consistency, minIndex?: number): Promise<ReadResult>;
  status(): Omit<MemberStatus, 'role'> & { readonly role: string; readonly listener?: ListenerStatusView };
  hint(): LeaderHint;
  peerId(): string;
  transferLeadership(timeoutMs: number): Promise<TransferOutcome>;
  /** A transfer runs now (another request's, or a stopping leader's): one may hand over yet. */
  transferUnderWay(): boolean;
  /** duoraft admin snapshot: take one now (the leader also publishes it to ZooKeeper). */
  takeSnapshot(): Promise<SnapshotTaken>;
  /** The leader finds the state too large for the ZooKeeper budget: put, incr and cas are refused. */
  zkBudgetRefusesGrowth(): boolean;
  /**
   * The leader's log outran its snapshots: ZooKeeper holds more than the budget and a quarter
   * (zk-budget.ts, the ceiling). Put, incr and cas wait (BUSY, retryable) until a publish
   * compacts it back; null when they may go on, else why.
   */
  zkBudgetCeiling(): string | null;
}

/** Where the handlers find the member: it starts after the server listens. */
export interface DriverRef {
  current: KvMember | null;
}

export function driverOf(ref: DriverRef): KvMember {
  if (!ref.current) throw new UnavailableError('this member is starting; retry shortly');
  return ref.current;
}

const Consistencies: Record<number, Consistency> = {
  [pb.client.Consistency.LINEARIZABLE]: 'linearizable',
  [pb.client.Consistency.LEASE]: 'lease',
  [pb.client.Consistency.STALE]: 'stale',
};

function resultError(result: KvResult): void {
  if (result.ok) return;
  if (result.code === 'session_expired') throw new SessionExpiredError(result.message);
  throw new InvalidArgumentError(result.message);
}

/** The write context of a request, or undefined for a write outside a session. */
function contextOf(ctx: duoraft.client.WriteContext.$Properties | null | undefined): WriteContext | undefined {
  if (!ctx || !ctx.sessionId) return undefined;
  return { sessionId: ctx.sessionId, sequence: ctx.sequence ?? 0, firstOutstanding: ctx.firstOutstanding ?? 0 };
}

/**
 * Writes that can add data (put, incr, cas) are refused while the leader finds the state too
 * large for the ZooKeeper budget (zk-budget.ts): accepting them would fill ZooKeeper, since no
 * snapshot can be published to compact its log. Deletes, session registrations and
 * keep-alives pass: they are how clients get out (and are a few bytes each).
 */
function admitGrowth(d: KvMember): KvMember {
  if (d.zkBudgetRefusesGrowth()) {
    const b = d.status().zkBudget;
    throw new ZkBudgetExceededError(
      `the cluster's state is too large for its ZooKeeper budget (${b ? `${b.reason}` : 'see duoraft status'}): ` +
        'put, incr and cas are refused; delete keys (then duoraft admin snapshot re-checks at once) or raise --zk-budget-bytes on both voters',
    );
  }
  const ceiling = d.zkBudgetCeiling();
  if (ceiling !== null) throw new BusyError(ZK_CEILING_RETRY_MS, d.hint(), `busy: ${ceiling}; retry after ${ZK_CEILING_RETRY_MS} ms`);
  return d;
}

/** How soon a write refused at the ZooKeeper budget's ceiling is worth retrying (a publish takes a second or two). */
const ZK_CEILING_RETRY_MS = 250;

export async function execPut(ref: DriverRef, req: PutReq): Promise<PutRes> {
  const a = await admitGrowth(driverOf(ref)).submit({ kind: 'put', key: req.key ?? '', value: req.value ?? new Uint8Array(0) }, contextOf(req.ctx));
  resultError(a.result);
  return { index: a.index };
}

export async function execGet(ref: DriverRef, req: GetReq): Promise<GetRes> {
  const consistency = Consistencies[req.consistency ?? 0];
  if (!consistency) throw new InvalidArgumentError(`unknown consistency ${req.consistency}`);
  const r = await driverOf(ref).read(req.key ?? '', consistency, req.minIndex ?? 0);
  return { found: r.found, value: r.value, index: r.index };
}

export async function execDelete(ref: DriverRef, req: DeleteReq): Promise<DeleteRes> {
  const a = await driverOf(ref).submit({ kind: 'delete', key: req.key ?? '' }, contextOf(req.ctx));
  resultError(a.result);
  return { deleted: a.result.ok && a.result.kind === 'delete' ? a.result.deleted : false, index: a.index };
}

export async function execIncr(ref: DriverRef, req: IncrReq): Promise<IncrRes> {
  const a = await admitGrowth(driverOf(ref)).submit({ kind: 'incr', key: req.key ?? '', delta: req.delta ?? 0 }, contextOf(req.ctx));
  resultError(a.result);
  return { value: a.result.ok && a.result.kind === 'incr' ? a.result.value : 0, index: a.index };
}

export async function execCas(ref: DriverRef, req: CasReq): Promise<CasRes> {
  const expected = req.expectAbsent ? null : (req.expected ?? new Uint8Array(0));
  const a = await admitGrowth(driverOf(ref)).submit({ kind: 'cas', key: req.key ?? '', expected, value: req.value ?? new Uint8Array(0) }, contextOf(req.ctx));
  resultError(a.result);
  if (!(a.result.ok && a.result.kind === 'cas')) throw new Error(`cas answered with ${a.result.ok ? a.result.kind : a.result.code}`);
  const current = a.result.current;
  return { succeeded: a.result.succeeded, currentFound: current !== null, current: current ?? new Uint8Array(0), index: a.index };
}

export async function execRegisterSession(
  ref: DriverRef,
  req: duoraft.client.RegisterSessionRequest.$Properties,
): Promise<duoraft.client.RegisterSessionResponse.$Properties> {
  const nonce = req.clientNonce;
  const a = await driverOf(ref).submit({ kind: 'registerSession', timeoutMs: req.timeoutMs ?? 0, ...(nonce && nonce.length > 0 ? { nonce } : {}) });
  resultError(a.result);
  if (!(a.result.ok && a.result.kind === 'session')) throw new Error('session registration answered with something else');
  return { sessionId: a.result.sessionId, timeoutMs: a.result.timeoutMs };
}

export async function execKeepAlive(ref: DriverRef, req: duoraft.client.KeepAliveRequest.$Properties): Promise<duoraft.client.KeepAliveResponse.$Properties> {
  const sessionId = req.sessionId ?? 0;
  if (!sessionId) throw new InvalidArgumentError('keep-alive needs a session id');
  const a = await driverOf(ref).submit({ kind: 'keepAlive' }, { sessionId, sequence: 0, firstOutstanding: 0 });
  resultError(a.result);
  return { index: a.index };
}

/**
 * Hands leadership over as `req` asks, within the time its caller waits (`callerLeftMs`, from
 * the request's gRPC deadline; Infinity without one): the leader answers before the caller
 * gives up, so that "given up, still leads" reaches it as such rather than as a lost answer.
 */
export async function execTransferLeadership(
  ref: DriverRef,
  req: duoraft.client.TransferLeadershipRequest.$Properties,
  callerLeftMs = Infinity,
): Promise<duoraft.client.TransferLeadershipResponse.$Properties> {
  const d = driverOf(ref);
  const to = req.to ?? '';
  if (d.status().role !== 'leader') throw new NotLeaderError(d.hint());
  // A request naming this leader is done already: typically the retry of one whose hand-over
  // happened and whose answer was lost.
  if (to === d.id) return { leaderId: d.id, tookMs: 0, alreadyLeader: true };
  if (to && to !== d.peerId()) throw new InvalidArgumentError(`${to} is not the other voter (${d.peerId() || 'none yet'})`);
  if (!d.peerId()) throw new UnavailableError('there is no other voter to hand over to');
  const budget = transferBudget(callerLeftMs);
  if (!budget.start) {
    // Another request's transfer runs: it may hand over yet, so "still leads" would be
    // untrue, and an operator who asked again without naming the target once the follower
    // led would have it hand leadership back (review 40). Too short to wait on, it is unknown.
    if (d.transferUnderWay()) {
      throw new UnknownOutcomeError(
        `a leadership transfer to ${d.peerId()} is under way (another request's) and may still hand over; this request left ${Math.max(0, Math.floor(callerLeftMs))} ms, too little to wait for it: run duoraft status to see who leads before transferring again`,
      );
    }
    // Started, it would end given up, or unknown should its TimeoutNow leave: not worth it.
    throw new TimeoutError(
      `leadership transfer to ${d.peerId()} not started: the request left ${Math.max(0, Math.floor(callerLeftMs))} ms, and a transfer needs at least ${budget.neededMs} ms with its answer; ${d.id} still leads: ask again with a longer deadline (--timeout)`,
    );
  }
  const timeoutMs = budget.timeoutMs;
  const started = performance.now();
  const outcome = await d.transferLeadership(timeoutMs);
  if (outcome === 'still-leads') {
    throw new TimeoutError(`leadership transfer to ${d.peerId()} was given up (it did not take over within ${timeoutMs} ms, or did not catch up in time); ${d.id} still leads`);
  }
  if (outcome === 'unknown') {
    // Not "still leads": the follower was told to take over (or a transfer under way may
    // still tell it), and nothing can call that back. A retry would hand leadership back
    // should the follower lead by then: the operator looks first.
    throw new UnknownOutcomeError(
      `leadership transfer to ${d.peerId()} did not finish in time (within ${timeoutMs} ms, or the transfer's own timeout), but ${d.peerId()} may still take over (it was told to, or a transfer under way may tell it): run duoraft status to see who leads before transferring again`,
    );
  }
  return { leaderId: d.status().leaderId || d.peerId(), tookMs: Math.round(performance.now() - started) };
}

/** The budget as the wire carries it. */
export function wireBudget(b: ZkBudgetStatus): duoraft.client.ZkBudget.$Properties {
  return {
    usedBytes: b.usedBytes,
    budgetBytes: b.budgetBytes,
    walBytes: b.walBytes,
    snapshotBytes: b.snapshotBytes,
    over: b.over,
    mode: b.mode,
    reason: b.reason,
    countedMsAgo: b.countedMsAgo,
  };
}

/** duoraft admin snapshot: the member takes one now (the leader also publishes it). */
export async function execTakeSnapshot(ref: DriverRef): Promise<duoraft.client.TakeSnapshotResponse.$Properties> {
  const d = driverOf(ref);
  let r: SnapshotTaken;
  try {
    r = await d.takeSnapshot();
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    throw new UnavailableError(`${d.id} could not take a snapshot: ${(err as Error).message}; see its log (a full disk?)`);
  }
  return {
    index: r.saved.point.index,
    term: r.saved.point.term,
    sizeBytes: r.saved.sizeBytes,
    tookMs: r.tookMs,
    memberId: d.id,
    publish: r.publish,
    zkBudget: r.zkBudget ? wireBudget(r.zkBudget) : null,
  };
}

/** Runs one operation of a pipeline request; a failure becomes the response's in-band error. */
export async function execPipelined(ref: DriverRef, req: duoraft.client.PipelineRequest.$Properties): Promise<PipelineRes> {
  const id = req.id ?? 0;
  try {
    if (req.put) return { id, put: await execPut(ref, req.put) };
    if (req.get) return { id, get: await execGet(ref, req.get) };
    if (req.delete) return { id, delete: await execDelete(ref, req.delete) };
    if (req.incr) return { id, incr: await execIncr(ref, req.incr) };
    if (req.cas) return { id, cas: await execCas(ref, req.cas) };
  } catch (err) {
    const error = toWireError(err);
    if (req.put) return { id, put: { error } };
    if (req.get) return { id, get: { error } };
    if (req.delete) return { id, delete: { error } };
    if (req.cas) return { id, cas: { error } };
    return { id, incr: { error } };
  }
  return { id, error: toWireError(new InvalidArgumentError('pipeline request without an operation')) };
}
