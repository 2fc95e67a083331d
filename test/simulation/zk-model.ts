// An in-memory ZooKeeper for the deterministic simulator: an ensemble of servers (one
// leader, followers that lag) with sessions, watches and ZooKeeper's checks, and clients
// that behave like duoraft's real wrapper (src/coordination/zk-client.ts), all on the
// simulator's virtual time. Every delay and every choice comes from the SimScheduler and
// its seeded PRNG, so a seed replays a run exactly. The shared contract suites
// (test/contract) run against it and against real servers (zk-contract-model.test.ts,
// test/integration/zk-client.test.ts).
//
// Faults per client name (a client's host): disconnect, partition/heal, a slow link,
// expire, and the probability that a request whose reply was lost had been applied
// anyway. Faults of the ensemble: a follower's link to the leader held (it serves stale
// reads meanwhile).
//
// The parts, in zk-model/: tree.ts (znodes and ops), watch-table.ts (server watches),
// ensemble.ts (the leader, transactions, sessions), replica.ts (one server),
// leader-channel.ts (a follower's link to the leader), txn.ts, link.ts (client
// connections), session.ts (the client), in-flight.ts (what becomes of a sent request),
// client-watches.ts and client-checks.ts (what the client library does), paths.ts and
// request-size.ts (limits), autorun.ts (driving the scheduler from real time).
import type { Logger } from '../../src/common/logger.js';
import { silentLogger } from '../../src/common/logger.js';
import type { ZkOp, ZkSession } from '../../src/coordination/zk-api.js';
import type { SimScheduler } from './sim-scheduler.js';
import { Ensemble } from './zk-model/ensemble.js';
import { ModelZkSession, type ModelSessionControl } from './zk-model/session.js';
import type { ClientNetwork } from './zk-model/session-network.js';
import type { ZnodeSnapshot } from './zk-model/tree.js';

export type { ModelSessionControl } from './zk-model/session.js';
export type { ZnodeSnapshot } from './zk-model/tree.js';
export { autorun, type Autorun } from './zk-model/autorun.js';

/** How a partition looks to the client: a reset connection, or a blackhole. */
export type PartitionMode = 'reset' | 'silent';

export interface ZkModelOptions {
  /** Servers in the ensemble (default 3; 1 is a standalone server). Server 0 is the leader. */
  servers?: number;
  /**
   * Latency range of one message between a follower and the leader, in virtual ms
   * (default [0, 2]); messages keep their order, so a follower applies each transaction
   * at least this long after the leader. Holding a follower's link (holdServer) makes it lag
   * for as long as it is held.
   */
  followerLagMs?: readonly [number, number];
  /**
   * ZooKeeper's localSessionsEnabled: a new session is answered by its server at once
   * (before the ensemble ordered its creation) and stays on that server until it creates
   * an ephemeral (default false: a new session is a transaction, answered once its server
   * applied it).
   */
  localSessions?: boolean;
  /** Client-server latency range in virtual ms, each way (each message picks one with the scheduler's PRNG); default [1, 3]. */
  latencyMs?: readonly [number, number];
  /** Negotiated session timeout of every session (default 4000). */
  sessionTimeoutMs?: number;
  /** Request timeout of each client session (TIMEOUT after this, default 3000). */
  requestTimeoutMs?: number;
  /**
   * Pause before a client reconnects after its connection dropped, in virtual ms
   * (default [0, 50]: node-zookeeper-client retries at once or after a random spin delay
   * of up to 50 ms).
   */
  reconnectDelayMs?: readonly [number, number];
  /**
   * How long a client waits for a handshake before it drops the connection and tries the
   * next server (default as the wrapper's: a third of the session timeout shared among
   * the client's servers, at least 250 ms).
   */
  handshakeTimeoutMs?: number;
  /** Where watcher and listener exceptions are reported (default: silent). */
  logger?: Logger;
}

function checkRange(name: string, range: readonly [number, number]): readonly [number, number] {
  const [min, max] = range;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new Error(`ZkModel: ${name} must be integers 0 <= min <= max, got [${min}, ${max}]`);
  }
  return range;
}

function checkPositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`ZkModel: ${name} must be positive, got ${value}`);
  return value;
}

export interface ConnectOptions {
  /** The servers of its connect string (default: all of them). */
  readonly servers?: readonly number[];
}

export class ZkModel {
  private readonly ensemble: Ensemble;
  private readonly net: ClientNetwork;
  private readonly clients: ModelZkSession[] = [];
  private readonly partitioned = new Set<string>();
  private readonly slow = new Map<string, number>();
  private applyOnLossProbability = 0.5;

  constructor(sched: SimScheduler, options: ZkModelOptions = {}) {
    const [latencyMin, latencyMax] = checkRange('latencyMs', options.latencyMs ?? [1, 3]);
    const [reconnectMin, reconnectMax] = checkRange('reconnectDelayMs', options.reconnectDelayMs ?? [0, 50]);
    const [lagMin, lagMax] = checkRange('followerLagMs', options.followerLagMs ?? [0, 2]);
    const between = (min: number, max: number): number => min + sched.random.nextInt(max - min + 1);
    this.ensemble = new Ensemble(sched, {
      servers: options.servers ?? 3,
      sessionTimeoutMs: checkPositive('sessionTimeoutMs', options.sessionTimeoutMs ?? 4_000),
      followerLag: () => between(lagMin, lagMax),
      localSessions: options.localSessions ?? false,
    });
    this.net = {
      sched,
      requestTimeoutMs: checkPositive('requestTimeoutMs', options.requestTimeoutMs ?? 3_000),
      logger: options.logger ?? silentLogger,
      latency: () => between(latencyMin, latencyMax),
      reconnectDelay: () => between(reconnectMin, reconnectMax),
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: checkPositive('handshakeTimeoutMs', options.handshakeTimeoutMs) } : {}),
      appliedAnyway: () => sched.random.nextFloat() < this.applyOnLossProbability,
      isPartitioned: (name) => this.partitioned.has(name),
      extraLatency: (name) => this.slow.get(name) ?? 0,
    };
  }

  /** Servers in the ensemble (0 leads). */
  get serverCount(): number {
    return this.ensemble.servers.length;
  }

  /**
   * A new client session (connects after a round trip, or longer on a lagging server;
   * `name` is for logs and faults).
   */
  connect(name: string, options: ConnectOptions = {}): ZkSession & ModelSessionControl {
    // Forget clients that are closed and done, so long runs do not accumulate them.
    for (let i = this.clients.length - 1; i >= 0; i--) {
      const client = this.clients[i]!;
      if (client.state === 'closed' && !client.hasConnection()) this.clients.splice(i, 1);
    }
    const all = this.ensemble.servers.map((s) => s.index);
    const servers = options.servers ?? all;
    if (servers.length === 0 || servers.some((i) => !all.includes(i))) throw new Error(`ZkModel: connect(${name}): servers must be among ${all.join(', ')}, got [${servers.join(', ')}]`);
    const client = new ModelZkSession(name, this.ensemble, this.net, servers);
    this.clients.push(client);
    return client;
  }

  // ---- the leader's state, without a session (invariant checks) -----------------------

  /**
   * `observer` is told of every client write the ZooKeeper leader decides, before it is
   * applied (the tree still shows what it replaces); the function it returns, if any, is
   * told whether the write succeeded.
   */
  observeWrites(observer: (ops: readonly ZkOp[]) => ((ok: boolean) => void) | void): void {
    this.ensemble.writeObserver = observer;
  }

  /** The tree as a plain map path -> znode. Includes /zookeeper. */
  snapshot(): ReadonlyMap<string, ZnodeSnapshot> {
    return this.ensemble.tree.snapshot();
  }

  /** The zxid of the last transaction. */
  lastZxid(): bigint {
    return this.ensemble.tree.lastZxid();
  }

  /** The zxid of the last transaction server `server` applied. */
  lastZxidOf(server: number): bigint {
    const replica = this.ensemble.servers[server];
    if (!replica) throw new Error(`ZkModel: no server ${server}`);
    return replica.lastZxid();
  }

  /** A znode's children, sorted; null when missing. */
  childrenOf(path: string): string[] | null {
    return this.ensemble.tree.children(path);
  }

  /** A znode's data; null when missing. */
  dataOf(path: string): Uint8Array | null {
    return this.ensemble.tree.data(path)?.data ?? null;
  }

  /** One znode (its data is the model's own: do not modify it); null when missing. */
  znode(path: string): ZnodeSnapshot | null {
    return this.ensemble.tree.znode(path);
  }

  /** The name of the client whose live session `sessionId` is, or null (ended, or never was). */
  clientOfSession(sessionId: string): string | null {
    return this.ensemble.clientOf(sessionId);
  }

  /** Ids of the live sessions of the client called `name`. */
  sessionsOf(name: string): string[] {
    return this.ensemble.sessionsOf(name);
  }

  /** The server the client called `name` is connected to (or handshaking with), -1 if none. */
  serverOf(name: string): number {
    const client = this.clientsNamed(name).find((c) => c.state !== 'closed');
    return client?.server ?? -1;
  }

  /**
   * The client's connection drops now: its in-flight requests fail with CONNECTION_LOSS,
   * each one still travelling applied or not (the PRNG decides, in order); it reconnects
   * after a random delay unless partitioned.
   */
  disconnect(name: string): void {
    for (const client of this.clientsNamed(name)) client.loseConnection();
  }

  /**
   * The client cannot reach the server until heal(name). 'reset' (the default): its
   * connection drops at once (as in disconnect) and reconnects are refused. 'silent': a
   * blackhole, nobody is told; the client notices by the wrapper's read timeout (two
   * thirds of the session timeout after it last heard from the server; requests sent
   * meanwhile are lost, and time out or fail with CONNECTION_LOSS then), the server by
   * the pings it stops hearing. Either way, if the client stays away longer than the
   * session timeout, the server expires the session (ephemerals deleted, watches gone);
   * the client learns it when it comes back ('expired', then a new session 'connected').
   */
  partition(name: string, mode: PartitionMode = 'reset'): void {
    this.partitioned.add(name);
    for (const client of this.clientsNamed(name)) {
      if (mode === 'silent') client.goSilent();
      else client.loseConnection();
    }
  }

  /**
   * Every message between the client and the server takes `extraMs` longer from now on (0
   * ends it). A sudden jump leaves a gap in what the server hears from the client, while
   * what it sent meanwhile still arrives, late: a slow network, not a cut one.
   */
  setExtraLatency(name: string, extraMs: number): void {
    if (extraMs > 0) this.slow.set(name, extraMs);
    else this.slow.delete(name);
  }

  /** The partition ends; a connection still silent is reset (as the project's TCP proxy does), and the client reconnects. */
  heal(name: string): void {
    this.partitioned.delete(name);
    for (const client of this.clientsNamed(name)) client.healed();
  }

  /**
   * The leader expires the client's sessions now; the client sees 'expired' at its next
   * contact (its server closes the connection once it applied the expiry), then a new
   * session.
   */
  expire(name: string): void {
    for (const sessionId of this.ensemble.sessionsOf(name)) this.ensemble.expire(sessionId);
  }

  /**
   * Follower `server`'s link to the leader carries nothing until releaseServer (nothing is
   * closed): the follower falls behind, serves stale reads, and holds the writes and
   * handshakes that need the leader. Real followers are dropped by their leader after
   * syncLimit ticks of this (2 s with our harness's settings): hold for less.
   */
  holdServer(server: number): void {
    this.ensemble.hold(server);
  }

  /** The held link carries again: what waited arrives, in order. */
  releaseServer(server: number): void {
    this.ensemble.release(server);
  }

  isServerHeld(server: number): boolean {
    return this.ensemble.isHeld(server);
  }

  /** The client called `name` now connects only to `servers`; its connection drops and goes there. */
  reroute(name: string, servers: readonly number[]): void {
    const all = this.ensemble.servers.map((s) => s.index);
    if (servers.length === 0 || servers.some((i) => !all.includes(i))) throw new Error(`ZkModel: reroute(${name}): servers must be among ${all.join(', ')}`);
    for (const client of this.clientsNamed(name)) client.reroute(servers);
  }

  /** Probability that a request in flight when the connection drops (or it times out) was applied anyway (default 0.5). */
  setApplyOnLossProbability(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new Error(`ZkModel: the apply-on-loss probability must be in [0, 1], got ${p}`);
    this.applyOnLossProbability = p;
  }

  private clientsNamed(name: string): ModelZkSession[] {
    return this.clients.filter((client) => client.name === name);
  }
}
