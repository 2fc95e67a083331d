// The two voters of a cluster (the config znode) and where members can be reached
// (ephemeral members/<id> znodes).
import { ConfigError } from '../common/errors.js';
import type { ClusterPaths } from './layout.js';
import { decodeConfig, encodeConfig, encodeMember, type MemberRecord } from './records.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';

const MAX_CAS_ATTEMPTS = 20;
/** registerMember: create, or replace a previous process's znode, at most this many times. */
const MAX_REGISTER_ATTEMPTS = 3;

/**
 * Makes `id` a voter. The first two distinct ids to start fix the voters, unless
 * --voters names them. Returns the voters after registration.
 */
export async function registerVoter(zk: ZkSession, paths: ClusterPaths, id: string, votersFlag?: readonly string[]): Promise<string[]> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { data, stat } = await zk.getData(paths.config);
    const cfg = decodeConfig(paths.config, data);
    if (cfg.listeners.includes(id) && !cfg.voters.includes(id)) {
      // The config decides who votes (notes/listeners.md): a listener (or a demoted voter)
      // becomes a voter only by `duoraft admin promote`, never by starting as one.
      throw new ConfigError(
        `${id} is a listener of cluster ${paths.cluster}: start it with --role listener, or make it a voter with duoraft admin promote ${id}${cfg.voters.length === 2 ? ' --replace VOTER' : ''}`,
      );
    }
    const voters = [...cfg.voters];
    let wanted: string[] | null = null;
    if (votersFlag) {
      if (voters.length === 0 || (voters.length === 1 && votersFlag.includes(voters[0]!))) wanted = [...votersFlag];
      else if (!sameSet(voters, votersFlag)) {
        throw new ConfigError(`cluster ${paths.cluster} has voters ${voters.join(',')}; --voters ${votersFlag.join(',')} disagrees`);
      }
    } else if (!voters.includes(id)) {
      if (voters.length >= 2) {
        throw new ConfigError(
          `cluster ${paths.cluster} already has two voters (${voters.join(', ')}) and ${id} is not one of them; use one of those ids, or another --cluster`,
        );
      }
      wanted = [...voters, id];
    }
    if (!wanted) return voters;
    try {
      await zk.setData(paths.config, encodeConfig({ voters: wanted, listeners: cfg.listeners }), stat.version);
      return wanted;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'BAD_VERSION')) throw err;
      // Someone else changed the config in between: read it again.
    }
  }
  throw new ConfigError(`could not register voter ${id}: the config znode kept changing`);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Publishes this member's address as an ephemeral znode, replacing one left by an earlier life of it. */
export async function registerMember(zk: ZkSession, paths: ClusterPaths, record: MemberRecord): Promise<void> {
  const path = paths.member(record.id);
  const data = encodeMember(record);
  for (let attempt = 1; ; attempt++) {
    try {
      await zk.create(path, data, 'ephemeral');
      return;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err;
    }
    // Left by a previous process of this member whose session has not expired yet.
    try {
      await zk.multi([
        { type: 'delete', path, version: -1 },
        { type: 'create', path, data, mode: 'ephemeral' },
      ]);
      return;
    } catch (err) {
      // That session expired between the two calls, taking the znode with it (seen when both
      // voters restart at once): create it again. Bounded: a znode that keeps coming back
      // and going away is not this race.
      if (!(err instanceof ZkError && err.code === 'NO_NODE') || attempt >= MAX_REGISTER_ATTEMPTS) throw err;
    }
  }
}

export function peerOf(voters: readonly string[], self: string): string {
  return voters.find((v) => v !== self) ?? '';
}
