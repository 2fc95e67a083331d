// What the next Ready hands out, recorded as the node works (etcd keeps this apart from raft.go
// in rawnode.go's Ready and its bookkeeping): the messages to send, where the local WAL is no
// longer in step with the log (the unstable index, and what was handed out to persist), the
// soft and hard state last handed out, and the one-shot notices (leadership lost, relinquish or
// resume the lease, a snapshot installed, a divergence). RaftCore records into it at the points
// where these arise and, in ready(), hands it the parts it gathered elsewhere (committed
// entries, entries to mirror, the take-over request, ...) to assemble the Ready and forget what
// it handed out. It decides nothing of the node's own, except whether a relinquish is still
// current when collected (review 32), which depends only on the transfer it is given. Pure: no
// I/O, no clock.
import type { LeaderTransfer } from './leader-transfer.js';
import type { RaftLog } from './log.js';
import type { Message } from './messages.js';
import type { Divergence, LeadershipLost, Ready, SnapshotNeeded, SoftState } from './ready.js';
import type { TakeoverRequest } from './candidacy.js';
import type { ChainedEntry, HardState, SnapshotMeta } from './types.js';

/** What it reads of the log: where it ends, and the entries to persist. */
export type PendingReadyLog = Pick<RaftLog, 'lastIndex' | 'slice'>;

/** What it reads of a leadership transfer to judge whether a relinquish is still current. */
export type PendingReadyTransfer = Pick<LeaderTransfer, 'handedOver' | 'generation'>;

/** The local WAL's share of a Ready: a truncation mark, then the entries to append. */
export interface ToPersist {
  readonly truncateFrom: number | undefined;
  readonly entries: readonly ChainedEntry[];
}

/** What RaftCore gathered for a Ready from the parts that are not recorded here. */
export interface ReadyParts {
  readonly soft: SoftState;
  readonly hard: HardState;
  readonly persist: ToPersist;
  readonly committed: readonly ChainedEntry[];
  readonly toMirror: readonly ChainedEntry[];
  readonly takeover: TakeoverRequest | undefined;
  readonly handOverNote: string | undefined;
  readonly snapshotNeeded: SnapshotNeeded | undefined;
  /** The transfer as it stands when the Ready is collected. */
  readonly transfer: PendingReadyTransfer;
}

export class PendingReady {
  private readonly log: PendingReadyLog;
  private outbox: Message[] = [];
  /** The first entry the local WAL does not hold as the log has it (it must be written again from here). */
  private unstableFrom: number;
  /** The last entry handed out to persist. */
  private persistedLast: number;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private leadershipLostNote: LeadershipLost | undefined;
  /** The generation of the transfer whose hand-over asks the driver to relinquish the lease. */
  private relinquish: number | null = null;
  private resume = false;
  /** Follower: a snapshot was installed; the local WAL must start over after this point. */
  private logReset: SnapshotMeta | undefined;
  /** A divergence not handed out yet (it is handed out once). */
  private divergence: Divergence | undefined;

  /** `soft` and `hard`: the state the driver starts from (restored), handed out only when they change. */
  constructor(log: PendingReadyLog, soft: SoftState, hard: HardState) {
    this.log = log;
    this.unstableFrom = log.lastIndex() + 1;
    this.persistedLast = log.lastIndex();
    this.prevSoft = soft;
    this.prevHard = hard;
  }

  send(m: Message): void {
    this.outbox.push(m);
  }

  /** The log changed from `from` on: the local WAL must be written again from there. */
  markUnstable(from: number): void {
    if (from < this.unstableFrom) this.unstableFrom = from;
  }

  /** A snapshot was installed at `point`: the local WAL holds nothing after it, and starts over. */
  snapshotInstalled(point: SnapshotMeta): void {
    this.unstableFrom = point.index + 1;
    this.persistedLast = point.index;
    this.logReset = point;
  }

  /** This node stopped leading (a later loss before the next Ready replaces it). */
  leadershipLost(lost: LeadershipLost): void {
    this.leadershipLostNote = lost;
  }

  /** A leadership loss not handed out yet gets a more precise reason (none: nothing happens). */
  restateLeadershipLost(reason: string): void {
    if (this.leadershipLostNote) this.leadershipLostNote = { ...this.leadershipLostNote, reason };
  }

  /** The hand-over of transfer `generation` asks the driver to relinquish the lease. */
  relinquishLease(generation: number): void {
    this.relinquish = generation;
  }

  /** A transfer that relinquished the lease was given up: the driver takes it back. */
  resumeLease(): void {
    this.resume = true;
  }

  /** This node's committed log diverged: handed out once. */
  diverged(d: Divergence): void {
    this.divergence = d;
  }

  /** Whether anything recorded here waits to be handed out (the soft and hard state apart: softChanged, hardChanged). */
  hasPending(): boolean {
    return (
      this.outbox.length > 0 ||
      this.unstableFrom <= this.log.lastIndex() ||
      this.unstableFrom <= this.persistedLast ||
      this.leadershipLostNote !== undefined ||
      this.relinquish !== null ||
      this.resume ||
      this.divergence !== undefined ||
      this.logReset !== undefined
    );
  }

  /**
   * Whether `soft` differs from the soft state last handed out. Apart from hasPending so that
   * the node computes its state only when nothing else is pending, as it always did (the
   * digest of scripts/sim-digest.mjs counts every call of softState() and hardState()).
   */
  softChanged(soft: SoftState): boolean {
    return !sameSoft(this.prevSoft, soft);
  }

  /** Whether `hard` differs from the hard state last handed out. */
  hardChanged(hard: HardState): boolean {
    return !sameHard(this.prevHard, hard);
  }

  /** What the local WAL must write now: from the unstable index to the log's end. It counts as handed out. */
  takeToPersist(): ToPersist {
    let truncateFrom: number | undefined;
    if (this.unstableFrom <= this.persistedLast) truncateFrom = this.unstableFrom;
    const entries = this.log.slice(this.unstableFrom, this.log.lastIndex() + 1);
    this.unstableFrom = this.log.lastIndex() + 1;
    this.persistedLast = this.log.lastIndex();
    return { truncateFrom, entries };
  }

  /** Assembles the Ready from `parts` and what is recorded here, and forgets what it hands out. */
  collect(parts: ReadyParts): Ready {
    const { soft, hard, persist, transfer } = parts;
    // A hand-over whose transfer ended before this Ready was collected (its lease taken back
    // in this same Ready, its peer replaced, leadership lost): the driver carries out
    // resumeLease first, so a relinquish handed out with it would relinquish the lease just
    // taken back, and its TimeoutNow would go out for a transfer that is over (review 32).
    const relinquish = this.relinquish !== null && transfer.handedOver && this.relinquish === transfer.generation ? this.relinquish : null;
    // Only the current hand-over's TimeoutNow goes out. Transfers run one at a time, one
    // hand-over each, so when a newer one handed over before this Ready too, the ended one's
    // TimeoutNow is the earlier (review 34: the driver happened to send only the last).
    const current = relinquish === null ? -1 : this.outbox.map((m) => m.type).lastIndexOf('timeoutNow');
    const messages = this.relinquish !== null ? this.outbox.filter((m, i) => m.type !== 'timeoutNow' || i === current) : this.outbox;
    const rd: Ready = {
      ...(sameSoft(this.prevSoft, soft) ? {} : { softState: soft }),
      ...(sameHard(this.prevHard, hard) ? {} : { hardState: hard }),
      ...(persist.truncateFrom !== undefined ? { truncateFrom: persist.truncateFrom } : {}),
      entries: persist.entries,
      messages,
      committed: parts.committed,
      toMirror: parts.toMirror,
      ...(parts.takeover ? { takeover: parts.takeover } : {}),
      ...(this.leadershipLostNote ? { leadershipLost: this.leadershipLostNote } : {}),
      ...(relinquish !== null ? { relinquishLease: relinquish } : {}),
      ...(this.resume ? { resumeLease: true } : {}),
      ...(parts.handOverNote !== undefined ? { handOverUnconfirmed: parts.handOverNote } : {}),
      ...(this.divergence ? { diverged: this.divergence } : {}),
      ...(parts.snapshotNeeded ? { snapshotNeeded: parts.snapshotNeeded } : {}),
      ...(this.logReset ? { logReset: this.logReset } : {}),
    };
    this.logReset = undefined;
    this.divergence = undefined;
    this.prevSoft = soft;
    this.prevHard = hard;
    this.outbox = [];
    this.leadershipLostNote = undefined;
    this.relinquish = null;
    this.resume = false;
    return rd;
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.term === b.term && a.leaderId === b.leaderId;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.commit === b.commit;
}
