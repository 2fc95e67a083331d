// Whether a member can do its role right now: the rule behind the gRPC health service
// (health-service.ts), the duoraft_serving gauge and `duoraft health`.
//
// SERVING only while the member would answer its clients correctly and promptly:
// - a leader whose ZooKeeper lease holds (it can commit, and no one can fence it) and whose
//   no-op of this term is committed (it may serve reads), and that is not handing over;
// - a follower that hears a leader (within the minimum election timeout) and is connected
//   to ZooKeeper (so it can catch up, and take over if the leader goes).
// NOT_SERVING otherwise: starting, suspecting the leader or taking over, stopping, or
// stopped because its state cannot be trusted. The reason goes to the log, never on the
// wire (the standard protocol carries the status alone).
import type { NodeFigures } from './node-figures.js';

export interface HealthVerdict {
  readonly serving: boolean;
  /** What the member is doing or lacks, for the log and the metrics' help. */
  readonly reason: string;
}

export interface HealthRules {
  /** A follower that has not heard the leader for longer than this is not serving. */
  readonly electionTimeoutMs: number;
}

const serving = (reason: string): HealthVerdict => ({ serving: true, reason });
const notServing = (reason: string): HealthVerdict => ({ serving: false, reason });

export function healthOf(f: NodeFigures | null, rules: HealthRules): HealthVerdict {
  if (f === null) return notServing('starting');
  if (f.fatalReason !== null) return notServing(`stopped: ${f.fatalReason}`);
  if (f.stopped) return notServing('stopped');
  switch (f.role) {
    case 'leader':
      if (!f.leaseHolds) return notServing('leader without a valid ZooKeeper lease');
      if (!f.committedInTerm) return notServing('leader whose no-op is not committed yet');
      if (f.transferring) return notServing('leader handing leadership over');
      return serving(`leader of term ${f.term}`);
    case 'follower':
      if (f.leaderId === '') return notServing('follower that knows no leader');
      if (!(f.leaderContactAgeMs <= rules.electionTimeoutMs)) {
        return notServing(`follower that has not heard leader ${f.leaderId} for ${Number.isFinite(f.leaderContactAgeMs) ? `${Math.round(f.leaderContactAgeMs)} ms` : 'ever'}`);
      }
      if (!f.zkConnected) return notServing('follower not connected to ZooKeeper');
      return serving(`follower of ${f.leaderId} in term ${f.term}`);
    case 'precandidate':
      return notServing('suspecting the leader (waiting for its lease to go quiet)');
    case 'candidate':
      return notServing('taking over (fencing ZooKeeper and replaying its log)');
  }
}
