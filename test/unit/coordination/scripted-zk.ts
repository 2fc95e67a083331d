// A small scripted ZkSession for unit tests of the coordination code: an in-memory tree
// with versions, multi, ephemerals and sessions, where a test decides what goes wrong
// (a multi that fails with a given code, applied or not; a session that expires; reads
// served by a lagging server until sync()). Answers come on a microtask. The simulator's
// full model (test/simulation/zk-model) is checked against a real server; this one only
// has to be right about what the tests here use.
import type { ZkConnectionState, ZkCreateMode, ZkErrorCode, ZkOp, ZkOpResult, ZkSession, ZkStat, ZkWatcher } from '../../../src/coordination/zk-api.js';
import { ZkError } from '../../../src/coordination/zk-api.js';

interface Node {
  data: Uint8Array;
  version: number;
  owner: string;
}

export class ScriptedZk implements ZkSession {
  state: ZkConnectionState = 'connected';
  sessionId = '0000000000000001';
  readonly sessionTimeoutMs = 4000;
  readonly tree = new Map<string, Node>();
  /** Reads of these paths answer this (stale) content until sync() or a session change. */
  private stale = new Map<string, { data: Uint8Array; version: number }>();
  private readonly failures: Array<{ code: ZkErrorCode; apply: boolean }> = [];
  private readonly listeners = new Set<(s: ZkConnectionState) => void>();
  private sessions = 1;
  readonly calls: string[] = [];
  /** Runs after a multi took effect (scripting what happens right after, e.g. an expiry). */
  afterMulti: ((ops: readonly ZkOp[]) => void) | null = null;

  // ------------------------------------------------------------ scripting

  /** The next multi fails with code; if apply, it took effect anyway (a lost reply). */
  failNextMulti(code: ZkErrorCode, apply = false): void {
    this.failures.push({ code, apply });
  }

  /** From now until sync(), reads of path return what it holds now (the server lags). */
  lagOn(path: string): void {
    const n = this.tree.get(path);
    if (n) this.stale.set(path, { data: n.data, version: n.version });
  }

  /** Until sync() or a session change, reads of path return this instead of the truth. */
  serveStale(path: string, data: Uint8Array, version: number): void {
    this.stale.set(path, { data, version });
  }

  /** The session expires: its ephemerals go; a new session starts, on a server that lags as scripted with lagOn. */
  expireSession(): void {
    for (const [p, n] of this.tree) if (n.owner === this.sessionId) this.tree.delete(p);
    this.emit('expired');
    this.sessions++;
    this.sessionId = this.sessions.toString(16).padStart(16, '0');
    this.emit('connected');
  }

  put(path: string, data: Uint8Array, version = 1, owner = ''): void {
    this.tree.set(path, { data, version, owner });
  }

  // ------------------------------------------------------------ ZkSession

  getData(path: string, _w?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    this.calls.push(`getData ${path}`);
    const s = this.stale.get(path);
    if (s) return this.answer(() => ({ data: s.data, stat: this.stat(s.version, '', s.data.length) }));
    return this.answer(() => {
      const n = this.need(path);
      return { data: n.data, stat: this.stat(n.version, n.owner, n.data.length) };
    });
  }

  exists(path: string, _w?: ZkWatcher): Promise<ZkStat | null> {
    this.calls.push(`exists ${path}`);
    return this.answer(() => {
      const n = this.tree.get(path);
      return n ? this.stat(n.version, n.owner, n.data.length) : null;
    });
  }

  getChildren(path: string, _w?: ZkWatcher): Promise<string[]> {
    this.calls.push(`getChildren ${path}`);
    return this.answer(() =>
      [...this.tree.keys()].filter((p) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/')).map((p) => p.slice(path.length + 1)),
    );
  }

  create(path: string, data: Uint8Array, mode: ZkCreateMode): Promise<string> {
    return this.multi([{ type: 'create', path, data, mode }]).then(() => path);
  }

  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    return this.multi([{ type: 'setData', path, data, version }]).then((r) => (r[0] as { stat: ZkStat }).stat);
  }

  delete(path: string, version: number): Promise<void> {
    return this.multi([{ type: 'delete', path, version }]).then(() => undefined);
  }

  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    this.calls.push(`multi ${ops.map((o) => `${o.type} ${o.path}`).join(', ')}`);
    const failure = this.failures.shift();
    if (failure) {
      return this.answer(() => {
        if (failure.apply) this.apply(ops);
        throw new ZkError(failure.code, '', `scripted ${failure.code}`);
      });
    }
    return this.answer(() => {
      const r = this.apply(ops);
      this.afterMulti?.(ops);
      return r;
    });
  }

  sync(_path: string): Promise<void> {
    this.calls.push('sync');
    this.stale.clear();
    return this.answer(() => undefined);
  }

  onStateChange(listener: (state: ZkConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  waitConnected(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.state = 'closed';
    return Promise.resolve();
  }

  // ------------------------------------------------------------ internals

  private apply(ops: readonly ZkOp[]): ZkOpResult[] {
    const copy = new Map([...this.tree].map(([p, n]) => [p, { ...n }]));
    const results: ZkOpResult[] = [];
    ops.forEach((op, k) => {
      const n = copy.get(op.path);
      const fail = (code: ZkErrorCode): never => {
        throw new ZkError(code, op.path, `${code} at ${op.path}`, k);
      };
      switch (op.type) {
        case 'check':
          if (!n) fail('NO_NODE');
          if (op.version !== -1 && n!.version !== op.version) fail('BAD_VERSION');
          results.push({ type: 'check' });
          break;
        case 'create':
          if (n) fail('NODE_EXISTS');
          copy.set(op.path, { data: op.data, version: 0, owner: op.mode.startsWith('ephemeral') ? this.sessionId : '' });
          results.push({ type: 'create', path: op.path });
          break;
        case 'setData':
          if (!n) fail('NO_NODE');
          if (op.version !== -1 && n!.version !== op.version) fail('BAD_VERSION');
          n!.data = op.data;
          n!.version++;
          results.push({ type: 'setData', stat: this.stat(n!.version, n!.owner, op.data.length) });
          break;
        case 'delete':
          if (!n) fail('NO_NODE');
          if (op.version !== -1 && n!.version !== op.version) fail('BAD_VERSION');
          copy.delete(op.path);
          results.push({ type: 'delete' });
          break;
      }
    });
    this.tree.clear();
    for (const [p, n] of copy) this.tree.set(p, n);
    return results;
  }

  private need(path: string): Node {
    const n = this.tree.get(path);
    if (!n) throw new ZkError('NO_NODE', path);
    return n;
  }

  private stat(version: number, owner: string, dataLength: number): ZkStat {
    return { version, cversion: 0, ephemeralOwner: owner, dataLength, numChildren: 0, mzxid: 0n };
  }

  private answer<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queueMicrotask(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private emit(s: ZkConnectionState): void {
    this.state = s === 'expired' ? 'expired' : s;
    for (const l of [...this.listeners]) l(s);
  }
}
