// A ZooKeeper session seen through a process's gate: replies, watch events and state
// changes reach the process only while it runs (queued while paused, dropped once dead).
import type { ZkConnectionState, ZkOp, ZkOpResult, ZkSession, ZkStat, ZkWatcher } from '../../../src/coordination/zk-api.js';
import type { NodeGate } from './node-gate.js';

export class GatedZkSession implements ZkSession {
  constructor(
    private readonly inner: ZkSession,
    private readonly gate: NodeGate,
  ) {}

  get state(): ZkConnectionState {
    return this.inner.state;
  }

  get sessionId(): string {
    return this.inner.sessionId;
  }

  get sessionTimeoutMs(): number {
    return this.inner.sessionTimeoutMs;
  }

  private gated<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      p.then(
        (v) => this.gate.deliver(() => resolve(v)),
        (e: unknown) => this.gate.deliver(() => reject(e)),
      );
    });
  }

  private watcher(w: ZkWatcher | undefined): ZkWatcher | undefined {
    return w ? (ev) => this.gate.deliver(() => w(ev)) : undefined;
  }

  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    return this.gated(this.inner.getData(path, this.watcher(watcher)));
  }

  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    return this.gated(this.inner.exists(path, this.watcher(watcher)));
  }

  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.gated(this.inner.getChildren(path, this.watcher(watcher)));
  }

  create(path: string, data: Uint8Array, mode: Parameters<ZkSession['create']>[2]): Promise<string> {
    return this.gated(this.inner.create(path, data, mode));
  }

  setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    return this.gated(this.inner.setData(path, data, version));
  }

  delete(path: string, version: number): Promise<void> {
    return this.gated(this.inner.delete(path, version));
  }

  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    return this.gated(this.inner.multi(ops));
  }

  sync(path: string): Promise<void> {
    return this.gated(this.inner.sync(path));
  }

  onStateChange(listener: (state: ZkConnectionState) => void): () => void {
    return this.inner.onStateChange((s) => this.gate.deliver(() => listener(s)));
  }

  waitConnected(timeoutMs: number): Promise<void> {
    return this.gated(this.inner.waitConnected(timeoutMs));
  }

  close(): Promise<void> {
    return this.gated(this.inner.close());
  }
}
