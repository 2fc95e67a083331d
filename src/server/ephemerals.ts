// The ephemeral znodes of a voter: members/<id> (where to reach it) and, while it leads,
// `leader` (how clients find the leader). Both die with the ZooKeeper session that made
// them, so they are restored for the role the node holds NOW after every new session, and
// retried until done (PROTOCOL.md R4).
//
// The `leader` znode is made first by the fence multi, in whatever session the fence ran;
// that session can expire before the take-over even finishes. So when the node starts to
// lead, when its session changes, and when the watch sees the znode gone or not ours, this
// checks that the znode exists, is owned by the current session and names this node and
// term, and otherwise recreates it in a multi that checks the epoch (never for a term that
// was fenced meanwhile).
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { registerMember } from '../coordination/membership.js';
import { decodeLeader, encodeLeader, type MemberRecord } from '../coordination/records.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { ZkError } from '../coordination/zk-api.js';
import type { NodeId } from '../core/types.js';

/** The term this node leads and the epoch version that proves it. */
export interface LeaderClaim {
  readonly term: number;
  readonly epochVersion: number;
}

export interface EphemeralsOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly selfId: NodeId;
  /** What clients use to reach this node (goes into the leader znode). */
  readonly address: string;
  readonly member: MemberRecord;
  /** The epoch moved past the claim: another node took over. */
  readonly onFenced: (term: number, reason: string) => void;
}

const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1000;

export class Ephemerals {
  private readonly o: EphemeralsOptions;
  private claim: LeaderClaim | null = null;
  private running = false;
  private again = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(options: EphemeralsOptions) {
    this.o = options;
    this.unsubscribe = options.zk.onStateChange((state) => {
      // A new session (after an expiry) has none of our ephemerals; a reconnect of the same
      // session has them all, and the check below is cheap.
      if (state === 'connected') this.ensure();
    });
  }

  /** This node leads `claim.term` now (null: it leads nothing). */
  setLeaderClaim(claim: LeaderClaim | null): void {
    this.claim = claim;
    if (claim) this.ensure();
  }

  /** The leader watch read the znode (null: missing). */
  leaderZnodeSeen(owner: string | null, id: NodeId | null, term: number): void {
    const c = this.claim;
    if (!c) return;
    if (owner !== this.o.zk.sessionId || id !== this.o.selfId || term !== c.term) this.ensure();
  }

  /** Checks (and restores) everything now, coalesced with a check under way. */
  ensure(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.unsubscribe();
  }

  private async run(): Promise<void> {
    try {
      await this.ensureMember();
      await this.ensureLeader();
      this.retryMs = RETRY_MIN_MS;
    } catch (err) {
      if (!this.stopped) this.scheduleRetry(err);
    } finally {
      this.running = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.ensure();
      }
    }
  }

  private async ensureMember(): Promise<void> {
    const { zk, paths, member } = this.o;
    const st = await zk.exists(paths.member(member.id));
    if (st && st.ephemeralOwner === zk.sessionId) return;
    await registerMember(zk, paths, member);
    this.o.logger.info({ sessionId: zk.sessionId }, 'member znode restored');
  }

  private async ensureLeader(): Promise<void> {
    const claim = this.claim;
    if (!claim) return;
    const { zk, paths, selfId, address } = this.o;
    let exists = false;
    try {
      const { data, stat } = await zk.getData(paths.leader);
      exists = true;
      const r = decodeLeader(paths.leader, data);
      if (stat.ephemeralOwner === zk.sessionId && r.id === selfId && r.term === claim.term) return;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err;
    }
    if (this.claim !== claim) return;
    try {
      await zk.multi([
        { type: 'check', path: paths.epoch, version: claim.epochVersion },
        ...(exists ? [{ type: 'delete' as const, path: paths.leader, version: -1 }] : []),
        { type: 'create', path: paths.leader, data: encodeLeader({ id: selfId, term: claim.term, address }), mode: 'ephemeral' },
      ]);
      this.o.logger.info({ term: claim.term, sessionId: zk.sessionId }, 'leader znode restored');
    } catch (err) {
      if (err instanceof ZkError && err.code === 'BAD_VERSION' && err.failedOp === 0) {
        if (this.claim === claim) {
          this.claim = null;
          this.o.onFenced(claim.term, 'the epoch moved while restoring the leader znode');
        }
        return;
      }
      throw err;
    }
  }

  private scheduleRetry(err: unknown): void {
    const code = err instanceof ZkError ? err.code : 'OTHER';
    if (code !== 'NOT_CONNECTED') this.o.logger.warn({ code, err: (err as Error).message }, 'could not restore ephemeral znodes yet; retrying');
    this.retryTimer?.cancel();
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = null;
      this.ensure();
    }, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
