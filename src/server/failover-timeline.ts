// Splits a take-over, as the node that takes over lives it, into its phases, from the
// driver's and take-over runner's events (telemetry.ts):
//
//   detect       last word from the old leader -> suspecting it (becoming precandidate)
//   lease_wait   suspecting it -> its lease quiet for the lease window (becoming candidate)
//   fence        the fence multi, from the take-over's start to its success
//   replay       reading ZooKeeper's tail and the entries after our commit index
//   first_commit leading -> the new term's no-op committed in ZooKeeper (writes resume)
//
// and the whole, from the last word of the old leader (or the first suspicion, when there
// was none) to the first commit: the failover as clients see it, less at most one
// heartbeat interval (the old leader may have died up to a heartbeat after its last word).
// A transfer has no detect: it starts when the leader's TimeoutNow arrives. Its lease_wait,
// when it has one, is the wait for the lease znode to confirm the hand-over (the TimeoutNow
// came before the lease watch showed the relinquished record; notes/safety.md), or for the
// lease window when it never did.
// An election with no leader before it (a cluster starting) has no detect.
import type { Clock } from '../common/clock.js';
import type { SoftState } from '../core/raft.js';
import type { TakeoverSample } from './takeover-runner.js';

export type TakeoverKind = 'failover' | 'transfer' | 'election';
export type TakeoverPhase = 'detect' | 'lease_wait' | 'fence' | 'replay' | 'first_commit';

export interface TimelineSink {
  /** A take-over ended: ok, or failed (this node did not lead). */
  takeover(kind: TakeoverKind, ok: boolean): void;
  phase(kind: TakeoverKind, phase: TakeoverPhase, ms: number): void;
  /** A successful take-over's first commit: the whole failover. */
  failover(kind: TakeoverKind, ms: number): void;
}

interface Won {
  readonly kind: TakeoverKind;
  readonly startedAt: number;
  leaderAt: number | null;
  leaderTerm: number;
}

export class FailoverTimeline {
  private suspectAt: number | null = null;
  private lastContactAt: number | null = null;
  private candidateAt: number | null = null;
  /** The node was a pre-candidate before it became a candidate (a transfer waited on ZooKeeper). */
  private waitedAsPrecandidate = false;
  private won: Won | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly sink: TimelineSink,
  ) {}

  roleChanged(prev: SoftState, next: SoftState, leaderContactAgeMs: number): void {
    if (prev.role === next.role) return;
    const now = this.clock.now();
    const fromFollower = prev.role === 'follower';
    if ((next.role === 'precandidate' || next.role === 'candidate') && fromFollower) {
      this.suspectAt = now;
      this.lastContactAt = prev.leaderId !== '' && Number.isFinite(leaderContactAgeMs) ? now - leaderContactAgeMs : null;
    }
    if (next.role === 'precandidate') this.waitedAsPrecandidate = true;
    if (next.role === 'candidate') this.candidateAt = now;
    if (next.role === 'leader' && this.won) {
      this.won.leaderAt = now;
      this.won.leaderTerm = next.term;
    }
    if (next.role === 'follower' || prev.role === 'leader') this.reset();
  }

  takeoverDone(s: TakeoverSample): void {
    const now = this.clock.now();
    const kind: TakeoverKind = s.transfer ? 'transfer' : this.lastContactAt !== null ? 'failover' : 'election';
    this.sink.takeover(kind, s.ok);
    if (!s.ok || s.fenceMs === null || s.replayMs === null) {
      this.reset();
      return;
    }
    const candidateAt = this.candidateAt ?? now - s.fenceMs - s.replayMs;
    if (kind === 'failover' && this.suspectAt !== null && this.lastContactAt !== null) this.sink.phase(kind, 'detect', this.suspectAt - this.lastContactAt);
    if ((kind !== 'transfer' || this.waitedAsPrecandidate) && this.suspectAt !== null) this.sink.phase(kind, 'lease_wait', candidateAt - this.suspectAt);
    this.sink.phase(kind, 'fence', s.fenceMs);
    this.sink.phase(kind, 'replay', s.replayMs);
    const startedAt = kind === 'transfer' ? (this.suspectAt ?? candidateAt) : (this.lastContactAt ?? this.suspectAt ?? candidateAt);
    this.won = { kind, startedAt, leaderAt: null, leaderTerm: 0 };
  }

  committedInTerm(term: number): void {
    const won = this.won;
    if (!won || won.leaderAt === null || won.leaderTerm !== term) return;
    const now = this.clock.now();
    this.sink.phase(won.kind, 'first_commit', now - won.leaderAt);
    this.sink.failover(won.kind, now - won.startedAt);
    this.reset();
  }

  private reset(): void {
    this.suspectAt = null;
    this.lastContactAt = null;
    this.candidateAt = null;
    this.waitedAsPrecandidate = false;
    this.won = null;
  }
}
