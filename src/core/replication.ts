// The leader's replication to its follower (etcd keeps this in its tracker): what it sends
// (AppendEntries while the follower's window allows, heartbeats with a commit index the
// follower can check), and how it takes the answers (success, rejection with the fast-backup
// hints, heartbeat replies that show a lost log or lost messages, an unreachable peer).
// progress.ts is its view of the follower; this decides what to send from it. Pure: it reads
// the log and the leader it works for, and hands its messages to the leader's send().
import { type RaftLog, dataBytes } from './log.js';
import type { CoreConfig } from './config.js';
import type { AppendEntriesReply, HeartbeatReply, Message } from './messages.js';
import { Progress } from './progress.js';
import type { NodeId } from './types.js';

/** What replication reads of the log (RaftLog). */
export type ReplicatedLog = Pick<RaftLog, 'term' | 'chain' | 'slice' | 'lastIndex' | 'lastIndexOfTerm' | 'snapshotMeta'>;

/** The settings replication follows (CoreConfig). */
export type ReplicationConfig = Pick<
  CoreConfig,
  'maxInflightAppends' | 'maxInflightBytes' | 'maxAppendBytes' | 'appendStallHeartbeats' | 'unsafeCommitWithoutTerm'
>;

/** The leader replication works for, as it stands at each call (RaftCore). */
export interface ReplicatingLeader {
  readonly id: NodeId;
  /** The follower ('' while the cluster has only this voter). */
  peer(): NodeId;
  term(): number;
  commit(): number;
  /** Lapsed long enough to fall silent (lease-lapse.ts): it sends nothing. */
  silent(): boolean;
  /** A leadership transfer is under way (leader-transfer.ts). */
  transferring(): boolean;
  send(m: Message): void;
}

/** The follower as status() shows it. */
export interface FollowerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: string;
}

export class Replication {
  /** The leader's view of its follower (null: not leading, or no follower). */
  private progress: Progress | null = null;
  /** The follower that needs a snapshot, until takeSnapshotNeed() hands that out. */
  private snapshotFor: NodeId = '';

  constructor(
    private readonly cfg: ReplicationConfig,
    private readonly log: ReplicatedLog,
    private readonly leader: ReplicatingLeader,
  ) {}

  /** This node leads, or its follower changed while it leads: probe right after the last entry. */
  begin(): void {
    this.progress = this.leader.peer() ? new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightAppends, this.cfg.maxInflightBytes) : null;
    // A need not yet handed out was that of the follower before (setPeer): the new one is
    // probed first, and a snapshot offered to the old one would only hold up the new one's
    // (the driver runs one offer per term at a time).
    this.snapshotFor = '';
  }

  /** This node no longer leads. */
  end(): void {
    this.progress = null;
    // Raised while a reply was stepped, handed out by the next ready(): a leader that steps
    // down in between (more input in the same driver turn) must not hand it out as a
    // follower, or the driver offers a snapshot it cannot serve under the new term (review 27).
    this.snapshotFor = '';
  }

  /** Leading with a follower to replicate to. */
  get hasFollower(): boolean {
    return this.progress !== null;
  }

  /** The follower matches exactly up to `index`. */
  matchedUpTo(index: number): boolean {
    return this.progress !== null && this.progress.match === index;
  }

  followerStatus(): FollowerStatus | undefined {
    const pr = this.progress;
    return pr ? { id: this.leader.peer(), match: pr.match, next: pr.next, state: pr.state } : undefined;
  }

  /** A follower needs a snapshot (sendAppends found it behind this log's compaction point). */
  get snapshotNeeded(): boolean {
    return this.snapshotFor !== '';
  }

  /** The follower that needs a snapshot ('' when none), handed out once. */
  takeSnapshotNeed(): NodeId {
    const peer = this.snapshotFor;
    this.snapshotFor = '';
    return peer;
  }

  wantsToSend(): boolean {
    if (this.leader.silent()) return false;
    const pr = this.progress;
    return pr !== null && pr.canSend() && (pr.next <= this.log.lastIndex() || pr.needsProbe());
  }

  /** Sends AppendEntries while the follower's window allows and entries are waiting. */
  sendAppends(): void {
    const pr = this.progress;
    // A silent leader stays quiet so that its follower's election timer can run.
    if (!pr || !this.leader.peer() || this.leader.silent()) return;
    // In probe state an empty AppendEntries learns where the follower's log matches even
    // when there is nothing new to send.
    while (pr.canSend() && (pr.next <= this.log.lastIndex() || pr.needsProbe())) {
      if (!this.sendAppend(pr)) return;
    }
  }

  private sendAppend(pr: Progress): boolean {
    // Probing sends no entries: a probe is re-sent on every heartbeat reply until one is
    // answered, and a follower far behind (a wiped disk) would otherwise get a full
    // message per heartbeat, fall further behind decoding duplicates, and never answer in
    // time. Once the match is known there is nothing to probe: stream.
    if (pr.state === 'probe' && !pr.needsProbe()) pr.becomeReplicate();
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      // The follower needs entries this log no longer holds: it gets a snapshot (the
      // driver sends it, from this node or from ZooKeeper), then probing resumes.
      pr.becomeSnapshot();
      this.snapshotFor = this.leader.peer();
      return false;
    }
    const entries = pr.state === 'probe' ? [] : this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxAppendBytes);
    const probing = pr.state === 'probe';
    pr.sent(entries.length > 0 ? entries[entries.length - 1]!.index : prevLogIndex, dataBytes(entries));
    // Only what the leader waits on hurries the follower's fsync (messages.ts, AwaitedByLeader). A
    // window full by count alone is not: a trickle of small appends then waits for the
    // follower's paced fsync and leaves together after it.
    const awaited = probing || this.leader.transferring() || pr.bytesFull();
    this.leader.send({
      type: 'append',
      from: this.leader.id,
      to: this.leader.peer(),
      term: this.leader.term(),
      prevLogIndex,
      prevLogTerm,
      prevLogChain: this.log.chain(prevLogIndex)!,
      entries,
      leaderCommit: this.leader.commit(),
      ...(awaited ? { awaited } : {}),
    });
    return true;
  }

  sendHeartbeat(): void {
    const pr = this.progress;
    if (!pr || this.leader.silent()) return;
    // Up to what the follower was sent (in replicate state, where what was sent follows on
    // its match), but never below the compaction point (the chain value of a compacted index
    // is gone; everything up to that point is committed anyway). Not only up to its known
    // match: that waits for the follower's reply, which waits for its paced fsync (R1), so a
    // follower learned the last commits of a burst only 20-40 ms later (review 24). Safety is
    // the follower's: it commits min(commit, leaderMatch), checking term and chain at the
    // index when it is within leaderMatch (R2), so a commit beyond what it matched moves it
    // only as far as leaderMatch, which the follower proved itself.
    const sent = pr.state === 'replicate' ? pr.next - 1 : pr.match;
    const commit = Math.max(Math.min(Math.max(pr.match, sent), this.leader.commit()), this.log.snapshotMeta().index);
    // During a transfer the leader waits on the follower's answers to its appends: this
    // hurries the follower's fsync, which releases every answer it holds (messages.ts, AwaitedByLeader).
    const awaited = this.leader.transferring();
    this.leader.send({
      type: 'heartbeat',
      from: this.leader.id,
      to: this.leader.peer(),
      term: this.leader.term(),
      commit,
      commitTerm: this.log.term(commit)!,
      commitChain: this.log.chain(commit)!,
      ...(awaited ? { awaited } : {}),
    });
  }

  /** An AppendEntries answer. Returns true when it acknowledged entries (a success): a transfer may move on. */
  onAppendReply(m: AppendEntriesReply): boolean {
    const pr = this.progress;
    if (!pr) return false;
    if (m.success) {
      pr.acknowledge(m.matchIndex);
      this.sendAppends();
      return true;
    }
    // A rejection for an AppendEntries we have already moved past is stale.
    if (pr.state === 'probe' && m.rejectedIndex !== pr.next - 1) return false;
    if (m.rejectedIndex <= pr.match) {
      // Pipelined appends behind one that failed are rejected too: stale.
      if (pr.state === 'replicate') return false;
      // The answer to our current probe, at or below what the follower acknowledged: it no
      // longer holds what it acknowledged (a lost or replaced disk). Forget the match.
      pr.forgetMatch();
    }
    let next: number;
    if (m.xTerm === 0) {
      next = m.xLen + 1; // the follower's log is too short
    } else {
      const last = this.log.lastIndexOfTerm(m.xTerm);
      next = last > 0 ? last + 1 : m.xIndex; // skip the follower's whole conflicting term, or our own
    }
    pr.backUpTo(Math.min(next, m.rejectedIndex));
    this.sendAppends();
    return false;
  }

  onHeartbeatReply(m: HeartbeatReply): void {
    const pr = this.progress;
    if (!pr) return;
    if (m.lastIndex < pr.match) {
      // The follower has fewer entries than it once acknowledged: it lost part of its log.
      pr.resetTo(m.lastIndex);
    }
    if (pr.state === 'probe') pr.probeSent = false;
    const compactedTo = this.log.snapshotMeta().index;
    if (pr.state === 'snapshot' && m.lastIndex >= compactedTo && m.lastIndex !== pr.selfRecoveredAt) {
      // The follower we wait on for a snapshot is back within this log on its own (it
      // loaded one from ZooKeeper and read ZooKeeper's log after it): probe right after its
      // last entry now. Waiting for the transfer to end first (a second) lets the log move
      // on and be compacted past the follower again under a steady load, over and over.
      pr.selfRecoveredAt = m.lastIndex;
      pr.snapshotDone(Math.min(m.lastIndex, this.log.lastIndex()));
      this.sendAppends();
      return;
    }
    // AppendEntries can be lost without a word (a dropped packet). When the follower
    // lags what we sent and its match has not moved for appendStallHeartbeats heartbeats,
    // start over from its match. (A failed or timed-out call is reported at once through
    // peerUnreachable; this is the slower net under it.)
    if (pr.state === 'replicate' && pr.noteHeartbeat(m.lastIndex, this.cfg.appendStallHeartbeats)) pr.becomeProbe();
    if (pr.match < this.log.lastIndex() || m.lastIndex < this.log.lastIndex()) this.sendAppends();
    else if (pr.state === 'replicate' && pr.idle() && m.leaderMatch < Math.min(pr.match, this.leader.commit()) && !this.cfg.unsafeCommitWithoutTerm) {
      // The follower no longer vouches for what it matched (it restarted): probe at its
      // match, so it can verify its log there and commit again.
      pr.forgetMatch();
      this.sendAppends();
    }
  }

  /** A call to the follower failed or timed out. */
  peerUnreachable(): void {
    const pr = this.progress;
    if (!pr) return;
    // What was in flight is lost, and the peer may have restarted with less than it
    // acknowledged: forget the match and probe at it (one round trip if it is still
    // there). Probe once the peer answers a heartbeat, not at once: a dead peer would
    // otherwise be hammered with calls that fail immediately.
    pr.becomeProbe();
    // TEST-ONLY FAULT unsafeCommitWithoutTerm: the old rule kept the match of a peer that
    // may have restarted with less.
    if (!this.cfg.unsafeCommitWithoutTerm) pr.forgetMatch();
    pr.probeSent = true;
  }

  /** The snapshot transfer to the follower ended: installed at `index`, or failed (null). */
  snapshotSent(index: number | null): void {
    const pr = this.progress;
    if (!pr || pr.state !== 'snapshot') return;
    pr.snapshotDone(index);
  }
}
