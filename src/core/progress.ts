// The leader's view of its follower's log.
//
// probe:     we do not know where the follower's log matches ours; one AppendEntries at
//            a time, moving `next` back with the fast-backup hints until one succeeds.
// replicate: `match` is known; AppendEntries are pipelined, at most maxInflight at once.
//
// Invariant: 0 <= match < next.
import { invariant } from './log.js';

export type ProgressState = 'probe' | 'replicate';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an AppendEntries is outstanding; cleared by a heartbeat reply or a reply to it. */
  probeSent = false;
  /** replicate: last index of each AppendEntries in flight, ascending. */
  private readonly inflight: number[] = [];
  private readonly maxInflight: number;

  constructor(next: number, maxInflight: number) {
    invariant(next >= 1, `progress next ${next} < 1`);
    this.next = next;
    this.maxInflight = maxInflight;
  }

  /** Whether another AppendEntries may be sent now. */
  canSend(): boolean {
    return this.state === 'probe' ? !this.probeSent : this.inflight.length < this.maxInflight;
  }

  inflightCount(): number {
    return this.inflight.length;
  }

  /** Records an AppendEntries whose last entry is lastIndex (prev when empty). */
  sent(lastIndex: number): void {
    if (this.state === 'probe') {
      this.probeSent = true;
      return;
    }
    this.inflight.push(lastIndex);
    this.next = lastIndex + 1;
  }

  /** A success reply: the follower matches up to matchIndex. Returns false for a stale reply. */
  acknowledge(matchIndex: number): boolean {
    while (this.inflight.length > 0 && this.inflight[0]! <= matchIndex) this.inflight.shift();
    if (matchIndex <= this.match) {
      if (this.state === 'probe') this.probeSent = false;
      return false;
    }
    this.match = matchIndex;
    if (this.next <= matchIndex) this.next = matchIndex + 1;
    if (this.state === 'probe') this.becomeReplicate();
    return true;
  }

  private matchAtLastHeartbeat = -1;
  private stalledHeartbeats = 0;

  /**
   * Notes a heartbeat reply (the follower's last index). Returns true when the follower
   * lags what was sent and its match has not moved for `stallLimit` heartbeats in a row:
   * what is in flight was probably lost. The limit must be long against the time a
   * follower takes to store a full window of large AppendEntries, or a follower catching
   * up from far behind is reset over and over and never gets there.
   */
  noteHeartbeat(followerLastIndex: number, stallLimit: number): boolean {
    const lagging = followerLastIndex < this.next - 1;
    if (lagging && this.match === this.matchAtLastHeartbeat) this.stalledHeartbeats++;
    else this.stalledHeartbeats = 0;
    this.matchAtLastHeartbeat = this.match;
    return this.stalledHeartbeats >= stallLimit;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.stalledHeartbeats = 0;
    this.probeSent = false;
    this.inflight.length = 0;
    // The follower may have lost anything past match (a restart with a torn WAL): start there.
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = this.match + 1;
  }

  /**
   * The follower's log ends before what we believed it matched: it lost entries (a
   * corrupt or torn local WAL, a wiped disk). Forget what we knew and probe from its end.
   */
  resetTo(followerLastIndex: number): void {
    this.match = 0;
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.stalledHeartbeats = 0;
    this.next = followerLastIndex + 1;
  }

  /** Whether the follower's match is still unknown up to next - 1 (an empty probe would tell). */
  needsProbe(): boolean {
    return this.state === 'probe' && this.match < this.next - 1;
  }

  /** Moves next back after a rejection; never below match + 1. */
  backUpTo(next: number): void {
    if (this.state === 'replicate') this.becomeProbe();
    this.next = Math.max(this.match + 1, next);
    this.probeSent = false;
  }
}
