// The duoraft client: connect({ zk, cluster }), then put/get/del/incr/status/close.
//
// It finds the leader through ZooKeeper, follows NOT_LEADER hints, backs off on BUSY and
// on a member that cannot be reached, and gives up at an overall deadline with the last
// error. After a crash of the leader it waits for the `leader` znode to change (the new
// leader writes it when it fences) rather than hammering a dead address.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { type DecodedWireError, fromGrpcStatus, fromWireError } from '../common/error-codes.js';
import {
  DuoraftError,
  InvalidArgumentError,
  SessionExpiredError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UnknownOutcomeError,
  ZkUnavailableError,
} from '../common/errors.js';
import type { RequestOutOf, ResponseInOf } from '../common/grpc-unary.js';
import { type Logger, silentLogger } from '../common/logger.js';
import { pb } from '../common/proto.js';
import { ClusterPaths } from '../coordination/layout.js';
import { ZkError, type ZkSession } from '../coordination/zk-api.js';
import { connectZk } from '../coordination/zk-client.js';
import { realClock } from '../common/real-clock.js';
import { TRANSFER_ATTEMPT_TIMEOUT_MS } from '../common/transfer-deadline.js';
import { KvClient, kvService } from '../server/kv-service.js';
import { type ClientSecurity, memberChannelSecurity } from '../transport/channel-security.js';
import { plaintextToTlsMember, speaksTls, tlsConnectionFailure } from '../transport/connection-diagnosis.js';
import { checkTlsMaterial } from '../transport/tls-material.js';
import { LeaderDiscovery } from './leader-discovery.js';
import { PipelineConnection, type PipelinedOp } from './pipeline.js';
import { ClientSession, type SessionTransport } from './session.js';
import { neverSent } from './never-sent.js';
import { transferTarget } from './transfer-target.js';
import { budgetView, type MemberStatusView, type SnapshotTakenView, type TransferResult } from './views.js';

export type { MemberStatusView, SnapshotTakenView, TransferResult, ZkBudgetView } from './views.js';

export type ReadConsistency = 'linearizable' | 'lease' | 'stale';

/** Which members serve stale reads: every non-leader member (the default), only listeners, or only voters. */
export type StaleReadTarget = 'any-member' | 'listener' | 'voter';

export interface ConnectOptions {
  /** ZooKeeper connect string, host:port[,host:port...]. */
  readonly zk: string;
  readonly cluster: string;
  /** Overall deadline of one call, retries included (default 10 s). */
  readonly deadlineMs?: number;
  /** How long connect() waits for ZooKeeper (default 5 s). */
  readonly zkConnectTimeoutMs?: number;
  /**
   * Exactly-once writes through a session (default true): a write retried after an
   * unknown outcome takes effect once. Without, incr and cas report UNKNOWN_OUTCOME instead
   * of retrying.
   */
  readonly sessions?: boolean;
  /** Idle time after which the cluster expires this client's session (default 30 s; kept alive while connected). */
  readonly sessionTimeoutMs?: number;
  readonly logger?: Logger;
  /**
   * TLS, for a cluster whose nodes run with --tls-*: the cluster CA (PEM contents), and a
   * client certificate and key signed by it when the cluster authenticates clients by
   * certificate. Members must present a certificate naming a voter of this cluster.
   * (The CLI's --tls-ca, --tls-cert, --tls-key read these from files.)
   */
  readonly tls?: ClientTlsOptions;
  /** The cluster token (the node's --token-file), sent as a bearer token on every call; needs tls. */
  readonly token?: string;
  /** ZooKeeper digest credentials, for a cluster started with --zk-user/--zk-password. */
  readonly zkAuth?: { readonly user: string; readonly password: string };
  /**
   * Where stale reads go (they never go to the leader while another member answers):
   * 'listener' prefers listeners (keeping reads off both voters), 'voter' the follower,
   * 'any-member' (default) any member that does not lead.
   */
  readonly staleReadsFrom?: StaleReadTarget;
}

/** PEM contents (not paths). */
export interface ClientTlsOptions {
  readonly ca: string | Uint8Array;
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
}

export interface GetOptions {
  readonly consistency?: ReadConsistency;
  /** Stale reads: wait until the member has applied at least this index (read-your-writes). */
  readonly minIndex?: number;
  readonly deadlineMs?: number;
}

export interface CallOptions {
  readonly deadlineMs?: number;
}

/** What `transferLeadership` found. */
type Kv = typeof kvService;
type Method = keyof Kv;

/** Per-attempt bound, so one hung member cannot eat the whole deadline. */
const ATTEMPT_TIMEOUT_MS = 3000;
const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 100;
const encoder = new TextEncoder();

export class DuoraftClient {
  private readonly channels = new Map<string, InstanceType<typeof KvClient>>();
  private readonly pipelines = new Map<string, PipelineConnection>();
  private readonly discovery: LeaderDiscovery;
  private readonly paths: ClusterPaths;
  private readonly deadlineMs: number;
  /** Per member address: does it speak TLS? Asked once, when a plaintext call there fails. */
  private readonly tlsProbes = new Map<string, Promise<boolean>>();
  /** The member the last NOT_LEADER pointed at, tried before the leader znode's. */
  private hinted: string | null = null;
  /** The last member that did not answer (stale reads avoid it). */
  private unreachable: string | null = null;
  private closed = false;
  /** Round robin over the members stale reads may use. */
  private staleTurn = 0;

  private constructor(
    private readonly zk: ZkSession,
    readonly cluster: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    deadlineMs: number,
    private readonly security: ClientSecurity,
    private readonly staleReadsFrom: StaleReadTarget = 'any-member',
  ) {
    this.deadlineMs = deadlineMs;
    this.paths = new ClusterPaths(cluster);
    this.discovery = new LeaderDiscovery(zk, this.paths, clock, logger);
  }

  static async connect(o: ConnectOptions): Promise<DuoraftClient> {
    const paths = new ClusterPaths(o.cluster); // validates the name
    const logger = o.logger ?? silentLogger;
    const security = clientSecurity(o);
    memberChannelSecurity(o.cluster, security, ''); // refuses a token without TLS before anything starts
    const zk = connectZk({ connectString: o.zk, sessionTimeoutMs: 10_000, logger, ...(o.zkAuth ? { auth: o.zkAuth } : {}) });
    const timeout = o.zkConnectTimeoutMs ?? 5000;
    try {
      await zk.waitConnected(timeout);
    } catch (err) {
      await zk.close().catch(() => undefined);
      throw new ZkUnavailableError(`cannot reach ZooKeeper at ${o.zk} within ${timeout} ms`, { cause: err });
    }
    if ((await zk.exists(paths.root).catch(() => null)) === null) {
      await zk.close().catch(() => undefined);
      throw new UnavailableError(`no duoraft cluster named ${JSON.stringify(o.cluster)} in ZooKeeper at ${o.zk}: start a node first`);
    }
    try {
      await checkReadable(zk, paths, o.cluster, o.zkAuth !== undefined);
    } catch (err) {
      await zk.close().catch(() => undefined);
      throw err;
    }
    const c = new DuoraftClient(zk, o.cluster, realClock, logger, o.deadlineMs ?? 10_000, security, o.staleReadsFrom ?? 'any-member');
    if (o.sessions !== false) c.session = new ClientSession(c.sessionTransport(), realClock, logger, o.sessionTimeoutMs ?? 30_000);
    void c.warmUp();
    return c;
  }

  private session: ClientSession | null = null;

  private sessionTransport(): SessionTransport {
    return {
      register: async (timeoutMs) => {
        // One nonce for every retry of this registration: a retry whose first attempt took
        // effect gets that session back instead of opening a second one.
        const clientNonce = randomBytes(16);
        const { res } = await this.call('registerSession', { timeoutMs, clientNonce }, { write: true, retryUnknown: true });
        if (!res.sessionId) throw new UnavailableError('the cluster did not open a session');
        return res.sessionId;
      },
      keepAlive: async (sessionId) => {
        await this.call('keepAlive', { sessionId }, { write: true, retryUnknown: true });
      },
    };
  }

  /**
   * A write under the session: one sequence number for every retry of it. If the session
   * turns out to have expired, a write none of whose attempts may have taken effect is sent
   * again under a new session; otherwise its outcome is reported unknown.
   */
  private async write<M extends 'put' | 'delete' | 'incr' | 'cas'>(
    method: M,
    body: RequestOutOf<Kv[M]>,
    options: CallOptions,
  ): Promise<{ res: ResponseInOf<Kv[M]>; by: string }> {
    const session = this.session;
    if (!session) return this.call(method, body, { write: true, retryUnknown: method === 'put' || method === 'delete', ...options });
    const seq = await session.begin();
    try {
      for (let round = 0; ; round++) {
        const ctx = await session.context(seq);
        const track = { unknown: false };
        try {
          return await this.call(method, { ...body, ctx } as RequestOutOf<Kv[M]>, { write: true, retryUnknown: true, track, ...options });
        } catch (err) {
          if (!(err instanceof SessionExpiredError)) throw err;
          session.expired(ctx.sessionId);
          if (track.unknown || round > 0) {
            throw new UnknownOutcomeError(`session ${ctx.sessionId} expired while a ${method} in it was retried; it may or may not have taken effect`);
          }
        }
      }
    } finally {
      session.end(seq);
    }
  }

  /** Writes a value. `by` is the address of the member (the leader) that acknowledged it. */
  async put(key: string, value: string | Uint8Array, options: CallOptions = {}): Promise<{ index: number; by: string }> {
    const v = typeof value === 'string' ? encoder.encode(value) : value;
    const { res, by } = await this.write('put', { key, value: v }, options);
    return { index: res.index ?? 0, by };
  }

  async get(key: string, options: GetOptions = {}): Promise<{ found: boolean; value: Uint8Array; index: number }> {
    const consistency = options.consistency ?? 'linearizable';
    const c = consistency === 'stale' ? pb.client.Consistency.STALE : consistency === 'lease' ? pb.client.Consistency.LEASE : pb.client.Consistency.LINEARIZABLE;
    const { res: r } = await this.call(
      'get',
      { key, consistency: c, minIndex: options.minIndex ?? 0 },
      { write: false, retryUnknown: true, anyMember: consistency === 'stale', ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}) },
    );
    return { found: r.found ?? false, value: r.value ?? new Uint8Array(0), index: r.index ?? 0 };
  }

  /** Deletes a key. `by` is the address of the member (the leader) that acknowledged it. */
  async del(key: string, options: CallOptions = {}): Promise<{ deleted: boolean; index: number; by: string }> {
    const { res: r, by } = await this.write('delete', { key }, options);
    return { deleted: r.deleted ?? false, index: r.index ?? 0, by };
  }

  /**
   * Atomic add; returns the new value. Under a session (the default) a retry takes
   * effect once; without one an unknown outcome is reported rather than retried.
   */
  async incr(key: string, delta = 1, options: CallOptions = {}): Promise<{ value: number; index: number; by: string }> {
    if (!Number.isSafeInteger(delta)) throw new InvalidArgumentError(`delta ${delta} is not a safe integer`);
    const { res: r, by } = await this.write('incr', { key, delta }, options);
    return { value: r.value ?? 0, index: r.index ?? 0, by };
  }

  /**
   * Compare-and-set: sets `value` when the current value equals `expected`, or, with
   * expected null, when the key is absent ("create if absent"). Returns whether it did and,
   * when it did not, the value found.
   */
  async cas(
    key: string,
    expected: string | Uint8Array | null,
    value: string | Uint8Array,
    options: CallOptions = {},
  ): Promise<{ succeeded: boolean; current: Uint8Array | null; index: number; by: string }> {
    const bytes = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? encoder.encode(v) : v);
    const { res: r, by } = await this.write(
      'cas',
      { key, expected: expected === null ? new Uint8Array(0) : bytes(expected), expectAbsent: expected === null, value: bytes(value) },
      options,
    );
    return { succeeded: r.succeeded ?? false, current: r.currentFound ? (r.current ?? new Uint8Array(0)) : null, index: r.index ?? 0, by };
  }

  /**
   * Asks the leader to hand leadership to `to` (default: the other voter); resolves with the
   * new leader. A hand-over is not idempotent, so, as etcdctl move-leader does, the request
   * always names its target (the voter ZooKeeper does not name leader, when not given): a
   * retry that reaches the target after all answers "already leads" instead of handing
   * leadership back. One attempt outlasts the leader's own transfer deadline, and the leader
   * fits that deadline within the attempt's (gRPC's, which it sees) when the call's deadline
   * cuts the attempt short, or refuses to start (TIMEOUT) when too little is left. An answer
   * lost even so is UNKNOWN_OUTCOME, not retried: see who leads (status) before asking again.
   * A call that never left (no connection to the leader) is retried within the deadline.
   */
  async transferLeadership(to = '', options: CallOptions = {}): Promise<TransferResult> {
    if (this.closed) throw new UnavailableError('client is closed');
    const deadline = this.clock.now() + (options.deadlineMs ?? this.deadlineMs);
    const target = to || (await transferTarget(this.zk, this.paths, this.discovery, this.clock, deadline));
    const { res } = await this.call(
      'transferLeadership',
      { to: target },
      {
        write: true,
        retryUnknown: false,
        attemptTimeoutMs: TRANSFER_ATTEMPT_TIMEOUT_MS,
        deadlineMs: deadline - this.clock.now(),
        lostAnswer: `the transfer to ${target} may or may not have happened: run duoraft status to see who leads (asking again names ${target}, which answers at once if it leads)`,
      },
    );
    return { leaderId: res.leaderId ?? '', tookMs: res.tookMs ?? 0, alreadyLeader: res.alreadyLeader ?? false };
  }

  /** Every member registered in ZooKeeper, with its own view; unreachable ones say so. */
  async status(): Promise<MemberStatusView[]> {
    const members = await this.discovery.members();
    return Promise.all(
      members.map(async (m): Promise<MemberStatusView> => {
        try {
          const r = await this.attempt(m.address, 'status', {}, 1000);
          const e = fromWireError(r.error);
          if (e) throw e;
          const s = r.member;
          return {
            id: s?.id || m.id,
            role: s?.role ?? 'unknown',
            term: s?.term ?? 0,
            commitIndex: s?.commitIndex ?? 0,
            appliedIndex: s?.appliedIndex ?? 0,
            leaderId: s?.leaderId ?? '',
            address: m.address,
            snapshotIndex: s?.snapshotIndex ?? 0,
            snapshotBytes: s?.snapshotBytes ?? 0,
            zkBudget: budgetView(s?.zkBudget),
            ...(s?.listener
              ? { upstream: s.listener.upstream ?? '', depth: s.listener.depth ?? 0, lagEntries: s.listener.lagEntries ?? 0, lagMs: s.listener.lagMs ?? 0 }
              : {}),
          };
        } catch (err) {
          // Wrong credentials are not an unreachable member: say so.
          const refused = await this.securityFailure(err, m.address);
          if (refused) throw refused;
          return { id: m.id, role: 'unreachable', term: 0, commitIndex: 0, appliedIndex: 0, leaderId: '', address: m.address, snapshotIndex: 0, snapshotBytes: 0, zkBudget: null };
        }
      }),
    );
  }

  /**
   * Has a member take a snapshot now: the one at `address`, or the leader. The leader also
   * uploads it to ZooKeeper and compacts the log there (within the budget). One attempt, with
   * the whole deadline: a large state takes seconds to write and upload.
   */
  async takeSnapshot(options: { address?: string; deadlineMs?: number } = {}): Promise<SnapshotTakenView> {
    if (this.closed) throw new UnavailableError('client is closed');
    const deadlineMs = options.deadlineMs ?? this.deadlineMs;
    const address = options.address ?? (await this.pickTarget(false, Math.min(deadlineMs, 5000)));
    if (!address) throw new UnavailableError('no leader is known: give the member with --address');
    let r: ResponseInOf<Kv['takeSnapshot']>;
    try {
      r = await this.attempt(address, 'takeSnapshot', {}, deadlineMs);
    } catch (err) {
      const refused = await this.securityFailure(err, address);
      if (refused) throw refused;
      const e = err as { code?: unknown; details?: unknown; message?: unknown };
      if (e.code === grpc.status.DEADLINE_EXCEEDED) throw new TimeoutError(`${address} did not answer within ${deadlineMs} ms; the snapshot may still complete (see its log)`);
      throw new UnavailableError(`cannot reach ${address}: ${String(e.details ?? e.message ?? err)}`);
    }
    const e = fromWireError(r.error);
    if (e) throw e;
    return {
      memberId: r.memberId ?? '',
      address,
      index: r.index ?? 0,
      term: r.term ?? 0,
      sizeBytes: r.sizeBytes ?? 0,
      tookMs: r.tookMs ?? 0,
      publish: r.publish ?? '',
      zkBudget: budgetView(r.zkBudget),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session?.close();
    this.discovery.close();
    for (const p of this.pipelines.values()) p.close();
    this.pipelines.clear();
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    await this.zk.close();
  }

  // ---------------------------------------------------------------- retries

  private async call<M extends Method>(
    method: M,
    request: RequestOutOf<Kv[M]>,
    o: {
      write: boolean;
      retryUnknown: boolean;
      anyMember?: boolean;
      deadlineMs?: number;
      track?: { unknown: boolean };
      /** Bound of one attempt, instead of ATTEMPT_TIMEOUT_MS (a transfer's outlasts the leader's deadline). */
      attemptTimeoutMs?: number;
      /** Added to the UNKNOWN_OUTCOME of a write whose answer was lost: what it means for this call, and what to do. */
      lostAnswer?: string;
    },
  ): Promise<{ res: ResponseInOf<Kv[M]>; by: string }> {
    if (this.closed) throw new UnavailableError('client is closed');
    const deadline = this.clock.now() + (o.deadlineMs ?? this.deadlineMs);
    let backoff = BACKOFF_MIN_MS;
    // Built lazily: an Error captures a stack, which is not free on every call.
    let lastError: DuoraftError | null = null;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) throw withDeadline(lastError ?? new TimeoutError(`${method} did not complete within the deadline`), method);
      const target = await this.pickTarget(o.anyMember === true, Math.min(remaining, BACKOFF_MAX_MS));
      if (!target) {
        lastError = new UnavailableError('no leader is known yet');
        continue;
      }
      let error: DuoraftError;
      try {
        const attempt = this.attempt(target, method, request, Math.min(remaining, o.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS));
        // Data calls to the leader give up on it as soon as ZooKeeper names another one.
        // Not a transfer: its own success moves the leader before the old one answers.
        const res = o.anyMember === true || !isDataMethod(method) ? await attempt : await this.unlessLeaderMoves(target, attempt);
        const e = fromWireError((res as { error?: DecodedWireError | null }).error);
        if (!e) return { res, by: target };
        error = e;
      } catch (err) {
        const refused = err instanceof DuoraftError ? null : await this.securityFailure(err, target);
        if (refused) throw refused; // credentials or TLS settings: retrying cannot help
        if (err instanceof DuoraftError) {
          error = err;
        } else if (!isDataMethod(method) && neverSent(err)) {
          // Nothing left this client, so any call may go again, a transfer included, after
          // leader discovery: that member is down, or another leads by now.
          error = new UnavailableError(`cannot connect to ${target} (nothing was sent): ${(err as Error).message}`);
          this.hinted = null;
          this.unreachable = target;
        } else {
          // The call failed in transport: the member is gone, or the reply was lost.
          const lost = `connection to ${target} failed: ${(err as Error).message}`;
          error = o.write ? new UnknownOutcomeError(o.lostAnswer ? `${lost}; ${o.lostAnswer}` : lost) : new UnavailableError(`cannot reach ${target}: ${(err as Error).message}`);
          this.hinted = null;
          this.unreachable = target;
        }
      }
      lastError = error;
      switch (error.code) {
        case 'NOT_LEADER': {
          const hint = (error as DuoraftError & { leaderAddress?: string }).leaderAddress ?? '';
          if (hint && hint !== target) {
            this.hinted = hint;
            continue; // go there at once
          }
          this.hinted = null;
          await this.discovery.changed(backoff);
          break;
        }
        case 'BUSY':
          await this.sleep(Math.max(backoff, (error as DuoraftError & { retryAfterMs?: number }).retryAfterMs ?? 0));
          break;
        case 'UNAVAILABLE':
          await this.discovery.changed(backoff);
          break;
        case 'UNKNOWN_OUTCOME':
        case 'TIMEOUT':
          if (o.track) o.track.unknown = true;
          if (!o.retryUnknown) throw error;
          await this.discovery.changed(backoff);
          break;
        default:
          throw error; // INVALID_ARGUMENT, SESSION_EXPIRED, INTERNAL: retrying will not help
      }
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      this.logger.debug({ method, attempt, code: error.code }, 'retrying');
    }
  }

  /**
   * The attempt's answer, or a LeaderMovedError as soon as ZooKeeper names another leader
   * while it is outstanding: a stalled or cut-off leader never answers before our timeout,
   * and the new one can take the retry now. The abandoned attempt still ends (answer or
   * timeout) and is ignored; its outcome is unknown, so a write retries in its session.
   */
  private async unlessLeaderMoves<T>(target: string, attempt: Promise<T>): Promise<T> {
    const watch = this.discovery.movedAwayFrom(target);
    try {
      return await Promise.race([
        attempt,
        watch.moved.then((): never => {
          throw new LeaderMovedError(`ZooKeeper names another leader than ${target}; the call there is abandoned`);
        }),
      ]);
    } finally {
      watch.cancel();
      attempt.catch(() => undefined); // an abandoned attempt's late failure is not an unhandled rejection
    }
  }

  private async pickTarget(anyMember: boolean, waitMs: number): Promise<string | null> {
    if (anyMember) {
      // Stale reads go to a follower when there is one, sparing the leader.
      const leaderId = this.discovery.current()?.id;
      const members = await this.discovery.membersCached().catch(() => []);
      const usable = members.filter((m) => m.id !== leaderId && m.address !== this.unreachable);
      const preferred = this.staleReadsFrom === 'any-member' ? usable : usable.filter((m) => m.kind === this.staleReadsFrom);
      // Spread over the preferred members; fall back on any that does not lead.
      const pool = preferred.length > 0 ? preferred : usable;
      const pick = pool[this.staleTurn++ % Math.max(1, pool.length)];
      if (pick) return pick.address;
    }
    if (this.hinted) return this.hinted;
    const leader = this.discovery.current();
    if (leader) return leader.address;
    await this.discovery.changed(waitMs);
    return this.discovery.current()?.address ?? null;
  }

  private attempt<M extends Method>(address: string, method: M, request: RequestOutOf<Kv[M]>, timeoutMs: number): Promise<ResponseInOf<Kv[M]>> {
    if (method === 'put' || method === 'get' || method === 'delete' || method === 'incr' || method === 'cas') {
      return this.pipelined(address, method, request, timeoutMs);
    }
    const client = this.channel(address);
    const def = kvService[method];
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize as (v: RequestOutOf<Kv[M]>) => Buffer,
        def.responseDeserialize as (b: Buffer) => ResponseInOf<Kv[M]>,
        request,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: ResponseInOf<Kv[M]>) => (err || !res ? reject(err ?? new Error('empty response')) : resolve(res)),
      );
    });
  }

  /** Put/get/delete/incr go over the member's pipeline stream. */
  private async pipelined<M extends Method>(address: string, method: M, request: RequestOutOf<Kv[M]>, timeoutMs: number): Promise<ResponseInOf<Kv[M]>> {
    let p = this.pipelines.get(address);
    if (!p) {
      p = new PipelineConnection(this.channel(address), this.clock, address);
      this.pipelines.set(address, p);
    }
    const op = { [method]: request } as unknown as PipelinedOp;
    const r = await p.send(op, timeoutMs);
    const requestError = fromWireError(r.error);
    if (requestError) throw requestError;
    const res = r[method as 'put' | 'get' | 'delete' | 'incr' | 'cas'];
    if (!res) throw new Error(`member ${address} answered ${method} without a result`);
    return res as unknown as ResponseInOf<Kv[M]>;
  }

  /**
   * Opens connections to every member now, so that after a failover or a hand-over the
   * first call to the new leader does not also wait for TCP and HTTP/2 set-up.
   */
  private async warmUp(): Promise<void> {
    const members = await this.discovery.membersCached().catch(() => []);
    for (const m of members) {
      if (this.closed) return;
      this.channel(m.address).getChannel().getConnectivityState(true);
    }
  }

  /**
   * The typed error when a failed call shows that our credentials or TLS settings do not
   * fit the member's (refused with UNAUTHENTICATED or PERMISSION_DENIED, a TLS handshake
   * that failed, a member that speaks TLS to our plaintext), else null.
   */
  private async securityFailure(err: unknown, address: string): Promise<DuoraftError | null> {
    if (typeof err !== 'object' || err === null) return null;
    const e = err as { code?: unknown; details?: unknown };
    const status = fromGrpcStatus(e, address);
    if (status) return status;
    const details = typeof e.details === 'string' ? e.details : '';
    if (e.code !== grpc.status.UNAVAILABLE) return null;
    if (this.security.tls) return tlsConnectionFailure(details, address);
    // grpc-js says "Failed to connect" when TCP connected but no HTTP/2 came back: a TLS
    // member, for instance. Anything else (refused, dropped) is a member that is down, and
    // is not worth a probe on the way to the next leader.
    if (!details.includes('Failed to connect')) return null;
    let probe = this.tlsProbes.get(address);
    if (!probe) {
      probe = speaksTls(address, 1000);
      this.tlsProbes.set(address, probe);
    }
    return (await probe) ? plaintextToTlsMember(address) : null;
  }

  private channel(address: string): InstanceType<typeof KvClient> {
    let c = this.channels.get(address);
    if (!c) {
      const security = memberChannelSecurity(this.cluster, this.security, address);
      c = new KvClient(address, security.credentials, {
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 500,
        'grpc.max_receive_message_length': 8 * 1024 * 1024,
        'grpc.max_send_message_length': 8 * 1024 * 1024,
        // Nothing reads channelz; its per-call bookkeeping is client CPU on every call.
        'grpc.enable_channelz': 0,
        ...security.options,
      });
      this.channels.set(address, c);
    }
    return c;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimeout(r, ms));
  }
}

function isDataMethod(method: string): boolean {
  return method === 'put' || method === 'get' || method === 'delete' || method === 'incr' || method === 'cas';
}

/** A transport-level failure of one attempt (see unlessLeaderMoves). */
class LeaderMovedError extends Error {}

function withDeadline(e: DuoraftError, method: string): DuoraftError {
  if (e.code === 'TIMEOUT' || e.code === 'UNKNOWN_OUTCOME') return e;
  return new TimeoutError(`${method}: deadline passed; last error: ${e.message}`);
}

/** The TLS material and token of the options, checked (ConfigError for a file that is not what it should be). */
export function clientSecurity(o: Pick<ConnectOptions, 'tls' | 'token'>): ClientSecurity {
  const pem = (v: string | Uint8Array): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));
  let tls: ClientSecurity['tls'];
  if (o.tls) {
    tls = { ca: pem(o.tls.ca), ...(o.tls.cert !== undefined ? { cert: pem(o.tls.cert) } : {}), ...(o.tls.key !== undefined ? { key: pem(o.tls.key) } : {}) };
    checkTlsMaterial(tls);
  }
  return { ...(tls ? { tls } : {}), ...(o.token !== undefined ? { token: o.token } : {}) };
}

/**
 * Reads the members folder once, so that a cluster protected by a ZooKeeper digest ACL
 * and a client without (or with other) credentials fail here with one clear error,
 * rather than as every later call timing out.
 */
async function checkReadable(zk: ZkSession, paths: ClusterPaths, cluster: string, withCredentials: boolean): Promise<void> {
  try {
    await zk.getChildren(paths.members);
  } catch (err) {
    if (!(err instanceof ZkError && err.code === 'NO_AUTH')) return; // anything else shows up later, with its own error
    throw new UnauthenticatedError(
      withCredentials
        ? `ZooKeeper refused to read cluster ${JSON.stringify(cluster)} (NO_AUTH): its tree belongs to other ZooKeeper credentials; give the ones its nodes use (--zk-user/--zk-password)`
        : `ZooKeeper refused to read cluster ${JSON.stringify(cluster)} (NO_AUTH): its nodes protect it with a digest ACL; give their credentials (--zk-user/--zk-password, env DUORAFT_ZK_USER/DUORAFT_ZK_PASSWORD, or zkAuth in connect())`,
      { cause: err },
    );
  }
}

/** Connects to a duoraft cluster through ZooKeeper. */
export function connect(options: ConnectOptions): Promise<DuoraftClient> {
  return DuoraftClient.connect(options);
}
