// A simulated client: one operation at a time against the simulated voters, the way the
// client library behaves (it finds the leader through the `leader` znode with the real
// LeaderDiscovery over its own ZooKeeper session, follows NOT_LEADER hints, retries with
// the same session and sequence, has a deadline), recording each operation for the
// linearizability checker. Like the real client, it has no other way to find the
// leader: a leader whose znode is missing is not found.
import { LeaderDiscovery } from '../../../src/client/leader-discovery.js';
import { DuoraftError, NotLeaderError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import type { ZkSession } from '../../../src/coordination/zk-api.js';
import type { KvCommand, WriteContext } from '../../../src/statemachine/command.js';
import type { Applied } from '../../../src/server/proposals.js';
import type { KvInput, KvOutput, Operation } from '../../../src/harness/checker/history.js';
import { SimClock, type SimScheduler } from '../sim-scheduler.js';
import { simAddress, type SimNode } from './sim-node.js';

/** What a client saw of one write: the answer, or that its outcome stayed unknown. */
export type WriteOutcome = { readonly kind: 'done'; readonly applied: Applied } | { readonly kind: 'unknown' } | { readonly kind: 'failed'; readonly why: string };

export interface ClientStats {
  acked: number;
  unknown: number;
  failed: number;
}

/** An acknowledged write, for the commit-point check (S2): it must be in ZooKeeper. */
export interface AckRecord {
  readonly index: number;
  readonly sessionId: number;
  readonly sequence: number;
  readonly at: number;
}

const ATTEMPT_TIMEOUT_MS = 600;
/** The real client's longest wait for the leader znode to change before looking again. */
const DISCOVERY_WAIT_MS = 100;
const OP_DEADLINE_MS = 4000;
const SESSION_TIMEOUT_MS = 60_000;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class SimClient {
  private sessionId = 0;
  private nextSeq = 1;
  /** The node the last NOT_LEADER pointed at, tried before the leader znode's. */
  private hinted: string | null = null;
  private readonly discovery: LeaderDiscovery;
  private readonly byAddress = new Map<string, string>();
  /** The operation under way. */
  private pending: { readonly key: string; readonly input: KvInput; readonly call: number } | null = null;
  readonly stats: ClientStats = { acked: 0, unknown: 0, failed: 0 };

  constructor(
    readonly clientId: number,
    private readonly sched: SimScheduler,
    private readonly nodes: ReadonlyMap<string, SimNode>,
    private readonly history: Operation[],
    private readonly acks: AckRecord[],
    private readonly nextOpId: () => number,
    zk: ZkSession,
    cluster: string,
  ) {
    for (const id of nodes.keys()) this.byAddress.set(simAddress(id), id);
    this.discovery = new LeaderDiscovery(zk, new ClusterPaths(cluster), new SimClock(sched), silentLogger);
  }

  // ------------------------------------------------------------- operations

  async put(key: string, value: string): Promise<void> {
    await this.record(key, { kind: 'put', value }, async () => {
      const o = await this.write({ kind: 'put', key, value: encoder.encode(value) });
      return o.kind === 'done' ? { kind: 'put' } : o.kind;
    });
  }

  async del(key: string): Promise<void> {
    await this.record(key, { kind: 'del' }, async () => {
      const o = await this.write({ kind: 'delete', key });
      if (o.kind !== 'done') return o.kind;
      const r = o.applied.result;
      return r.ok && r.kind === 'delete' ? { kind: 'del', deleted: r.deleted } : 'failed';
    });
  }

  async incr(key: string, delta: number): Promise<void> {
    await this.record(key, { kind: 'incr', delta }, async () => {
      const o = await this.write({ kind: 'incr', key, delta });
      if (o.kind !== 'done') return o.kind;
      const r = o.applied.result;
      if (r.ok && r.kind === 'incr') return { kind: 'incr', value: r.value };
      if (!r.ok && r.code === 'not_integer') return { kind: 'incr', error: 'not_integer' };
      return 'failed';
    });
  }

  async cas(key: string, expected: string | null, next: string): Promise<void> {
    await this.record(key, { kind: 'cas', expected, next }, async () => {
      const o = await this.write({ kind: 'cas', key, expected: expected === null ? null : encoder.encode(expected), value: encoder.encode(next) });
      if (o.kind !== 'done') return o.kind;
      const r = o.applied.result;
      if (!(r.ok && r.kind === 'cas')) return 'failed';
      return r.succeeded ? { kind: 'cas', ok: true } : { kind: 'cas', ok: false, current: r.current === null ? null : decoder.decode(r.current) };
    });
  }

  async get(key: string, consistency: 'linearizable' | 'lease'): Promise<void> {
    await this.record(key, { kind: 'get' }, async () => {
      const deadline = this.sched.now() + OP_DEADLINE_MS;
      while (this.sched.now() < deadline) {
        const node = await this.target();
        if (!node) continue;
        try {
          const r = await this.withTimeout(node.call((d) => d.read(key, consistency)));
          return r.found ? { kind: 'get', found: true, value: decoder.decode(r.value) } : { kind: 'get', found: false };
        } catch (err) {
          await this.redirect(node, err);
        }
      }
      return 'unknown'; // a read without an answer constrains nothing
    });
  }

  // ------------------------------------------------------------ machinery

  /** Records one operation around `run`, which returns its output, 'unknown' or 'failed'. */
  private async record(key: string, input: KvInput, run: () => Promise<KvOutput | 'unknown' | 'failed'>): Promise<void> {
    const call = this.sched.now();
    const pending = { key, input, call };
    this.pending = pending;
    const out = await run();
    if (this.pending !== pending) return; // abandoned: already recorded as unknown
    this.pending = null;
    const id = this.nextOpId();
    if (out === 'failed') {
      this.stats.failed++;
      return; // refused for sure: it took no effect
    }
    if (out === 'unknown') {
      this.stats.unknown++;
      this.history.push({ id, client: this.clientId, key, call, ret: null, input, output: null });
      return;
    }
    this.stats.acked++;
    this.history.push({ id, client: this.clientId, key, call, ret: this.sched.now(), input, output: out });
  }

  /**
   * The run stops (a violation was found) with an operation still under way: it is
   * recorded with an unknown outcome (it may have taken effect; a state that shows it
   * must still check out against the history).
   */
  abandon(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.stats.unknown++;
    this.history.push({ id: this.nextOpId(), client: this.clientId, key: p.key, call: p.call, ret: null, input: p.input, output: null });
  }

  /** A write under the session, retried with the same sequence until answered or the deadline. */
  private async write(cmd: KvCommand): Promise<WriteOutcome> {
    const deadline = this.sched.now() + OP_DEADLINE_MS;
    let sawUnknown = false;
    for (let round = 0; round < 3; round++) {
      if (!this.sessionId && !(await this.register(deadline))) return sawUnknown ? { kind: 'unknown' } : { kind: 'failed', why: 'no session' };
      const ctx: WriteContext = { sessionId: this.sessionId, sequence: this.nextSeq, firstOutstanding: this.nextSeq };
      while (this.sched.now() < deadline) {
        const node = await this.target();
        if (!node) continue;
        try {
          const applied = await this.withTimeout(node.call((d) => d.submit(cmd, ctx)));
          if (!applied.result.ok && applied.result.code === 'session_expired') throw new SessionGone();
          this.nextSeq++;
          this.acks.push({ index: applied.index, sessionId: ctx.sessionId, sequence: ctx.sequence, at: this.sched.now() });
          return { kind: 'done', applied };
        } catch (err) {
          if (err instanceof SessionGone) {
            this.sessionId = 0;
            this.nextSeq++;
            if (sawUnknown) return { kind: 'unknown' };
            break; // never applied: a new session, and again
          }
          if (isMaybeApplied(err)) sawUnknown = true;
          else if (!(err instanceof DuoraftError) || (err.code !== 'NOT_LEADER' && err.code !== 'BUSY' && err.code !== 'UNAVAILABLE')) {
            if (!sawUnknown) return { kind: 'failed', why: String(err) };
          }
          await this.redirect(node, err);
        }
      }
      if (this.sched.now() >= deadline) break;
    }
    this.nextSeq++;
    return sawUnknown ? { kind: 'unknown' } : { kind: 'failed', why: 'deadline' };
  }

  private async register(deadline: number): Promise<boolean> {
    while (this.sched.now() < deadline) {
      const node = await this.target();
      if (!node) continue;
      try {
        const a = await this.withTimeout(node.call((d) => d.submit({ kind: 'registerSession', timeoutMs: SESSION_TIMEOUT_MS })));
        if (a.result.ok && a.result.kind === 'session') {
          this.sessionId = a.result.sessionId;
          return true;
        }
      } catch (err) {
        await this.redirect(node, err);
      }
    }
    return false;
  }

  /**
   * Where to send the next attempt, as the real client picks it: the node the last
   * NOT_LEADER named, else the one the leader znode names, else (after waiting a little
   * for the znode to change) nobody yet.
   */
  private async target(): Promise<SimNode | null> {
    if (this.hinted) return this.nodes.get(this.hinted) ?? null;
    const named = this.named();
    if (named) return named;
    await this.discovery.changed(DISCOVERY_WAIT_MS);
    return this.named();
  }

  private named(): SimNode | null {
    const leader = this.discovery.current();
    const id = leader ? this.byAddress.get(leader.address) : undefined;
    return id ? (this.nodes.get(id) ?? null) : null;
  }

  /** After a failed attempt at `node`: follow a NOT_LEADER hint at once; else wait a little (or for the leader znode to change). */
  private async redirect(node: SimNode, err: unknown): Promise<void> {
    const hint = err instanceof NotLeaderError ? (this.byAddress.get(err.leaderAddress) ?? (this.nodes.has(err.leaderId) ? err.leaderId : undefined)) : undefined;
    if (hint !== undefined && hint !== node.id) {
      this.hinted = hint;
      return;
    }
    this.hinted = null;
    await this.discovery.changed(5 + this.sched.random.nextInt(20));
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.sched.schedule(ATTEMPT_TIMEOUT_MS, () => reject(new AttemptTimeout()));
      p.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (e: unknown) => {
          t.cancel();
          reject(e);
        },
      );
    });
  }
}

class AttemptTimeout extends Error {}
class SessionGone extends Error {}

/** Whether a failed attempt may still have taken effect. */
function isMaybeApplied(err: unknown): boolean {
  if (err instanceof AttemptTimeout) return true;
  return err instanceof DuoraftError && (err.code === 'UNKNOWN_OUTCOME' || err.code === 'TIMEOUT');
}
