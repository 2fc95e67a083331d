// Where the leader is, as ZooKeeper says: the `leader` znode (written by the fence) and
// the members' ephemeral znodes. Callers wait for a change instead of polling.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { decodeLeader, decodeMember } from '../coordination/records.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { ZnodeWatch } from '../coordination/znode-watch.js';

export interface LeaderInfo {
  readonly id: string;
  readonly term: number;
  readonly address: string;
}

export class LeaderDiscovery {
  private leader: LeaderInfo | null = null;
  private readonly watch: ZnodeWatch;
  private waiters: Array<() => void> = [];
  private readonly moveWatchers = new Set<{ readonly address: string; readonly resolve: () => void }>();

  constructor(
    private readonly zk: ZkSession,
    private readonly paths: ClusterPaths,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.watch = new ZnodeWatch({
      zk,
      path: paths.leader,
      clock,
      logger,
      onChange: (st) => {
        try {
          this.leader = st.exists ? decodeLeader(paths.leader, st.data) : null;
        } catch {
          this.leader = null;
        }
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
        const now = this.leader;
        if (now) {
          for (const m of this.moveWatchers) {
            if (m.address === now.address) continue;
            this.moveWatchers.delete(m);
            m.resolve();
          }
        }
      },
    });
  }

  /**
   * Resolves once ZooKeeper names a leader at another address than `address`: a call in
   * flight there is then waiting on a member that lost its leadership (stalled, cut off),
   * and may go elsewhere at once instead of waiting out its timeout. One watcher per call
   * in flight; cancel() drops it.
   */
  movedAwayFrom(address: string): { readonly moved: Promise<void>; cancel(): void } {
    let watcher: { address: string; resolve: () => void } | undefined;
    const moved = new Promise<void>((resolve) => {
      watcher = { address, resolve };
      this.moveWatchers.add(watcher);
    });
    return {
      moved,
      cancel: () => {
        if (watcher) this.moveWatchers.delete(watcher);
      },
    };
  }

  current(): LeaderInfo | null {
    return this.leader;
  }

  /** Resolves when the leader znode changes, or after maxWaitMs, whichever is first. */
  changed(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimeout(finish, maxWaitMs);
      this.waiters.push(finish);
    });
  }

  private cached: { at: number; members: Array<{ id: string; address: string; kind: string }> } | null = null;

  /** members(), re-read at most once a second (stale reads pick a member per call). */
  async membersCached(): Promise<Array<{ id: string; address: string; kind: string }>> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < 1000) return this.cached.members;
    const members = await this.members();
    this.cached = { at: now, members };
    return members;
  }

  /** Every registered member and its address. */
  async members(): Promise<Array<{ id: string; address: string; kind: string }>> {
    const names = await this.zk.getChildren(this.paths.members);
    const out: Array<{ id: string; address: string; kind: string }> = [];
    for (const name of names.sort()) {
      try {
        const { data } = await this.zk.getData(this.paths.member(name));
        const m = decodeMember(this.paths.member(name), data);
        out.push({ id: m.id, address: m.address, kind: m.kind });
      } catch {
        // Gone between the listing and the read (a member stopping): skip it.
      }
    }
    return out;
  }

  close(): void {
    this.watch.stop();
    this.moveWatchers.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
