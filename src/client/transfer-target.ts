// Which voter a leadership transfer names when its caller names none: the one ZooKeeper does
// not name as leader. A request that names its target means "make it the leader", which a
// retry or a second run cannot turn into a hand-back (the target answers "already leads"); an
// unnamed one means "whoever does not lead", which after the hand-over is the old leader.
import type { Clock } from '../common/clock.js';
import { TimeoutError, UnavailableError } from '../common/errors.js';
import type { ClusterPaths } from '../coordination/layout.js';
import { decodeConfig } from '../coordination/records.js';
import { ZkError, type ZkSession } from '../coordination/zk-api.js';
import type { LeaderDiscovery } from './leader-discovery.js';

/** The voter of `voters` other than `leaderId`; UNAVAILABLE when there is none to name. */
export function otherVoter(voters: readonly string[], leaderId: string): string {
  if (!voters.includes(leaderId)) {
    throw new UnavailableError(
      `ZooKeeper names ${leaderId} as leader, which is not among the voters (${voters.join(', ') || 'none'}): name the voter to hand over to (--to)`,
    );
  }
  const others = voters.filter((v) => v !== leaderId);
  const other = others[0];
  if (others.length !== 1 || other === undefined) throw new UnavailableError(`there is no other voter than ${leaderId} to hand over to`);
  return other;
}

/**
 * The voter other than the leader, as ZooKeeper says by `deadline`: the leader znode (waited
 * for while absent) and the config znode's voters.
 */
export async function transferTarget(zk: ZkSession, paths: ClusterPaths, discovery: LeaderDiscovery, clock: Clock, deadline: number): Promise<string> {
  let leader = discovery.current();
  while (!leader) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new TimeoutError('no leader is known, so neither which voter to hand over to: retry, or name it (--to)');
    await discovery.changed(remaining);
    leader = discovery.current();
  }
  let data: Uint8Array;
  try {
    ({ data } = await zk.getData(paths.config));
  } catch (err) {
    if (!(err instanceof ZkError)) throw err;
    throw new UnavailableError(`cannot read the voters from ZooKeeper (${err.code}): retry, or name the voter to hand over to (--to)`, { cause: err });
  }
  return otherVoter(decodeConfig(paths.config, data).voters, leader.id);
}
