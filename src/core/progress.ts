// The leader's view of its follower's log.
//
// probe:     we do not know where the follower's log matches ours; one AppendEntries at
//            a time, moving `next` back with the fast-backup hints until one succeeds.
// replicate: `match` is known; AppendEntries are pipelined, at most maxInflight messages
//            and maxInflightBytes of entry data at once (the first message always goes).
// snapshot:  the follower needs entries this log has compacted away: it is being sent a
//            snapshot (by the driver); nothing else is sent until that ends.
//
// Why a byte bound: each AppendEntries is its own call, and calls in flight share one
// HTTP/2 connection and its flow-control window. Eight 256 KiB messages to a follower far
// behind all progress at an eighth of the bandwidth, may complete out of order, and can all
// miss their deadline together, after which the whole window is sent again while the old
// calls still hold the connection: a congestion collapse (seen in chaos runs after wiped
// restarts). Bounding the bytes keeps large messages one at a time, in order, each at the
// full bandwidth; small messages (steady state) still pipeline.
//
// Invariant: 0 <= match < next.
import { invariant } from './log.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an AppendEntries is outstanding; cleared by a heartbeat reply or a reply to it. */
  probeSent = false;
  /**
   * snapshot: the follower's last index at which we last stopped waiting because it came
   * back within our log on its own (-1: never). Not again at the same index: a follower
   * whose own suffix there conflicts would be probed at every heartbeat.
   */
  selfRecoveredAt = -1;
  /** replicate: each AppendEntries in flight (its last index and data bytes), ascending. */
  private readonly inflight: Array<{ readonly last: number; readonly bytes: number }> = [];
  private inflightBytes = 0;
  private readonly maxInflight: number;
  private readonly maxInflightBytes: number;

  constructor(next: number, maxInflight: number, maxInflightBytes = Number.POSITIVE_INFINITY) {
    invariant(next >= 1, `progress next ${next} < 1`);
    this.next = next;
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  /** Whether another AppendEntries may be sent now. */
  canSend(): boolean {
    if (this.state === 'snapshot') return false;
    if (this.state === 'probe') return !this.probeSent;
    return this.inflight.length < this.maxInflight && this.inflightBytes < this.maxInflightBytes;
  }

  /**
   * Whether the bytes in flight fill the window (the follower is far behind and the leader
   * streams to it): then the leader waits on the follower's answers, not only on its count.
   */
  bytesFull(): boolean {
    return this.inflightBytes >= this.maxInflightBytes;
  }

  /** Records an AppendEntries whose last entry is lastIndex (prev when empty) carrying `bytes` of entry data. */
  sent(lastIndex: number, bytes = 0): void {
    if (this.state === 'probe') {
      this.probeSent = true;
      return;
    }
    this.inflight.push({ last: lastIndex, bytes });
    this.inflightBytes += bytes;
    this.next = lastIndex + 1;
  }

  /** A success reply: the follower matches up to matchIndex. Returns false for a stale reply. */
  acknowledge(matchIndex: number): boolean {
    while (this.inflight.length > 0 && this.inflight[0]!.last <= matchIndex) this.inflightBytes -= this.inflight.shift()!.bytes;
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
    this.clearInflight();
    // The follower may have lost anything past match (a restart with a torn WAL): start there.
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.clearInflight();
    this.next = this.match + 1;
  }

  /**
   * What the follower acknowledged may be gone (it restarted, or rejected a probe at or
   * below its match). Keep probing where we are (next), but trust no match until a probe
   * succeeds again.
   */
  forgetMatch(): void {
    this.match = 0;
    this.state = 'probe';
    this.clearInflight();
    this.stalledHeartbeats = 0;
  }

  /**
   * The follower's log ends before what we believed it matched: it lost entries (a
   * corrupt or torn local WAL, a wiped disk). Forget what we knew and probe from its end.
   */
  resetTo(followerLastIndex: number): void {
    this.match = 0;
    this.state = 'probe';
    this.probeSent = false;
    this.clearInflight();
    this.stalledHeartbeats = 0;
    this.next = followerLastIndex + 1;
  }

  private clearInflight(): void {
    this.inflight.length = 0;
    this.inflightBytes = 0;
  }

  /** The follower needs a snapshot: stop sending until snapshotDone(). */
  becomeSnapshot(): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.clearInflight();
    this.stalledHeartbeats = 0;
  }

  /**
   * The snapshot transfer ended: installed at `index` (probe right after it: the follower
   * verifies the point, then replication resumes), or failed (null: probe where we were;
   * the need is found again and a new transfer starts).
   */
  snapshotDone(index: number | null): void {
    this.state = 'probe';
    this.probeSent = false;
    if (index !== null && index + 1 > this.next) this.next = index + 1;
    if (index !== null) this.match = 0;
  }

  /** Nothing in flight (replicate state). */
  idle(): boolean {
    return this.inflight.length === 0;
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
