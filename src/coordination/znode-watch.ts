// Keeps a watch on one znode for as long as it is wanted: ZooKeeper watches are
// one-shot, so every notification (and every reconnect, and every new session after an
// expiry) is followed by a fresh read that sets the watch again. Each read's result is
// reported, newest last; a read that fails is retried with a bounded backoff.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ZkSession, ZkStat } from './zk-api.js';
import { ZkError } from './zk-api.js';

export type ZnodeState = { readonly exists: true; readonly data: Uint8Array; readonly stat: ZkStat } | { readonly exists: false };

export interface ZnodeWatchOptions {
  readonly zk: ZkSession;
  readonly path: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Read only the stat (cheaper): data is then empty. */
  readonly statOnly?: boolean;
  readonly onChange: (state: ZnodeState) => void;
}

const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1000;

export class ZnodeWatch {
  private readonly o: ZnodeWatchOptions;
  private stopped = false;
  private reading = false;
  private again = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: TimerHandle | null = null;
  private readonly unsubscribe: () => void;
  /** One function for every read, so the ZooKeeper client holds one pending watch of ours, not one per read. */
  private readonly watcher = (): void => this.refresh();

  constructor(options: ZnodeWatchOptions) {
    this.o = options;
    this.unsubscribe = options.zk.onStateChange((state) => {
      // A new connection or session may have lost our watch: read again.
      if (state === 'connected') this.refresh();
    });
    this.refresh();
  }

  /** Reads now (coalesced with a read already under way). */
  refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read();
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.unsubscribe();
  }

  private async read(): Promise<void> {
    const watcher = this.watcher;
    try {
      let state: ZnodeState | null;
      if (this.o.statOnly) {
        const stat = await this.o.zk.exists(this.o.path, watcher);
        state = stat ? { exists: true, data: new Uint8Array(0), stat } : { exists: false };
      } else {
        try {
          const r = await this.o.zk.getData(this.o.path, watcher);
          state = { exists: true, data: r.data, stat: r.stat };
        } catch (err) {
          if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err;
          // getData on a missing znode sets no watch: exists() does. If it was created in
          // between, read it again rather than report it missing.
          const stat = await this.o.zk.exists(this.o.path, watcher);
          state = stat ? null : { exists: false };
          if (stat) this.again = true;
        }
      }
      if (state && !this.stopped) this.o.onChange(state);
      // Only a read whose result was taken resets the backoff: a znode that does not decode
      // (onChange throws) is read again at a growing interval, up to once a second, not
      // 100 times a second. Its repair is seen at once anyway: the read left the watch set.
      this.retryMs = RETRY_MIN_MS;
    } catch (err) {
      if (!this.stopped) this.scheduleRetry(err);
    } finally {
      this.reading = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.refresh();
      }
    }
  }

  private scheduleRetry(err: unknown): void {
    if (!(err instanceof ZkError)) {
      // The read worked but its data did not decode (or the handler threw): say so at the
      // pace of the backoff (at most once a second), since it will not heal by itself.
      this.o.logger.warn({ path: this.o.path, err, retryInMs: this.retryMs }, 'watched znode unusable; reading it again');
    } else if (err.code !== 'NOT_CONNECTED') {
      this.o.logger.debug({ path: this.o.path, code: err.code }, 'watch read failed; retrying');
    }
    this.retryTimer?.cancel();
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = null;
      this.refresh();
    }, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
