// A ZkSession that passes everything to a real one and counts: calls per kind, and the
// most multis it ever had in flight at once. For tests that assert what a piece of code
// asks ZooKeeper (no getChildren of wal/, one chunk in flight, bounded multis).
import type { ZkConnectionState, ZkCreateMode, ZkOp, ZkOpResult, ZkSession, ZkStat, ZkWatcher } from '../../src/coordination/zk-api.js';

export class CountingSession implements ZkSession {
  readonly calls: string[] = [];
  readonly multis: Array<readonly ZkOp[]> = [];
  multisInFlight = 0;
  maxMultisInFlight = 0;

  constructor(private readonly inner: ZkSession) {}

  get state(): ZkConnectionState {
    return this.inner.state;
  }
  get sessionId(): string {
    return this.inner.sessionId;
  }
  get sessionTimeoutMs(): number {
    return this.inner.sessionTimeoutMs;
  }

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }

  reset(): void {
    this.calls.length = 0;
    this.multis.length = 0;
    this.maxMultisInFlight = 0;
  }

  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    this.calls.push(`getData ${path}`);
    return this.inner.getData(path, watcher);
  }
  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    this.calls.push(`exists ${path}`);
    return this.inner.exists(path, watcher);
  }
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    this.calls.push(`getChildren ${path}`);
    return this.inner.getChildren(path, watcher);
  }
  create(path: string, data: Uint8Array, mode: ZkCreateMode): Promise<string> {
    this.calls.push(`create ${path}`);
    return this.inner.create(path, data, mode);
  }
  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    this.calls.push(`setData ${path}`);
    return this.inner.setData(path, data, version);
  }
  delete(path: string, version: number): Promise<void> {
    this.calls.push(`delete ${path}`);
    return this.inner.delete(path, version);
  }
  async multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    this.calls.push(`multi ${ops.length}`);
    this.multis.push(ops);
    this.multisInFlight++;
    this.maxMultisInFlight = Math.max(this.maxMultisInFlight, this.multisInFlight);
    try {
      return await this.inner.multi(ops);
    } finally {
      this.multisInFlight--;
    }
  }
  sync(path: string): Promise<void> {
    this.calls.push('sync');
    return this.inner.sync(path);
  }
  onStateChange(listener: (state: ZkConnectionState) => void): () => void {
    return this.inner.onStateChange(listener);
  }
  waitConnected(timeoutMs: number): Promise<void> {
    return this.inner.waitConnected(timeoutMs);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
