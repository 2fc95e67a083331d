// The follower's side of replication (etcd keeps it in its raft node's handleAppendEntries and
// handleHeartbeat): it takes the leader's AppendEntries and heartbeats once RaftCore has made
// their sender its leader, checks them against its log and its hash chain, writes what
// matches, moves the commit index where the leader's word and its own match allow
// (PROTOCOL.md R2), and answers with its match index or with the fast-backup hints. It also
// merges entries ZooKeeper says are committed. It owns what this node matched with its current
// leader (leaderMatch), whether that leader's last message came from a proved sender, and the
// bound on what it takes while its commit index is held (held-suffix.ts). Pure: it reads the
// log and the node it works for, and hands its answers to the node's reply().
import { chainHex, sameChain } from './chain.js';
import type { CoreConfig } from './config.js';
import { HeldSuffix } from './held-suffix.js';
import { ChainMismatchError, type RaftLog, invariant } from './log.js';
import type { AppendEntries, Heartbeat, Message } from './messages.js';
import type { Entry, NodeId } from './types.js';

/** What the follower reads and writes of the log (RaftLog). */
export type FollowedLog = Pick<RaftLog, 'matchTerm' | 'chain' | 'term' | 'entry' | 'merge' | 'lastIndex' | 'firstIndexOfTermAtOrBefore'>;

/** The settings the follower follows (CoreConfig). */
export type FollowingConfig = Pick<CoreConfig, 'maxHeldEntries' | 'maxHeldBytes' | 'unsafeCommitWithoutTerm'>;

/** The node that follows, as it stands at each call (RaftCore). */
export interface FollowingNode {
  readonly id: NodeId;
  term(): number;
  commit(): number;
  /** Moves the commit index up to `index` (the caller has checked that it is ahead). */
  commitTo(index: number): void;
  /** Whether a leader of `term` may move the commit index (RaftCore.vouchedFor: the commit gate). */
  vouchedFor(term: number, authenticated: boolean, sender: NodeId): boolean;
  /** The log changed from `index` on: the local WAL must write it again. */
  markUnstable(index: number): void;
  /** A committed entry differs from the leader's or ZooKeeper's: the node stops taking messages. */
  diverge(index: number, reason: string): void;
  /** Answers `request` (its rpcId, and whether the leader waits on the answer, are carried over). */
  reply(request: Message, response: Message): void;
}

export class Following {
  /**
   * Every entry up to here is known to equal the current leader's, because an
   * AppendEntries of this leader, in this term and in this process's life, matched or wrote
   * it. The commit index moves only over such entries, or over entries read from ZooKeeper
   * (PROTOCOL.md R2): after a restart the log may hold an old suffix at indexes the leader
   * believes this node acknowledged, and a commit index alone would commit that suffix.
   */
  private leaderMatch = 0;
  /** The current leader's last AppendEntries or heartbeat came from a sender the transport proved. */
  private authenticated = false;
  /** Commit held: the bound on what this node takes past its commit index (held-suffix.ts). */
  private readonly held: HeldSuffix;

  constructor(
    private readonly cfg: FollowingConfig,
    private readonly log: FollowedLog,
    private readonly node: FollowingNode,
  ) {
    this.held = new HeldSuffix(cfg, log);
  }

  /** Whether the current leader's last AppendEntries or heartbeat came from a sender the transport proved. */
  get leaderAuthenticated(): boolean {
    return this.authenticated;
  }

  /** Another leader, or another term: nothing matched with or proved of the one before counts. */
  leaderChanged(): void {
    this.leaderMatch = 0;
    this.authenticated = false;
    this.held.reopen();
  }

  /** This node takes over: what was matched with the last leader never counts for the next one (review 16). */
  candidacyStarted(): void {
    this.leaderMatch = 0;
    this.held.reopen();
  }

  /** The epoch names the leader of this node's term: nothing matched before counts for it beyond the commit index (review 16). */
  leaderNamed(): void {
    this.leaderMatch = Math.min(this.leaderMatch, this.node.commit());
    this.held.reopen();
  }

  /**
   * ZooKeeper's vouching released the commit index held for the current leader (see
   * RaftCore.vouch): what this node matched with it while held no longer counts. A heartbeat
   * commits up to leaderMatch without a chain check there, so leaderMatch drops to the commit
   * index; the leader sees it in the next heartbeat reply and probes at its match, and the
   * consistency check with the chain value then proves the entries (or truncates a forged
   * suffix) before anything commits.
   */
  holdReleased(): void {
    if (this.leaderMatch > this.node.commit()) this.leaderMatch = this.node.commit();
  }

  /**
   * A snapshot was installed: the log starts over after it, and nothing in it was matched
   * with a leader. Its end moved and nothing is held past the commit index any more, so a
   * message past the new end is not one pipelined behind a message the bound cut short:
   * refused with the new end, the leader resends from there at once (review 30).
   */
  snapshotInstalled(): void {
    this.leaderMatch = 0;
    this.held.reopen();
  }

  /**
   * The leader's AppendEntries (its sender already this node's leader). `authenticated`: the
   * transport proved its sender. Returns why it was dropped after the checks passed (its
   * entries do not chain onto what it says precedes them), or null when it was taken.
   */
  onAppend(m: AppendEntries, authenticated: boolean): string | null {
    const commit = this.node.commit();
    // Where we hold the leader's prevLogIndex with its term, we must hold its chain value too.
    if (m.prevLogChain && this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const mine = this.log.chain(m.prevLogIndex);
      if (mine && !sameChain(mine, m.prevLogChain)) {
        if (m.prevLogIndex <= commit) {
          this.node.diverge(m.prevLogIndex, `the leader's chain at ${m.prevLogIndex} is ${chainHex(m.prevLogChain)}, our committed entry's is ${chainHex(mine)}`);
          return null;
        }
        // An uncommitted entry of the same term but other content (corrupt, or forged):
        // have the leader start again from our commit index.
        this.rejectAppend(m, m.prevLogIndex, commit);
        return null;
      }
    }
    let prevIndex = m.prevLogIndex;
    let prevTerm = m.prevLogTerm;
    let entries = m.entries;
    if (prevIndex < commit) {
      // Everything up to our commit index is committed, so it must equal the leader's log;
      // the chain values the leader sent for those entries say whether it does.
      for (const e of entries) {
        if (e.index > commit) break;
        if (this.differsFromCommitted(e)) {
          this.node.diverge(e.index, `the leader's entry ${e.index} differs from our committed one`);
          return null;
        }
      }
      entries = entries.filter((e) => e.index > commit);
      prevIndex = commit;
      prevTerm = this.log.term(commit) ?? 0;
      if (entries.length > 0 && entries[0]!.index !== prevIndex + 1) entries = [];
    }
    this.authenticated = authenticated;
    const held = !this.commitVouched(m.term, m.from, authenticated);
    if (!this.log.matchTerm(prevIndex, prevTerm)) {
      if (held && this.held.full && entries.length > 0 && prevIndex > this.log.lastIndex()) {
        // Pipelined behind a message cut short by the bound on the held suffix. A refusal
        // would make the leader back up and send again at once, round trip after round trip.
        // A success for what we matched with it leaves this message in flight at the leader,
        // which stops once its window is full and resends after appendStallHeartbeats
        // heartbeats: it sees a slow follower. (An empty probe is refused as always: the
        // leader sends those one at a time.)
        this.replyAppended(m, this.leaderMatch);
        return null;
      }
      this.rejectAppend(m, prevIndex);
      return null;
    }
    if (held && entries.length > 0) entries = entries.slice(0, this.held.room(commit, prevIndex, entries));
    let written: number;
    try {
      written = this.log.merge(entries);
    } catch (err) {
      if (!(err instanceof ChainMismatchError)) throw err;
      // The message's entries do not chain onto what it says precedes them: corrupt or
      // forged. Nothing was changed; drop it (the leader resends what is not acknowledged).
      return err.message;
    }
    if (written > 0) {
      invariant(written > commit, `append would overwrite committed entry ${written}`);
      this.node.markUnstable(written);
      // Entries we had matched with this leader were replaced (only a forger of its term and
      // id sends that): what we matched past the cut is gone. A heartbeat commits up to
      // leaderMatch without a check there, so it must never run past what we hold.
      if (this.leaderMatch >= written) this.leaderMatch = written - 1;
    }
    const lastNew = prevIndex + entries.length;
    // Everything up to lastNew now equals the leader's log (the consistency check held at
    // prevIndex, and the rest was just written or matched).
    if (lastNew > this.leaderMatch) this.leaderMatch = lastNew;
    const newCommit = Math.min(m.leaderCommit, lastNew);
    if (newCommit > commit && !held) this.node.commitTo(newCommit);
    this.replyAppended(m, lastNew);
    return null;
  }

  /**
   * Refuses an AppendEntries whose entry before its first does not match, with the hints for
   * the leader's fast backup: the term there and where it starts (xTerm, xIndex) or, when the
   * log is too short, its length (xLen). `shortAt`: answer as if the log ended there (the
   * leader then resumes after it).
   */
  rejectAppend(m: AppendEntries, prevIndex: number, shortAt?: number): void {
    let xTerm = 0;
    let xIndex = 0;
    if (shortAt === undefined && prevIndex <= this.log.lastIndex() && this.log.term(prevIndex) !== undefined) {
      const found = this.log.firstIndexOfTermAtOrBefore(prevIndex);
      xTerm = found.term;
      xIndex = found.index;
    }
    this.node.reply(m, {
      type: 'appendReply',
      from: this.node.id,
      to: m.from,
      term: this.node.term(),
      success: false,
      matchIndex: 0,
      rejectedIndex: prevIndex,
      xTerm,
      xIndex,
      xLen: shortAt ?? this.log.lastIndex(),
    });
  }

  /** The leader's heartbeat (its sender already this node's leader). `authenticated`: the transport proved its sender. */
  onHeartbeat(m: Heartbeat, authenticated: boolean): void {
    this.authenticated = authenticated;
    this.commitFromHeartbeat(m, authenticated);
    this.node.reply(m, { type: 'heartbeatReply', from: this.node.id, to: m.from, term: this.node.term(), lastIndex: this.log.lastIndex(), leaderMatch: this.leaderMatch });
  }

  /** Committed entries read from ZooKeeper (when the leader cannot reach us), up to ZooKeeper's tail `zkLastIndex`. */
  committedFromZk(entries: readonly Entry[], zkLastIndex: number): void {
    if (!this.mergeCommitted(entries)) return;
    const reach = Math.min(zkLastIndex, this.log.lastIndex());
    if (reach > this.node.commit()) this.node.commitTo(reach);
  }

  /** Merges committed entries (from ZooKeeper). Returns false when they do not chain onto our committed log: divergence. */
  mergeCommitted(entries: readonly Entry[]): boolean {
    const commit = this.node.commit();
    // Entries up to our commit index must be exactly ours: our commit index may rest on a
    // message that lied (a forged AppendEntries in plaintext, issue 11 defect 1). The take-over
    // replay starts at our commit index itself, and one entry is enough: equal chain values
    // there mean equal logs up to there.
    for (const e of entries) {
      if (e.index > commit) break;
      if (this.differsFromCommitted(e)) {
        this.node.diverge(e.index, `ZooKeeper's committed entry ${e.index} differs from the one this node counted as committed`);
        return false;
      }
    }
    const fresh = entries.filter((e) => e.index > commit);
    if (fresh.length === 0) return true;
    invariant(fresh[0]!.index <= this.log.lastIndex() + 1, `committed entries start at ${fresh[0]!.index}, log ends at ${this.log.lastIndex()}`);
    let written: number;
    try {
      written = this.log.merge(fresh);
    } catch (err) {
      if (!(err instanceof ChainMismatchError)) throw err;
      this.node.diverge(err.index, `ZooKeeper's committed entries do not chain onto this node's committed log (${err.message})`);
      return false;
    }
    if (written > 0) {
      this.node.markUnstable(written);
      if (this.leaderMatch >= written) this.leaderMatch = written - 1;
    }
    return true;
  }

  private replyAppended(m: AppendEntries, matchIndex: number): void {
    this.node.reply(m, {
      type: 'appendReply',
      from: this.node.id,
      to: m.from,
      term: this.node.term(),
      success: true,
      matchIndex,
      rejectedIndex: 0,
      xTerm: 0,
      xIndex: 0,
      xLen: this.log.lastIndex(),
    });
  }

  /**
   * Whether the leader of `term` whose message is being taken may move this follower's
   * commit index (vouchedFor). A real new leader's first messages may come before its epoch
   * does: its entries are taken at once (up to the bound of held-suffix.ts), and committed with its
   * first message after the epoch watch fired.
   */
  private commitVouched(term: number, sender: NodeId, authenticated: boolean): boolean {
    return this.node.vouchedFor(term, authenticated, sender);
  }

  /**
   * A heartbeat's commit index moves ours only over entries matched with this leader in
   * this term (leaderMatch), and only when our entry at its index has the term it names.
   */
  private commitFromHeartbeat(m: Heartbeat, authenticated: boolean): void {
    const commit = this.node.commit();
    if (this.cfg.unsafeCommitWithoutTerm) {
      // TEST-ONLY FAULT: the old rule, which trusts the leader's idea of what we hold.
      const c = Math.min(m.commit, this.log.lastIndex());
      if (c > commit) this.node.commitTo(c);
      return;
    }
    const newCommit = Math.min(m.commit, this.leaderMatch);
    if (newCommit <= commit || !this.commitVouched(m.term, m.from, authenticated)) return;
    if (m.commit <= this.leaderMatch) {
      if (!this.log.matchTerm(m.commit, m.commitTerm)) return;
      const mine = this.log.chain(m.commit);
      if (m.commitChain && mine && !sameChain(mine, m.commitChain)) {
        // An entry we matched with this leader now differs from its: our log changed under us.
        this.node.diverge(m.commit, `the leader's chain at its commit index ${m.commit} is ${chainHex(m.commitChain)}, ours ${chainHex(mine)}`);
        return;
      }
    }
    this.node.commitTo(newCommit);
  }

  /**
   * Whether `e` (at or below our commit index) provably differs from what we committed there.
   * At the snapshot point we hold no entry, only its term and chain value: compare those.
   * Below it nothing is left to compare (the snapshot point's chain value covers it).
   */
  private differsFromCommitted(e: Entry): boolean {
    if (!e.chain) return false;
    const mine = this.log.chain(e.index);
    if (mine === undefined) return false;
    return this.log.term(e.index) !== e.term || !sameChain(mine, e.chain);
  }
}
