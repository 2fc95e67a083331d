// An in-memory ZooKeeper for the deterministic simulator: a server with sessions,
// watches and ZooKeeper's checks, and clients that behave like duoraft's real wrapper
// (src/coordination/zk-client.ts), all on the simulator's virtual time. Every delay and
// every choice comes from the SimScheduler and its seeded PRNG, so a seed replays a run
// exactly. The shared contract suite (test/contract) runs against it and against a real
// server (zk-contract-model.test.ts, test/integration/zk-client.test.ts).
//
// Faults are per client name (a client's host): disconnect, partition/heal, expire, and
// the probability that a request whose reply was lost had been applied anyway.
//
// The parts, in zk-model/: tree.ts (znodes and ops), watch-table.ts (server watches),
// server.ts (sessions, order), link.ts (connections), session.ts (the client),
// in-flight.ts (what becomes of a sent request), client-watches.ts and client-checks.ts
// (what the client library does), paths.ts and request-size.ts (limits), autorun.ts
// (driving the scheduler from real time).
import type { Logger } from '../../src/common/logger.js';
import { silentLogger } from '../../src/common/logger.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import type { SimScheduler } from './sim-scheduler.js';
import { ModelServer } from './zk-model/server.js';
import { ModelZkSession, type ModelSessionControl } from './zk-model/session.js';
import type { ClientNetwork } from './zk-model/session-network.js';
import type { ZnodeSnapshot } from './zk-model/tree.js';

export type { ModelSessionControl } from './zk-model/session.js';
export type { ZnodeSnapshot } from './zk-model/tree.js';
export { autorun, type Autorun } from './zk-model/autorun.js';

/** How a partition looks to the client: a reset connection, or a blackhole. */
export type PartitionMode = 'reset' | 'silent';

export interface ZkModelOptions {
  /** Request latency range in virtual ms (each request picks one with the scheduler's PRNG); default [1, 3]. */
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

export class ZkModel {
  private readonly server: ModelServer;
  private readonly net: ClientNetwork;
  private readonly clients: ModelZkSession[] = [];
  private readonly partitioned = new Set<string>();
  private readonly slow = new Map<string, number>();
  private applyOnLossProbability = 0.5;

  constructor(sched: SimScheduler, options: ZkModelOptions = {}) {
    const [latencyMin, latencyMax] = checkRange('latencyMs', options.latencyMs ?? [1, 3]);
    const [reconnectMin, reconnectMax] = checkRange('reconnectDelayMs', options.reconnectDelayMs ?? [0, 50]);
    const between = (min: number, max: number): number => min + sched.random.nextInt(max - min + 1);
    this.server = new ModelServer(sched, checkPositive('sessionTimeoutMs', options.sessionTimeoutMs ?? 4_000));
    this.net = {
      sched,
      requestTimeoutMs: checkPositive('requestTimeoutMs', options.requestTimeoutMs ?? 3_000),
      logger: options.logger ?? silentLogger,
      latency: () => between(latencyMin, latencyMax),
      reconnectDelay: () => between(reconnectMin, reconnectMax),
      appliedAnyway: () => sched.random.nextFloat() < this.applyOnLossProbability,
      isPartitioned: (name) => this.partitioned.has(name),
      extraLatency: (name) => this.slow.get(name) ?? 0,
    };
  }

  /** A new client session (connects after one round trip; `name` is for logs and faults). */
  connect(name: string): ZkSession & ModelSessionControl {
    // Forget clients that are closed and done, so long runs do not accumulate them.
    for (let i = this.clients.length - 1; i >= 0; i--) {
      const client = this.clients[i]!;
      if (client.state === 'closed' && !client.hasConnection()) this.clients.splice(i, 1);
    }
    const client = new ModelZkSession(name, this.server, this.net);
    this.clients.push(client);
    return client;
  }

  /** The tree as a plain map path -> znode (for invariant checks in the simulator). Includes /zookeeper. */
  snapshot(): ReadonlyMap<string, ZnodeSnapshot> {
    return this.server.tree.snapshot();
  }

  /** The zxid of the last transaction. */
  lastZxid(): bigint {
    return this.server.tree.lastZxid();
  }

  /** A znode's children, sorted, without a session (invariant checks); null when missing. */
  childrenOf(path: string): string[] | null {
    return this.server.tree.children(path);
  }

  /** A znode's data, without a session (invariant checks); null when missing. */
  dataOf(path: string): Uint8Array | null {
    return this.server.tree.data(path)?.data ?? null;
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

  /** The server expires the client's sessions now; the client sees 'expired' at its next contact, then a new session. */
  expire(name: string): void {
    for (const sessionId of this.server.sessionsOf(name)) this.server.expire(sessionId);
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
