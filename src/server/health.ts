// Whether a member can do its role right now: the rule behind the gRPC health service
// (health-service.ts), the duoraft_serving gauge and `duoraft health`.
//
// SERVING only while the member would answer its clients correctly and promptly:
// - a leader whose ZooKeeper lease holds (it can commit, and no one can fence it) and whose
//   no-op of this term is committed (it may serve reads), and that is not handing over;
// - a follower that hears a leader (within the minimum election timeout) and is connected
//   to ZooKeeper (so it can catch up, and take over if the leader goes);
// - a listener that is fed (by an upstream, or reading ZooKeeper's log itself) and has not
//   been behind the commit index it heard of for longer than listenerMaxLagMs, and that is
//   not cut off from its source for longer than that either (an upstream silent, or
//   ZooKeeper disconnected while it reads ZooKeeper's log): its stale reads are then recent.
//   Lag alone is not enough: it is measured against a commit index the listener heard of, and
//   a listener that hears nothing is never "behind". Between upstreams, or catching up from far behind (a snapshot,
//   ZooKeeper's log), a load balancer should send stale reads elsewhere.
// NOT_SERVING otherwise: starting, suspecting the leader or taking over, stopping, or
// stopped because its state cannot be trusted. The reason goes to the log, never on the
// wire (the standard protocol carries the status alone).
import type { ListenerFigures, MemberFigures } from './node-figures.js';

export interface HealthVerdict {
  readonly serving: boolean;
  /** What the member is doing or lacks, for the log and the metrics' help. */
  readonly reason: string;
}

export interface HealthRules {
  /** A follower that has not heard the leader for longer than this is not serving. */
  readonly electionTimeoutMs: number;
  /** A listener behind the commit index it heard of for longer than this is not serving (default LISTENER_MAX_LAG_MS). */
  readonly listenerMaxLagMs?: number;
}

/**
 * Why 5 s: an upstream that goes silent is left after 2 s (4 feed heartbeats) and another
 * chosen within a probe round; a listener behind for longer is catching up from far behind.
 */
export const LISTENER_MAX_LAG_MS = 5000;

const serving = (reason: string): HealthVerdict => ({ serving: true, reason });
const notServing = (reason: string): HealthVerdict => ({ serving: false, reason });

export function healthOf(f: MemberFigures | null, rules: HealthRules): HealthVerdict {
  if (f === null) return notServing('starting');
  if (f.role === 'listener') return listenerHealthOf(f, rules);
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

function listenerHealthOf(f: ListenerFigures, rules: HealthRules): HealthVerdict {
  if (f.stopped) return notServing('stopped');
  if (f.upstream === '') return notServing('listener without an upstream (choosing one)');
  const maxLagMs = rules.listenerMaxLagMs ?? LISTENER_MAX_LAG_MS;
  if (f.lagMs > maxLagMs) return notServing(`listener ${f.lagEntries} entries behind for ${Math.round(f.lagMs)} ms (more than ${maxLagMs} ms)`);
  if (f.upstream === 'zookeeper') {
    // Connected, ZooKeeper's watch on the tail is its news (an idle cluster sends none);
    // disconnected, it would not hear of a commit.
    if (f.zkDisconnectedMs > maxLagMs) {
      return notServing(`listener reading ZooKeeper's log, disconnected from ZooKeeper for ${Math.round(f.zkDisconnectedMs)} ms (more than ${maxLagMs} ms)`);
    }
  } else if (f.commitNewsAgeMs > maxLagMs) {
    // An upstream sends its commit index at least every feed heartbeat (500 ms).
    return notServing(`listener fed by ${f.upstream} with no commit news for ${Math.round(f.commitNewsAgeMs)} ms (more than ${maxLagMs} ms)`);
  }
  return serving(f.upstream === 'zookeeper' ? 'listener reading ZooKeeper\'s log (depth 0)' : `listener fed by ${f.upstream} at depth ${f.depth}`);
}
