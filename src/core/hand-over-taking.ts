// The follower's side of a leadership transfer as the core drives it: takes a TimeoutNow from
// its leader (or restated by the sender it waits on), waits as a pre-candidate on the lease
// watch to confirm it, and acts on what the wait decides on a lease sighting or a tick (fence
// now, or follow the sender again); until it follows or leads again it drops what the sender
// sent before its TimeoutNow. hand-over.ts holds the wait's rules (HandOverWait); this carries
// them out. The roles and the term stay RaftCore's: this reads them and moves them through the
// node it works for. The counterpart of transfer-driving.ts, the leader's side. Pure: no I/O,
// no clock.
import { type HandOverAction, HandOverWait, type LeaseSighting } from './hand-over.js';
import type { Message, TimeoutNow } from './messages.js';
import type { NodeId, Role } from './types.js';

/** The node a leader hands over to, as it stands at each call (RaftCore). */
export interface HandedOverNode {
  role(): Role;
  term(): number;
  leaderId(): NodeId;
  /** The core's clock: ticks since the node started. */
  ticks(): number;
  /** A leader was heard from: the election timer starts over. */
  heardFromLeader(): void;
  becomeFollower(term: number, leaderId: NodeId): void;
  becomePreCandidate(): void;
  becomeCandidate(transfer: boolean): void;
}

export class HandOverTaking {
  /** Pre-candidate: a TimeoutNow it waits on ZooKeeper to confirm (hand-over.ts). Candidacy reads it too. */
  readonly wait: HandOverWait;
  /**
   * (Pre)candidate: the leader whose TimeoutNow made us one. Its AppendEntries and
   * heartbeats of the same term were sent before the hand-over (each call is its own HTTP/2
   * stream, so they can arrive after the TimeoutNow) and must not turn us back into its
   * follower before the take-over it asked for has even started, nor while we wait for
   * ZooKeeper to confirm it.
   */
  private handedOverBy: NodeId = '';

  constructor(
    timeoutTicks: number,
    private readonly node: HandedOverNode,
  ) {
    this.wait = new HandOverWait(timeoutTicks);
  }

  /**
   * Whether `m`, of this node's term, is an AppendEntries or heartbeat that the leader which
   * handed over to this (pre)candidate sent before its TimeoutNow: the core drops it.
   */
  sentBeforeHandOver(m: Message): boolean {
    const role = this.node.role();
    return (role === 'candidate' || role === 'precandidate') && m.from === this.handedOverBy && (m.type === 'append' || m.type === 'heartbeat');
  }

  /**
   * The leader hands over. Taken at once only when the lease znode confirms it (hand-over.ts):
   * anyone can send this in plaintext. Until then this node is a pre-candidate that waits on
   * the lease watch, and on the ordinary take-over (the lease quiet for the window after
   * silence) should ZooKeeper never confirm it: an older leader writes no relinquished record.
   */
  onTimeoutNow(m: TimeoutNow): void {
    const waitingOnIt = this.node.role() === 'precandidate' && this.wait.waitsOn(m.from);
    if (!waitingOnIt && (this.node.role() !== 'follower' || this.node.leaderId() !== m.from)) return;
    const start = this.wait.receive({ from: m.from, term: m.term, leaseVersion: m.leaseVersion }, this.node.ticks());
    // 'ignore': it touched its lease after the version it names: a stale TimeoutNow (a transfer it gave up), or a forged one.
    if (start === 'ignore') return;
    // Restated while we wait on it: not news from a leader. The election timer runs on, so the
    // pre-vote is asked again (a live leader objects), however often a forger sends this.
    if (!waitingOnIt) this.node.heardFromLeader();
    this.handedOverBy = m.from;
    if (start === 'take-over') {
      this.node.becomeCandidate(true);
      return;
    }
    if (this.node.role() === 'follower') this.node.becomePreCandidate();
    if (this.node.role() === 'precandidate') this.actOn(this.wait.judge());
  }

  /** A tick as a pre-candidate: a wait past the transfer timeout follows the sender again. */
  tick(): void {
    this.actOn(this.wait.onTick(this.node.ticks()));
  }

  /**
   * The lease watch saw `version` (holding `record`, when read): a pre-candidate acts on what
   * it says of the hand-over it waits on.
   */
  observeLease(version: number, record: Omit<LeaseSighting, 'version'> | undefined): void {
    this.wait.sight(version, record);
    if (this.node.role() === 'precandidate') this.actOn(this.wait.judge());
  }

  /** The node follows or leads: no hand-over waited on, and no earlier message of a sender dropped. */
  reset(): void {
    this.handedOverBy = '';
    this.wait.clear();
  }

  /** The node became a candidate: the wait is over; the sender's earlier messages are still dropped. */
  candidacyStarted(): void {
    this.wait.clear();
  }

  /** Why a hand-over was not taken as confirmed, if there is news (handed out once, Ready.handOverUnconfirmed). */
  takeNote(): string | undefined {
    return this.wait.takeNote();
  }

  get hasNote(): boolean {
    return this.wait.hasNote;
  }

  /** Moves as the hand-over wait says (hand-over.ts). */
  private actOn(action: HandOverAction): void {
    if (action.kind === 'take-over') this.node.becomeCandidate(true);
    else if (action.kind === 'follow') this.node.becomeFollower(this.node.term(), action.sender);
  }
}
