// The client service of a listener (PROTOCOL.md section 6, S4): it serves `stale` reads,
// each with the index it reflects, and waits (bounded) for a minimum index when the client
// passes one (read-your-writes). Writes and reads of any other consistency go to the leader:
// NOT_LEADER with the leader's address as ZooKeeper names it.
import type { Clock } from '../../common/clock.js';
import { InvalidArgumentError, NotLeaderError, type LeaderHint, UnavailableError } from '../../common/errors.js';
import { validateKey } from '../../statemachine/command.js';
import { AppliedWaiters } from '../applied-waiters.js';
import type { KvMember, ListenerStatusView } from '../kv-operations.js';
import type { ReadResult } from '../applier.js';
import type { Consistency, MemberStatus } from '../client-api.js';
import type { Applied } from '../proposals.js';
import type { SnapshotTaken } from '../snapshotter.js';
import type { TransferOutcome } from '../transfer-outcome.js';
import type { ListenerLog } from './listener-log.js';

export interface ListenerMemberOptions {
  readonly id: string;
  readonly address: string;
  readonly clock: Clock;
  readonly log: ListenerLog;
  readonly requestTimeoutMs: number;
  readonly maxPendingReads: number;
  readonly leaderHint: () => LeaderHint;
  readonly listenerStatus: () => ListenerStatusView;
}

export class ListenerMember implements KvMember {
  readonly id: string;
  private readonly o: ListenerMemberOptions;
  private readonly waiters: AppliedWaiters;
  private stopped = false;

  constructor(options: ListenerMemberOptions) {
    this.o = options;
    this.id = options.id;
    this.waiters = new AppliedWaiters(options.clock, options.maxPendingReads, () => options.log.applied());
  }

  /** Entries were applied: wake the reads waiting for them. */
  applied(): void {
    this.waiters.notify(this.o.log.applied());
  }

  stop(): void {
    this.stopped = true;
    this.waiters.failAll(() => new UnavailableError('this listener is shutting down'));
  }

  submit(): Promise<Applied> {
    return Promise.reject(new NotLeaderError(this.o.leaderHint(), `${this.id} is a listener and takes no writes; write to the leader${this.hintText()}`));
  }

  async read(key: string, consistency: Consistency, minIndex = 0): Promise<ReadResult> {
    validateKey(key);
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new InvalidArgumentError('minIndex must be a non-negative integer');
    if (this.stopped) throw new UnavailableError('this listener is shutting down');
    if (consistency !== 'stale') {
      throw new NotLeaderError(this.o.leaderHint(), `${this.id} is a listener: it serves stale reads only; ask the leader for ${consistency} reads${this.hintText()}`);
    }
    await this.waiters.waitFor(minIndex, this.o.requestTimeoutMs);
    const store = this.o.log.store();
    const value = store.get(key);
    return { found: value !== undefined, value: value ?? new Uint8Array(0), index: store.applied() };
  }

  status(): Omit<MemberStatus, 'role'> & { role: string; listener: ListenerStatusView } {
    const applied = this.o.log.applied();
    return {
      id: this.id,
      role: 'listener',
      term: this.o.log.appliedTerm(),
      commitIndex: applied,
      appliedIndex: applied,
      lastIndex: applied,
      leaderId: this.o.leaderHint().leaderId,
      address: this.o.address,
      // Not reported for a listener (its own snapshots, taken on its schedule, are never
      // uploaded), and only the leader counts ZooKeeper's budget: zeros and null, as for a
      // voter that has no snapshot yet.
      snapshotIndex: 0,
      snapshotBytes: 0,
      zkBudget: null,
      listener: this.o.listenerStatus(),
    };
  }

  hint(): LeaderHint {
    return this.o.leaderHint();
  }

  peerId(): string {
    return '';
  }

  transferLeadership(): Promise<TransferOutcome> {
    return Promise.reject(new NotLeaderError(this.o.leaderHint(), `${this.id} is a listener; ask the leader`));
  }

  /** Never: a listener does not lead. */
  transferUnderWay(): boolean {
    return false;
  }

  takeSnapshot(): Promise<SnapshotTaken> {
    return Promise.reject(new UnavailableError(`${this.id} is a listener: it snapshots on its own schedule only; ask a voter (or the leader, which also publishes it)`));
  }

  /** Never: a listener refuses every write with NOT_LEADER before the budget matters. */
  zkBudgetRefusesGrowth(): boolean {
    return false;
  }

  /** Never: a listener refuses every write with NOT_LEADER first. */
  zkBudgetCeiling(): string | null {
    return null;
  }

  private hintText(): string {
    const h = this.o.leaderHint();
    return h.leaderId ? ` (${h.leaderId} at ${h.leaderAddress})` : '';
  }
}
