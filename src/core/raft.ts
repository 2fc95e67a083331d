// The pure Raft state machine of one duoraft voter.
//
// It does no I/O and reads no clock: time arrives as tick() calls, randomness from a
// seeded RandomSource, messages through step(), and ZooKeeper's answers through the
// methods named after them (mirrorCommitted, takeoverResult, ...). What the node must
// do in response is collected and handed out by ready(): entries to persist, messages
// to send, entries to mirror to ZooKeeper, committed entries to apply, and requests
// such as "fence ZooKeeper and take over".
//
// What differs from textbook Raft (the argument is in notes/safety.md):
// - An entry is committed exactly when the ZooKeeper multi that carries it succeeds.
//   The leader learns it through mirrorCommitted(); followers learn it from the
//   leader's commit index or from ZooKeeper. Counting follower acks commits nothing.
// - A term is won by fencing ZooKeeper's epoch znode, not by votes. RequestVote is only
//   a pre-vote ("would you object?"), and the take-over waits until the leader's lease
//   znode has not changed for the lease window.
import { Candidacy, type TakeoverFailure, type TakeoverRequest } from './candidacy.js';
import { CommitGate, type FollowedLeader } from './commit-gate.js';
import { Following } from './following.js';
import type { LeaseSighting } from './hand-over.js';
import { HandOverTaking } from './hand-over-taking.js';
import { LeaseLapse } from './lease-lapse.js';
import type { CoreConfig } from './config.js';
import { validateCoreConfig } from './config.js';
import { RaftLog, invariant } from './log.js';
import type {
  AppendEntries,
  AppendEntriesReply,
  Heartbeat,
  HeartbeatReply,
  Message,
  VoteReply,
} from './messages.js';
import { checkPeerMessage } from './message-checks.js';
import { PendingReady } from './pending-ready.js';
import { Replication } from './replication.js';
import { TransferDriving } from './transfer-driving.js';
import { echoRound, VoteAnswer } from './vote-answer.js';
import type { RandomSource } from './random.js';
import type { CoreStatus, Divergence, ProposeResult, Ready, SoftState } from './ready.js';
import { sameChain } from './chain.js';
import { type ChainedEntry, type Entry, EntryType, type HardState, type NodeId, type Role, type SnapshotMeta, emptyHardState } from './types.js';

export type { Role, TakeoverRequest };
// The output types live in ready.ts; re-exported so every importer of raft.ts reads them here as before.
export type { CoreStatus, Divergence, LeadershipLost, ProposeResult, Ready, SnapshotNeeded, SoftState } from './ready.js';

export type TakeoverResult =
  | {
      readonly ok: true;
      /** The term the fence gave this node. */
      readonly term: number;
      /** Committed entries from ZooKeeper after the request's commit index, ascending. */
      readonly entries: readonly Entry[];
      /** ZooKeeper's tail: the last committed index. */
      readonly zkLastIndex: number;
    }
  | ({ readonly ok: false } & TakeoverFailure);

export interface RestoredState {
  readonly hardState?: HardState;
  readonly snapshot?: SnapshotMeta;
  readonly entries?: readonly Entry[];
  /**
   * The highest term ZooKeeper vouched for, as far as the caller knows at start (default:
   * the restored term). A node restarting on its own data passes one below its saved term:
   * that term may have been taken from a message (see commit-gate.ts), and the epoch, observed
   * before any peer message is taken, restores the rest.
   */
  readonly trustedTerm?: number;
}

export class RaftCore {
  readonly id: NodeId;
  private peer: NodeId;
  private readonly cfg: CoreConfig;
  private readonly random: RandomSource;
  private readonly log: RaftLog;

  private term: number;
  private role: Role = 'follower';
  private leaderId: NodeId = '';
  private commit: number;
  private applied: number;

  /** The commit gate: the term and leader ZooKeeper vouched for, and the rules over them (commit-gate.ts). */
  private readonly gate: CommitGate;
  /**
   * Follower: its side of replication: the leader's AppendEntries and heartbeats, what it
   * matched with that leader, the bound on what it takes while held (following.ts).
   */
  private readonly following: Following;

  /** Ticks since this node started: the core's only notion of time. */
  private ticks = 0;
  private electionElapsed = 0;
  private randomizedElectionTimeout = 0;
  private heartbeatElapsed = 0;
  private lastLeaderContactTick = Number.NEGATIVE_INFINITY;

  /**
   * Pre-candidate and candidate: the pre-vote, the wait for a quiet lease, and the take-over
   * request not yet handed out (candidacy.ts).
   */
  private readonly candidacy: Candidacy;
  /**
   * Follower to candidate: a TimeoutNow taken from the leader, the pre-candidate's wait on
   * ZooKeeper to confirm it, and that leader's earlier messages dropped until this node
   * follows or leads again (hand-over-taking.ts).
   */
  private readonly handOver: HandOverTaking;

  // Leader state.
  /** The leader's replication to its follower: what it sends and how it takes the answers (replication.ts). */
  private readonly replication: Replication;
  private mirrorNext = 0;
  /** A leadership transfer under way: where it stands, and how the leader drives it (transfer-driving.ts). */
  private readonly transfer: TransferDriving;
  /** The lease's lapse and the silence that follows it (lease-lapse.ts). */
  private readonly lapse: LeaseLapse;
  /** Any role: the answer to a peer's pre-vote, leader stickiness (vote-answer.ts). */
  private readonly voteAnswer: VoteAnswer;

  /** What ready() hands out next: messages, entries to persist, one-shot notices (pending-ready.ts). */
  private readonly pending: PendingReady;
  /** Set once a committed entry turns out to differ from the leader's or ZooKeeper's. */
  private divergence: Divergence | null = null;
  /** Why the message being stepped was dropped after the checks passed (a chain that does not verify). */
  private lateDrop: string | null = null;

  constructor(config: CoreConfig, random: RandomSource, restored: RestoredState = {}) {
    const problems = validateCoreConfig(config);
    invariant(problems.length === 0, `bad core config: ${problems.join('; ')}`);
    this.cfg = config;
    this.id = config.id;
    this.peer = config.peer;
    this.random = random;
    this.lapse = new LeaseLapse(config.lapseSilenceTicks);
    this.handOver = new HandOverTaking(config.transferTimeoutTicks, {
      role: () => this.role,
      term: () => this.term,
      leaderId: () => this.leaderId,
      ticks: () => this.ticks,
      heardFromLeader: () => this.heardFromLeader(),
      becomeFollower: (term, leaderId) => this.becomeFollower(term, leaderId),
      becomePreCandidate: () => this.becomePreCandidate(),
      becomeCandidate: (transfer) => this.becomeCandidate(transfer),
    });
    const hs = restored.hardState ?? emptyHardState;
    const snapshot = restored.snapshot ?? { index: 0, term: 0, chain: config.genesis };
    this.log = new RaftLog(snapshot, restored.entries ?? []);
    this.term = Math.max(hs.term, snapshot.term);
    this.gate = new CommitGate(this.id, Math.min(this.term, Math.max(snapshot.term, restored.trustedTerm ?? this.term)));
    this.following = new Following(config, this.log, {
      id: this.id,
      term: () => this.term,
      commit: () => this.commit,
      commitTo: (index) => {
        this.commit = index;
      },
      // Through the public method, as before the split: the digest of every core call sees it.
      vouchedFor: (term, authenticated, sender) => this.vouchedFor(term, authenticated, sender),
      markUnstable: (index) => this.markUnstable(index),
      diverge: (index, reason) => this.diverge(index, reason),
      reply: (request, response) => this.reply(request, response),
    });
    this.replication = new Replication(config, this.log, {
      id: this.id,
      peer: () => this.peer,
      term: () => this.term,
      commit: () => this.commit,
      silent: () => this.silent(),
      transferring: () => this.transfer.transferring,
      send: (m) => this.send(m),
    });
    this.candidacy = new Candidacy(config, this.log, this.handOver.wait, {
      id: this.id,
      peer: () => this.peer,
      role: () => this.role,
      term: () => this.term,
      commit: () => this.commit,
      leaderId: () => this.leaderId,
      ticks: () => this.ticks,
      send: (m) => this.send(m),
      vouch: (term, leader) => this.vouch(term, leader),
      becomeFollower: (term, leaderId) => this.becomeFollower(term, leaderId),
      becomeCandidate: (transfer) => this.becomeCandidate(transfer),
    });
    this.commit = Math.max(snapshot.index, Math.min(hs.commit, this.log.lastIndex()));
    this.applied = snapshot.index;
    this.pending = new PendingReady(this.log, this.softState(), this.hardState());
    this.transfer = new TransferDriving(config.transferTimeoutTicks, this.log, this.replication, this.pending, {
      id: this.id,
      leads: () => this.role === 'leader',
      peer: () => this.peer,
      term: () => this.term,
      commit: () => this.commit,
      send: (m) => this.send(m),
    });
    this.voteAnswer = new VoteAnswer(config, this.log, {
      id: this.id,
      role: () => this.role,
      term: () => this.term,
      commit: () => this.commit,
      leaderId: () => this.leaderId,
      // Not through the public method: the digest of every core call would see a call the answer never made.
      ticksSinceLeaderContact: () => this.ticks - this.lastLeaderContactTick,
      silent: () => this.silent(),
      handedOver: () => this.transfer.handedOver,
      zkConnected: () => this.candidacy.zkConnected,
      hurryElection: () => {
        this.electionElapsed = this.randomizedElectionTimeout;
      },
      reply: (request, response) => this.reply(request, response),
    });
    this.resetElectionTimer();
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of time has passed. */
  tick(): void {
    this.ticks++;
    switch (this.role) {
      case 'follower':
        this.electionElapsed++;
        if (this.electionElapsed >= this.randomizedElectionTimeout) this.becomePreCandidate();
        return;
      case 'precandidate':
        this.electionElapsed++;
        this.handOver.tick();
        if (this.role !== 'precandidate') return;
        this.candidacy.tickPreCandidate();
        if (this.role === 'precandidate' && this.electionElapsed >= this.randomizedElectionTimeout) {
          // Still waiting (a live lease, or no ZooKeeper): ask the peer again.
          this.becomePreCandidate();
        }
        return;
      case 'candidate':
        if (this.candidacy.tickCandidate()) this.becomeFollower(this.term, '');
        return;
      case 'leader':
        this.lapse.tick();
        this.heartbeatElapsed++;
        if (this.heartbeatElapsed >= this.cfg.heartbeatTicks && !this.silent()) {
          this.heartbeatElapsed = 0;
          this.replication.sendHeartbeat();
        }
        this.transfer.advance();
        return;
    }
  }

  /**
   * Takes one peer message. A message that fails the checks of message-checks.ts is dropped
   * whole, before it touches anything; the reason is returned for the caller to log
   * ('ignore': not for us, nothing worth saying). Returns null when it was taken.
   * `authenticated`: the transport proved the sender is the other voter (mutual TLS), so its
   * term may be bounded by this node's own term rather than the trusted one.
   */
  step(m: Message, authenticated = false): string | null {
    const problem = checkPeerMessage(m, {
      self: this.id,
      peer: this.peer,
      role: this.role,
      ownTerm: this.term,
      trustedTerm: this.gate.trustedTerm,
      trustedLeader: this.gate.trustedLeader,
      authenticated,
      lastIndex: this.log.lastIndex(),
      maxEntryBytes: this.cfg.maxEntryBytes,
    });
    if (problem !== null) return problem;
    if (this.divergence) return 'this node has diverged and takes no more messages';
    this.lateDrop = null;
    this.stepChecked(m, authenticated);
    return this.lateDrop;
  }

  private stepChecked(m: Message, authenticated: boolean): void {
    if (m.type === 'unreachable') {
      this.onUnreachable(m.from);
      return;
    }
    if (m.term > this.term) {
      const hypothetical = m.type === 'vote' || (m.type === 'voteReply' && m.granted);
      if (!hypothetical) {
        const fromLeader =
          m.type === 'append' || m.type === 'heartbeat' || m.type === 'timeoutNow' || (m.type === 'voteReply' && m.reason === 'is-leader');
        const leader = fromLeader ? m.from : '';
        this.becomeFollower(m.term, leader);
      }
    } else if (m.term < this.term) {
      this.answerStale(m);
      return;
    }
    // Same term from the leader that handed over to us: sent before its TimeoutNow.
    if (this.handOver.sentBeforeHandOver(m)) return;
    switch (m.type) {
      case 'append':
        this.followLeader(m);
        this.lateDrop = this.following.onAppend(m, authenticated);
        return;
      case 'appendReply':
        this.onAppendReply(m);
        return;
      case 'heartbeat':
        this.followLeader(m);
        this.following.onHeartbeat(m, authenticated);
        return;
      case 'heartbeatReply':
        this.onHeartbeatReply(m);
        return;
      case 'vote':
        this.voteAnswer.onVote(m);
        return;
      case 'voteReply':
        this.onVoteReply(m);
        return;
      case 'timeoutNow':
        this.handOver.onTimeoutNow(m);
        return;
    }
  }

  /** Leader: appends commands to the log. They commit when ZooKeeper holds them. */
  propose(data: readonly Uint8Array[]): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    if (this.transfer.transferring) return { ok: false, reason: 'transferring', leaderId: this.leaderId };
    // A lapsed leader still takes writes (they commit only through ZooKeeper's epoch check,
    // lapsed or not); once silent it sends its clients away.
    if (this.silent()) return { ok: false, reason: 'lease-lapsed', leaderId: '' };
    const firstIndex = this.log.lastIndex() + 1;
    const entries: Entry[] = data.map((d, k) => ({ index: firstIndex + k, term: this.term, type: EntryType.Normal, data: d }));
    this.appendOwn(entries);
    return { ok: true, firstIndex, term: this.term };
  }

  /** ZooKeeper holds every entry up to lastIndex, mirrored by the leader of `term`. */
  mirrorCommitted(term: number, lastIndex: number): void {
    if (this.role !== 'leader' || term !== this.term) return;
    invariant(lastIndex < this.mirrorNext, `mirror acknowledged ${lastIndex}, only ${this.mirrorNext - 1} was handed out`);
    if (lastIndex > this.commit) this.commit = lastIndex;
  }

  /** The leader of `term` was fenced: ZooKeeper's epoch moved on. */
  mirrorFenced(term: number): void {
    if (this.role === 'leader' && term === this.term) this.stepDown('fenced in ZooKeeper');
  }

  /**
   * The leader of `term` could not renew its lease in time. It does not step down (a slow
   * ZooKeeper would otherwise cause a needless failover): it lapses (see leaseLapsed).
   */
  leaseExpired(term: number): void {
    if (this.role === 'leader' && term === this.term) this.lapse.expired();
  }

  /** Lapsed long enough to fall silent (see LeaseLapse). */
  private silent(): boolean {
    return this.lapse.silent;
  }

  /**
   * A lease touch of the leader of `term` landed (an epoch-checked write), even one too late
   * to renew the lease: ZooKeeper is slow, not unreachable, and this node still holds the
   * epoch. Without this, a touch round trip above the lease duration, steadily, stopped all
   * writes while none could fail over (the lease version keeps moving, so the follower never
   * sees it quiet).
   */
  leaseTouchLanded(term: number): void {
    if (this.role === 'leader' && term === this.term) this.lapse.touchLanded();
  }

  /** A lease renewal of the leader of `term` succeeded after it had lapsed. */
  leaseRenewed(term: number): void {
    if (this.role === 'leader' && term === this.term && this.lapse.renewed()) {
      this.heartbeatElapsed = this.cfg.heartbeatTicks; // heartbeat at the next tick
    }
  }

  /**
   * A follower saw the lease znode at `version`. Any change restarts the lease window.
   * `windowTicks` is the wait the lease's holder requires, derived from the duration it
   * published (PROTOCOL.md R6); the configured window is a floor, never a substitute.
   * The caller must have run every tick owed up to now first, so that the observation is
   * stamped no earlier than it happened.
   */
  observeLease(version: number, windowTicks = 0, record?: Omit<LeaseSighting, 'version'>): void {
    this.candidacy.observeLease(version, windowTicks);
    this.handOver.observeLease(version, record);
  }

  /** The epoch znode says `leaderId` holds `term`. */
  observeEpoch(term: number, leaderId: NodeId): void {
    this.vouch(term, leaderId);
    if (term > this.term) {
      if (leaderId === this.id) {
        // Our own fence, whose result is still on its way, or a term of an earlier life
        // of this node: either way we do not lead it in this process.
        if (this.role === 'candidate') return;
        this.becomeFollower(term, '');
      } else {
        this.becomeFollower(term, leaderId);
      }
    } else if (term === this.term && this.leaderId === '' && leaderId !== this.id && this.role !== 'leader') {
      this.leaderId = leaderId;
      // Nothing matched before this counts for the leader named now (review 16).
      this.following.leaderNamed();
    }
  }

  /** Whether this node can reach ZooKeeper; without it a take-over is pointless. */
  setZkConnected(connected: boolean): void {
    this.candidacy.setZkConnected(connected);
  }

  /** Something outside the core says the leader is gone (its znode vanished, its process refused us). */
  suspectLeader(): void {
    if (this.role !== 'follower') return;
    this.electionElapsed = this.randomizedElectionTimeout;
    this.candidacy.suspectOnEvidence();
  }

  /** Follower: committed entries read from ZooKeeper (when the leader cannot reach us). */
  committedFromZk(entries: readonly Entry[], zkLastIndex: number): void {
    if (this.role === 'leader' || this.role === 'candidate' || this.divergence) return;
    this.following.committedFromZk(entries, zkLastIndex);
  }

  takeoverResult(r: TakeoverResult): void {
    if (!r.ok) {
      this.candidacy.takeoverFailed(r);
      return;
    }
    // A term someone fenced after ours supersedes it; that node leads, not us. (r.term can
    // equal ours when the epoch watch told us of our own fence before this result came.)
    if (r.term < this.term) return;
    invariant(!(this.role === 'leader' && r.term === this.term), `take-over result for term ${r.term}, which this node already leads`);
    if (this.divergence || !this.following.mergeCommitted(r.entries)) return;
    if (this.log.lastIndex() > r.zkLastIndex) {
      // Never committed: ZooKeeper's log is frozen by our fence and ends at its tail.
      invariant(r.zkLastIndex >= this.commit, `zk tail ${r.zkLastIndex} below commit ${this.commit}`);
      this.log.truncateFrom(r.zkLastIndex + 1);
      this.markUnstable(r.zkLastIndex + 1);
    }
    invariant(this.log.lastIndex() === r.zkLastIndex, `after replay the log ends at ${this.log.lastIndex()}, ZooKeeper at ${r.zkLastIndex}`);
    this.commit = r.zkLastIndex;
    this.becomeLeader(r.term);
  }

  /**
   * The state machine holds everything up to `index` in a durable snapshot: drop those
   * entries from memory (a leader keeps what its follower may still need by passing a lower
   * index). Never beyond what was applied.
   */
  compact(index: number): void {
    invariant(index <= this.applied, `compact to ${index} beyond applied ${this.applied}`);
    this.log.compact(index);
  }

  /** The point this log starts after (the compaction point). */
  compactedTo(): SnapshotMeta {
    return this.log.snapshotMeta();
  }

  /**
   * Follower: the driver loaded a snapshot at `point` into the state machine (from the
   * leader or ZooKeeper: committed state either way). The log starts over after it. Refused
   * (false) when it brings nothing new (point at or below the commit index) or while this
   * node leads. A candidate may install one: its take-over then replays from there.
   * A snapshot offered by the leader sets the commit index like an AppendEntries' commit
   * index does, so the driver asks vouchedFor() before it takes an offer (the commit gate).
   */
  installSnapshot(point: SnapshotMeta): boolean {
    if (this.role === 'leader' || this.divergence) return false;
    if (point.index <= this.commit) return false;
    this.log.restore(point);
    this.commit = point.index;
    this.applied = point.index;
    this.following.snapshotInstalled();
    this.pending.snapshotInstalled(point);
    return true;
  }

  /**
   * A snapshot whose point is exactly this node's commit index (ZooKeeper compacted its log
   * through it): it installs nothing, but its term and chain prove the node's committed
   * prefix the way ZooKeeper's entry there would have (a take-over's replay checks that
   * entry). False when they differ or the point is elsewhere.
   */
  confirmsCommitPoint(point: SnapshotMeta): boolean {
    if (this.divergence || point.index !== this.commit || point.index === 0) return false;
    const mine = this.log.chain(point.index);
    return mine !== undefined && this.log.term(point.index) === point.term && sameChain(mine, point.chain);
  }

  /** Leader: the snapshot transfer to `peer` ended: installed at `index`, or failed (null). */
  snapshotSent(peer: NodeId, index: number | null): void {
    if (this.role !== 'leader' || peer !== this.peer) return;
    this.replication.snapshotSent(index);
  }

  /** Leader: hand leadership to the follower once it is caught up (transfer-driving.ts). */
  transferLeadership(): boolean {
    return this.transfer.start();
  }

  /** Leader: stop leading now (an event-loop stall long enough that the follower may have taken over). */
  abdicate(reason: string): void {
    if (this.role === 'leader') this.stepDown(reason);
  }

  /** Leader: the relinquish of transfer `transfer` of term `term` did not land: give it up (transfer-driving.ts). */
  relinquishFailed(term: number, transfer: number): void {
    this.transfer.relinquishFailed(term, transfer);
  }

  /** Leader: the operator's deadline passed: give up a hand-over whose TimeoutNow has not left (transfer-driving.ts). */
  withdrawHandOver(): void {
    this.transfer.withdrawHandOver();
  }

  /** Leader: the driver sent the TimeoutNow of transfer `transfer` of term `term` (its record landed). */
  timeoutNowLeft(term: number, transfer: number): void {
    this.transfer.timeoutNowLeft(term, transfer);
  }

  /** Leader: whether transfer `transfer` of term `term` still waits on its hand-over (transfer-driving.ts). */
  handingOver(term: number, transfer: number): boolean {
    return this.transfer.handingOver(term, transfer);
  }

  /** Leader: give up a transfer that is not done (the driver's deadline passed). */
  abortTransfer(): void {
    this.transfer.abort();
  }

  /** The other voter joined (or changed). */
  setPeer(peer: NodeId): void {
    invariant(peer !== this.id, 'peer equals self');
    if (peer === this.peer) return;
    const old = this.peer;
    this.peer = peer;
    if (this.role === 'leader') {
      this.replication.begin();
      // A transfer went to the old peer: it is over (transfer-driving.ts).
      this.transfer.peerChanged();
    } else {
      // A removed peer is nobody's leader any more: clients are not sent to it.
      if (old !== '' && this.leaderId === old) this.leaderId = '';
      // A pre-vote asked of the old peer: with no peer left, none is needed.
      if (peer === '') this.candidacy.peerRemoved();
    }
  }

  // --------------------------------------------------------------- outputs

  hasReady(): boolean {
    return (
      this.pending.hasPending() ||
      this.commit > this.applied ||
      (this.role === 'leader' && (this.mirrorNext <= this.log.lastIndex() || this.replication.wantsToSend())) ||
      this.candidacy.hasRequest ||
      this.handOver.hasNote ||
      this.replication.snapshotNeeded ||
      this.pending.softChanged(this.softState()) ||
      this.pending.hardChanged(this.hardState())
    );
  }

  /** Hands out (and forgets) everything the driver must do now. */
  ready(): Ready {
    if (this.role === 'leader') this.replication.sendAppends();
    const soft = this.softState();
    const hard = this.hardState();
    const persist = this.pending.takeToPersist();

    let toMirror: ChainedEntry[] = [];
    if (this.role === 'leader' && this.mirrorNext <= this.log.lastIndex()) {
      toMirror = this.log.slice(this.mirrorNext, this.log.lastIndex() + 1);
      this.mirrorNext = this.log.lastIndex() + 1;
    }
    // At most maxCommittedPerReady at a time: a restart (or a long catch-up) may have a great
    // many to apply, and the driver applies one Ready per step of its loop.
    const applyTo = Math.min(this.commit, this.applied + this.cfg.maxCommittedPerReady);
    const committed = applyTo > this.applied ? this.log.slice(this.applied + 1, applyTo + 1) : [];
    invariant(committed.length === applyTo - this.applied, `committed entries ${this.applied + 1}..${applyTo} not all in memory`);
    this.applied = applyTo;

    const snapshotFor = this.replication.takeSnapshotNeed();
    const handOverNote = this.handOver.takeNote();
    const takeover = this.candidacy.takeRequest();
    const snapshotNeeded = snapshotFor ? { peer: snapshotFor, firstIndex: this.log.firstIndex() } : undefined;
    return this.pending.collect({ soft, hard, persist, committed, toMirror, takeover, handOverNote, snapshotNeeded, transfer: this.transfer });
  }

  softState(): SoftState {
    return { role: this.role, term: this.term, leaderId: this.leaderId };
  }

  hardState(): HardState {
    return { term: this.term, commit: this.commit };
  }

  /**
   * Whether a leader of `term` may move this node's commit index (the commit gate of fuzz
   * finding 9, commit-gate.ts): ZooKeeper vouched for it, or the transport proved the sender.
   */
  vouchedFor(term: number, authenticated: boolean, sender: NodeId): boolean {
    return this.gate.vouchedFor(term, authenticated, sender);
  }

  /**
   * Follower: its leader's term is not vouched for yet (vouchedFor), so its commit index does
   * not move: it takes the leader's entries (at most maxHeldEntries / maxHeldBytes past its
   * commit index) and commits them with the leader's first message after the epoch watch
   * shows the term. Normally for the few ms between a new leader's first message and the
   * epoch watch; for as long as it lasts when this node cannot reach ZooKeeper.
   */
  commitHeld(): boolean {
    return this.gate.holds(this.followed());
  }

  /** The leader this node follows, for the commit gate (null while it leads). */
  private followed(): FollowedLeader | null {
    return this.role === 'leader' ? null : { leaderId: this.leaderId, term: this.term, authenticated: this.following.leaderAuthenticated };
  }

  /** The commit index alone (hot paths: cheaper than status()). */
  commitIndex(): number {
    return this.commit;
  }

  /**
   * Ticks since this node last heard from a leader (accepted its AppendEntries, heartbeat
   * or TimeoutNow, or learned of it), Infinity if it never did. Read by health and metrics.
   */
  ticksSinceLeaderContact(): number {
    return this.ticks - this.lastLeaderContactTick;
  }

  /** Whether a leadership transfer is under way. */
  isTransferring(): boolean {
    return this.transfer.transferring;
  }

  status(): CoreStatus {
    const base = {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      commit: this.commit,
      applied: this.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      transferring: this.transfer.transferring,
      leaseLapsed: this.lapse.isLapsed,
      trustedTerm: this.gate.trustedTerm,
      commitHeld: this.commitHeld(),
    };
    const follower = this.role === 'leader' ? this.replication.followerStatus() : undefined;
    return follower ? { ...base, follower } : base;
  }

  /** Leader: whether an entry of the current term is committed (reads must wait for it). */
  committedInCurrentTerm(): boolean {
    return this.role === 'leader' && this.log.term(this.commit) === this.term;
  }

  /** Read access for the driver (replay bounds, stale reads). */
  entryAt(index: number): ChainedEntry | undefined {
    return this.log.entry(index);
  }

  // ------------------------------------------------------------ transitions

  private becomeFollower(term: number, leaderId: NodeId): void {
    invariant(term >= this.term, `term going back from ${this.term} to ${term}`);
    if (this.role === 'leader') this.dropLeaderState(term > this.term ? `term ${term} seen` : 'stepped down');
    if (term !== this.term || leaderId !== this.leaderId) this.following.leaderChanged();
    if (term > this.term) this.term = term;
    this.role = 'follower';
    this.leaderId = leaderId;
    this.handOver.reset();
    // No longer suspected; a take-over not yet handed out is no longer wanted (one handed out reports back).
    this.candidacy.followed();
    if (leaderId) this.lastLeaderContactTick = this.ticks;
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    invariant(this.role === 'follower' || this.role === 'precandidate', `pre-vote from ${this.role}`);
    this.role = 'precandidate';
    this.resetElectionTimer();
    this.candidacy.askPeer();
  }

  private becomeCandidate(transfer: boolean): void {
    this.role = 'candidate';
    this.leaderId = '';
    this.handOver.candidacyStarted();
    // What was matched with the last leader never counts for the next one (review 16).
    this.following.candidacyStarted();
    this.candidacy.request(transfer);
  }

  private becomeLeader(term: number): void {
    invariant(term >= this.term && this.role !== 'leader', `leader of term ${term} from ${this.role} of term ${this.term}`);
    this.term = term;
    // Our own fence set ZooKeeper's epoch to it.
    this.gate.leads(term);
    this.role = 'leader';
    this.leaderId = this.id;
    this.handOver.reset();
    this.heartbeatElapsed = 0;
    this.transfer.reset();
    this.lapse.reset();
    this.replication.begin();
    this.mirrorNext = this.log.lastIndex() + 1;
    invariant(this.commit === this.log.lastIndex(), `new leader holds uncommitted entries ${this.commit + 1}..${this.log.lastIndex()}`);
    this.appendOwn([{ index: this.log.lastIndex() + 1, term, type: EntryType.Noop, data: new Uint8Array(0) }]);
    this.replication.sendHeartbeat();
  }

  private stepDown(reason: string): void {
    this.becomeFollower(this.term, '');
    // becomeFollower recorded the loss; keep the more precise reason.
    this.pending.restateLeadershipLost(reason);
  }

  private dropLeaderState(reason: string): void {
    this.pending.leadershipLost({ term: this.term, commit: this.commit, sentToMirror: this.mirrorNext - 1, reason });
    // The un-mirrored suffix was never committed and may never be: drop it.
    if (this.log.lastIndex() > this.commit) {
      this.log.truncateFrom(this.commit + 1);
      this.markUnstable(this.commit + 1);
    }
    this.replication.end();
    this.mirrorNext = 0;
    this.transfer.reset();
    this.lapse.reset();
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const min = this.cfg.electionTimeoutTicks;
    this.randomizedElectionTimeout = min + this.random.nextInt(min);
  }

  // ------------------------------------------------------------- follower

  /**
   * An AppendEntries or heartbeat of this node's term: its sender leads, and was heard from.
   * What the message says is then the follower's to take (following.ts).
   */
  private followLeader(m: AppendEntries | Heartbeat): void {
    invariant(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
    if (this.role !== 'follower' || this.leaderId !== m.from) this.becomeFollower(m.term, m.from);
    this.heardFromLeader();
  }

  /**
   * ZooKeeper vouched for `term`: the epoch shows it, or a take-over read it. When that
   * releases a commit index held for the current leader, what this node matched with it
   * while held no longer counts: those messages came before anything vouched for their
   * sender, and a forger one term up claims the real leader's id and the term its fence is
   * about to make. So leaderMatch drops to the commit index (Following.holdReleased): one
   * more round trip per failover whose first message beat the epoch watch.
   */
  private vouch(term: number, leader: NodeId): void {
    if (this.gate.vouch(term, leader, this.followed())) this.following.holdReleased();
  }

  private heardFromLeader(): void {
    this.electionElapsed = 0;
    this.candidacy.leaderHeard();
    this.lastLeaderContactTick = this.ticks;
  }

  /**
   * A committed entry differs from the leader's or ZooKeeper's: this node's state cannot be
   * trusted. It stops leading and taking messages; the driver stops serving and rebuilds.
   */
  private diverge(index: number, reason: string): void {
    if (this.divergence) return;
    this.divergence = { index, reason };
    this.pending.diverged(this.divergence);
    if (this.role === 'leader') this.dropLeaderState(`diverged at ${index}`);
    this.role = 'follower';
    this.leaderId = '';
  }

  // ---------------------------------------------------------------- votes

  // The answer to a peer's pre-vote is vote-answer.ts's.

  private onVoteReply(m: VoteReply): void {
    this.candidacy.onReply(m.granted, m.reason, m.from, m.round);
  }

  // --------------------------------------------------------------- leader

  private appendOwn(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.log.appendContiguous(entries);
    this.markUnstable(entries[0]!.index);
  }

  private onAppendReply(m: AppendEntriesReply): void {
    if (this.role !== 'leader') return;
    // An answer that moved the follower's match is a step of a transfer under way.
    if (this.replication.onAppendReply(m)) this.transfer.advance();
  }

  private onHeartbeatReply(m: HeartbeatReply): void {
    if (this.role === 'leader') this.replication.onHeartbeatReply(m);
  }

  private onUnreachable(peer: NodeId): void {
    if (peer !== this.peer) return;
    if (this.role === 'leader' && this.replication.hasFollower) {
      this.replication.peerUnreachable();
    } else {
      this.candidacy.peerUnreachable();
    }
  }

  // ---------------------------------------------------------------- misc

  private answerStale(m: Message): void {
    // Tell a deposed leader (or an old candidate) about the newer term.
    if (m.type === 'append') this.following.rejectAppend(m, m.prevLogIndex);
    else if (m.type === 'heartbeat') this.reply(m, { type: 'heartbeatReply', from: this.id, to: m.from, term: this.term, lastIndex: this.log.lastIndex(), leaderMatch: 0 });
    else if (m.type === 'vote') this.reply(m, { type: 'voteReply', from: this.id, to: m.from, term: this.term, granted: false, preVote: m.preVote, reason: 'stale-term', ...echoRound(m) });
  }

  private reply(request: Message, response: Message): void {
    let r = request.rpcId === undefined ? response : { ...response, rpcId: request.rpcId };
    // The leader waits on this answer: the follower's driver hurries its fsync for it.
    const awaited = (request.type === 'append' || request.type === 'heartbeat') && request.awaited === true;
    if (awaited && (r.type === 'appendReply' || r.type === 'heartbeatReply')) r = { ...r, awaited };
    this.send(r);
  }

  private send(m: Message): void {
    this.pending.send(m);
  }

  private markUnstable(from: number): void {
    this.pending.markUnstable(from);
  }
}
