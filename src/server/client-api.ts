// A voter's client-facing API, kept apart from the node driver as etcd keeps its v3 server
// apart from its Raft node: the requests a member answers (a write, a read at each
// consistency) and what it reports (status for clients and operators, figures for metrics,
// health and the listeners' feed, inspect for tests and the simulator).
//
// Nothing here orders a Ready's side effects; the driver does. A write is proposed to the
// core, then the driver's loop is asked to run (schedule) and carries it out in its order;
// the applier answers it once its entry is committed in ZooKeeper and applied (S2,
// notes/safety.md). A read is answered from the state machine once it has applied the index
// that makes the read current (S4). A request checks the role the driver last carried out
// (its soft state), not the core's newest, so no request runs ahead of the loop.
import type { Clock } from '../common/clock.js';
import { BusyError, InvalidArgumentError, type LeaderHint, NotLeaderError, UnavailableError } from '../common/errors.js';
import { SEGMENT_ENTRY_OVERHEAD_BYTES } from '../coordination/records.js';
import type { RaftCore, Role, SoftState } from '../core/raft.js';
import type { Entry, NodeId } from '../core/types.js';
import { encodeCommand, type KvCommand, validateCommand, validateKey, type WriteContext } from '../statemachine/command.js';
import type { KvStore } from '../statemachine/kv-store.js';
import type { Applier, ReadResult } from './applier.js';
import type { LeaderTerm } from './leadership.js';
import type { NodeConfig } from './node-config.js';
import type { NodeFigures } from './node-figures.js';
import type { Applied } from './proposals.js';
import type { ReadIndexQueue } from './read-index.js';
import type { Snapshotter } from './snapshotter.js';
import type { ZkBudgetStatus } from './zk-budget.js';

export type Consistency = 'linearizable' | 'lease' | 'stale';

export interface MemberStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly leaderId: NodeId;
  readonly address: string;
  /** The newest local snapshot (0: none) and its file's size. */
  readonly snapshotIndex: number;
  readonly snapshotBytes: number;
  /** Leader, once counted: what the cluster keeps in ZooKeeper against its budget. */
  readonly zkBudget: ZkBudgetStatus | null;
}

/** What inspect() shows of a running voter (the simulator's invariants read it after every event). */
export interface NodeView {
  commitIndex: number;
  appliedIndex: number;
  kv: KvStore;
  softState: SoftState;
  entryAt: (index: number) => Entry | undefined;
  leaseHolds: boolean;
}

/** What the API asks of the driver: its state as the loop last carried it out, and its loop. */
export interface ClientApiHost {
  /** The role, term and leader of the last Ready carried out. */
  soft(): SoftState;
  /** The leader term under way (null when not leading). */
  leading(): Pick<LeaderTerm, 'mirrorBacklog' | 'leaseHolds'> | null;
  stopped(): boolean;
  hint(): LeaderHint;
  zkConnected(): boolean;
  /** Asks the driver's loop to carry out what the core has ready. */
  schedule(): void;
  /** Waits until the role changes or the deadline passes (the driver's bounded role waiters). */
  waitForRoleChange(deadline: number, busyMessage: string): Promise<void>;
}

export interface ClientApiOptions {
  readonly host: ClientApiHost;
  readonly config: NodeConfig;
  readonly clock: Clock;
  readonly core: Pick<RaftCore, 'propose' | 'status' | 'commitIndex' | 'committedInCurrentTerm' | 'isTransferring' | 'softState' | 'entryAt' | 'ticksSinceLeaderContact'>;
  readonly applier: Applier;
  readonly reads: Pick<ReadIndexQueue, 'request'>;
  readonly snapshotter: Pick<Snapshotter, 'status' | 'zkBudget'>;
}

/** How long a request waits for a take-over under way to finish. */
const TAKEOVER_HOLD_MS = 2000;

export class ClientApi {
  private readonly host: ClientApiHost;
  private readonly cfg: NodeConfig;
  private readonly clock: Clock;
  private readonly core: ClientApiOptions['core'];
  private readonly applier: Applier;
  private readonly reads: ClientApiOptions['reads'];
  private readonly snapshotter: ClientApiOptions['snapshotter'];
  /** Why this member stopped serving, once its state could not be trusted: what clients and health are told. */
  private fatal: string | null = null;

  constructor(options: ClientApiOptions) {
    this.host = options.host;
    this.cfg = options.config;
    this.clock = options.clock;
    this.core = options.core;
    this.applier = options.applier;
    this.reads = options.reads;
    this.snapshotter = options.snapshotter;
  }

  /** The member stopped serving for good (the driver's fail()): requests are refused with `reason` from now on. */
  stoppedServing(reason: string): void {
    this.fatal = reason;
  }

  /** Why the member stopped serving; null while it serves (or merely shuts down). */
  fatalReason(): string | null {
    return this.fatal;
  }

  /**
   * A write (or a session command). Resolves once the entry is committed in ZooKeeper and
   * applied. With a write context it is executed at most once however often it is retried.
   */
  async submit(command: KvCommand, ctx?: WriteContext): Promise<Applied> {
    validateCommand(command, this.cfg.limits.maxValueBytes, ctx);
    if (this.host.stopped()) throw this.stoppedError();
    await this.waitWhileUnsettled();
    // The member may have stopped during the wait, or in the turn since the check above:
    // stop() closes the leader term but leaves the role, so without this the write would
    // be pointed at this very member as the leader.
    if (this.host.stopped()) throw this.stoppedError();
    const leading = this.host.leading();
    if (this.host.soft().role !== 'leader' || !leading) throw new NotLeaderError(this.host.hint());
    // Entries of proposals that timed out stay in the mirror's queue: bound it too.
    if (this.applier.proposals.isFull() || leading.mirrorBacklog() >= this.cfg.limits.maxPendingProposals) throw new BusyError(20, this.host.hint());
    const stamp = this.applier.nextStamp(this.clock.wallNow());
    const data = encodeCommand(command, stamp, ctx);
    // One entry must fit one segment znode, well below ZooKeeper's jute.maxbuffer (R5):
    // refused here, before it is in the log, it can do no harm and a retry is refused too.
    if (data.length + SEGMENT_ENTRY_OVERHEAD_BYTES > this.cfg.limits.maxSegmentBytes) {
      throw new InvalidArgumentError(
        `the command encodes to ${data.length} bytes; one log entry holds at most ${this.cfg.limits.maxSegmentBytes - SEGMENT_ENTRY_OVERHEAD_BYTES} bytes (a cas carries two values): use smaller values`,
      );
    }
    const r = this.core.propose([data]);
    if (!r.ok) {
      throw r.reason === 'transferring'
        ? new NotLeaderError(this.host.hint(), 'leadership is being transferred; retry shortly')
        : r.reason === 'lease-lapsed'
          ? new NotLeaderError({ leaderId: '', leaderAddress: '' }, 'the leader cannot reach ZooKeeper right now; retry shortly')
          : new NotLeaderError(this.host.hint());
    }
    const applied = this.applier.proposals.add(r.firstIndex, r.term, this.cfg.limits.requestTimeoutMs, command.kind === 'put');
    this.host.schedule();
    return applied;
  }

  async read(key: string, consistency: Consistency, minIndex = 0): Promise<ReadResult> {
    validateKey(key);
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new InvalidArgumentError('minIndex must be a non-negative integer');
    if (this.host.stopped()) throw this.stoppedError();
    const timeout = this.cfg.limits.requestTimeoutMs;
    if (consistency === 'stale') {
      await this.applier.appliedWaiters.waitFor(minIndex, timeout);
      return this.applier.read(key);
    }
    await this.waitWhileUnsettled();
    // As in submit: a read that went on after stop() would queue for a ReadIndex round no
    // loop kicks again (the role still says leader, no leader term serves it) and never settle.
    if (this.host.stopped()) throw this.stoppedError();
    if (this.host.soft().role !== 'leader') throw new NotLeaderError(this.host.hint());
    if (consistency === 'lease' && this.host.leading()?.leaseHolds() && this.core.committedInCurrentTerm()) {
      // No other leader can commit while our lease holds (notes/timing.md): the commit
      // index now is the latest committed state.
      await this.applier.appliedWaiters.waitFor(this.core.commitIndex(), timeout);
      return this.applier.read(key);
    }
    const readIndex = await this.reads.request(timeout);
    await this.applier.appliedWaiters.waitFor(readIndex, timeout);
    return this.applier.read(key);
  }

  private stoppedError(): UnavailableError {
    return new UnavailableError(this.fatal ? `this member stopped serving: ${this.fatal}; it rebuilds from ZooKeeper when restarted` : 'this member is shutting down');
  }

  /**
   * A client that reaches a node in the middle of taking over, or a leader handing over,
   * waits for the outcome (bounded) instead of being sent away to retry: then it either
   * proceeds or is pointed at the new leader.
   */
  private async waitWhileUnsettled(): Promise<void> {
    const deadline = this.clock.now() + TAKEOVER_HOLD_MS;
    const unsettled = (): boolean => this.host.soft().role === 'candidate' || (this.host.soft().role === 'leader' && this.core.isTransferring());
    while (unsettled() && !this.host.stopped() && this.clock.now() < deadline) {
      await this.host.waitForRoleChange(deadline, 'too many requests waiting for a take-over');
    }
  }

  status(): MemberStatus {
    const s = this.core.status();
    const snap = this.snapshotter.status();
    return {
      id: this.cfg.id,
      role: s.role,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: this.applier.appliedIndex(),
      lastIndex: s.lastIndex,
      leaderId: s.leaderId,
      address: this.cfg.advertise,
      snapshotIndex: snap.index,
      snapshotBytes: snap.sizeBytes,
      zkBudget: s.role === 'leader' ? this.snapshotter.zkBudget() : null,
    };
  }

  /** Read-only figures for metrics and health (node-figures.ts). */
  figures(): NodeFigures {
    const s = this.core.status();
    const snap = this.snapshotter.status();
    return {
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commit,
      appliedIndex: this.applier.appliedIndex(),
      lastIndex: s.lastIndex,
      pendingProposals: this.applier.proposals.size(),
      mirrorBacklog: this.host.leading()?.mirrorBacklog() ?? 0,
      leaseHolds: this.host.leading()?.leaseHolds() ?? false,
      committedInTerm: this.core.committedInCurrentTerm(),
      transferring: s.transferring,
      leaderContactAgeMs: this.leaderContactAgeMs(),
      zkConnected: this.host.zkConnected(),
      commitHeld: s.commitHeld,
      stopped: this.host.stopped(),
      fatalReason: this.fatal,
      snapshotIndex: snap.index,
      snapshotBytes: snap.sizeBytes,
      zkBudget: s.role === 'leader' ? this.snapshotter.zkBudget() : null,
    };
  }

  /** How long ago this node last heard from a leader, in ms. */
  leaderContactAgeMs(): number {
    return this.core.ticksSinceLeaderContact() * this.cfg.timing.tickMs;
  }

  /** For tests and the simulator: the core's view, its log and the state machine. */
  inspect(): NodeView {
    // Called after every simulated event: kept to plain reads (no status() object).
    return {
      commitIndex: this.core.commitIndex(),
      appliedIndex: this.applier.appliedIndex(),
      kv: this.applier.store(),
      softState: this.core.softState(),
      entryAt: (index) => this.core.entryAt(index),
      leaseHolds: this.host.leading()?.leaseHolds() ?? false,
    };
  }
}
