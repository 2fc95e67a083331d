// Waiting for the cluster to be whole again after a fault: both voters running, a leader
// its follower agrees on, and the follower caught up with what the leader had committed.
// Every wait is bounded; running out of time is a TimeoutError naming what was missing.
import { TimeoutError } from '../../common/errors.js';
import { waitRejoined } from '../failover.js';
import type { ProcessCluster } from '../process-cluster.js';

export interface Settled {
  readonly leader: string;
  readonly follower: string;
}

/** How long one try waits for the follower to rejoin the leader it found, before looking again. */
const REJOIN_TRY_MS = 3_000;

export async function waitSettled(cluster: ProcessCluster, timeoutMs: number, what: string): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const down = cluster.ids().filter((id) => !cluster.running(id));
  if (down.length > 0) throw new TimeoutError(`${what}: node(s) ${down.join(', ')} not running`);
  // Leadership may move again while we wait (a voter that resumed from a pause can win the
  // next term): each try finds the leader afresh, so a later change is waited out too.
  let lastProblem = '';
  while (Date.now() < deadline) {
    let leader: string;
    try {
      leader = await cluster.waitForLeader(left());
    } catch (err) {
      throw new TimeoutError(`${what}: no agreed leader within ${timeoutMs} ms (${(err as Error).message})`);
    }
    const follower = cluster.ids().find((id) => id !== leader);
    if (follower === undefined) throw new TimeoutError(`${what}: the cluster has one node only`);
    try {
      await waitRejoined(cluster, follower, leader, Math.min(left(), REJOIN_TRY_MS));
      return { leader, follower };
    } catch (err) {
      lastProblem = `${follower} did not catch up with ${leader} (${(err as Error).message})`;
    }
  }
  throw new TimeoutError(`${what}: not whole again within ${timeoutMs} ms: ${lastProblem}`);
}
