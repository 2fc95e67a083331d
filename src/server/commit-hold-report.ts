// Tells the operator when a follower's commit index is held for long: its leader's term is
// not vouched for by ZooKeeper's epoch as this node sees it (the commit gate of fuzz finding
// 9, RaftCore.commitHeld). Every failover holds it for the few ms between the new leader's
// first message and the epoch watch, which is not worth a line; a hold that lasts means this
// node does not see ZooKeeper (or its epoch watch), and meanwhile it takes the leader's
// entries, at most the core's bound past its commit index, but applies none of them, so its
// stale reads fall behind. One warning when it has lasted warnAfterMs, then one every
// everyMs while it lasts (with the duration so far), and one line when it ends.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';

export interface CommitHoldSample {
  /** The leader's term, and the highest one ZooKeeper vouched for here. */
  readonly term: number;
  readonly trustedTerm: number;
  readonly leaderId: string;
  readonly commit: number;
  readonly lastIndex: number;
}

/** A hold shorter than this is a failover's normal race with the epoch watch: not logged. */
export const COMMIT_HOLD_WARN_AFTER_MS = 1000;
/** While a hold lasts, at most one warning per this interval. */
export const COMMIT_HOLD_WARN_EVERY_MS = 10_000;

export class CommitHoldReport {
  private since: number | null = null;
  private lastWarnAt: number | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly warnAfterMs = COMMIT_HOLD_WARN_AFTER_MS,
    private readonly everyMs = COMMIT_HOLD_WARN_EVERY_MS,
  ) {}

  /** Whether a hold is under way (since the first sample that showed it). */
  get holding(): boolean {
    return this.since !== null;
  }

  /** The node's state now; call it often (every tick). `sample` is read only while held or ending a hold. */
  note(held: boolean, sample: () => CommitHoldSample): void {
    const now = this.clock.now();
    if (!held) {
      if (this.since !== null && this.lastWarnAt !== null) {
        const s = sample();
        this.logger.info({ term: s.term, leader: s.leaderId, commit: s.commit, heldMs: Math.round(now - this.since) }, 'commit index released: ZooKeeper vouched for the leader term');
      }
      this.since = null;
      this.lastWarnAt = null;
      return;
    }
    if (this.since === null) this.since = now;
    const heldMs = now - this.since;
    if (heldMs < this.warnAfterMs) return;
    if (this.lastWarnAt !== null && now - this.lastWarnAt < this.everyMs) return;
    this.lastWarnAt = now;
    const s = sample();
    this.logger.warn(
      { term: s.term, trustedTerm: s.trustedTerm, leader: s.leaderId, commit: s.commit, lastIndex: s.lastIndex, heldEntries: s.lastIndex - s.commit, heldMs: Math.round(heldMs) },
      "commit index held: the leader's term is not in ZooKeeper's epoch as this node sees it (is ZooKeeper reachable from here?); its entries are taken, up to a bound, but not committed or applied until it is",
    );
  }
}
