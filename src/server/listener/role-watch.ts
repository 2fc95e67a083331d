// The config znode decides who votes (PROTOCOL.md section 3). A member follows it: a
// listener that finds itself among the voters (promoted) becomes a voter, a voter that finds
// itself among the listeners (demoted) becomes a listener, and a voter that is in neither
// (replaced: promoted away while it was thought dead) stops. A listener in neither list does
// not stop: it runs, so it must be listed (`admin remove-listener` succeeds only while a
// listener has no member znode: while it starts, or after its session expired), and it
// registers itself again (onUnlisted).
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterPaths } from '../../coordination/layout.js';
import { decodeConfig, type ConfigRecord } from '../../coordination/records.js';
import type { ZkSession } from '../../coordination/zk-api.js';
import { ZnodeWatch } from '../../coordination/znode-watch.js';

export type MemberRole = 'voter' | 'listener';

/** The role `id` has in `cfg` (null: neither a voter nor a listener). */
export function roleIn(cfg: ConfigRecord, id: string): MemberRole | null {
  if (cfg.voters.includes(id)) return 'voter';
  if (cfg.listeners.includes(id)) return 'listener';
  return null;
}

export interface RoleWatchOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly selfId: string;
  readonly current: MemberRole;
  /** The config gives this member another role (null: removed). Called once. */
  readonly onChange: (to: MemberRole | null) => void;
  /** A listener found itself in neither list (removed while it ran): it registers again. Called each time. */
  readonly onUnlisted?: (cfg: ConfigRecord) => void;
}

export function watchRole(o: RoleWatchOptions): { stop(): void } {
  let told = false;
  const watch = new ZnodeWatch({
    zk: o.zk,
    clock: o.clock,
    logger: o.logger,
    path: o.paths.config,
    onChange: (st) => {
      if (told || !st.exists) return;
      let cfg: ConfigRecord;
      try {
        cfg = decodeConfig(o.paths.config, st.data);
      } catch (err) {
        o.logger.error({ err: (err as Error).message }, 'the config znode does not decode: keeping the current role');
        return;
      }
      const role = roleIn(cfg, o.selfId);
      if (role === null && o.current === 'listener' && o.onUnlisted) {
        o.logger.warn({ voters: cfg.voters, listeners: cfg.listeners }, 'this listener runs but the cluster configuration no longer lists it (removed while starting or while its session was gone): registering again');
        o.onUnlisted(cfg);
        return;
      }
      // A voter not yet registered (the first start of a cluster) is in neither list yet.
      if (role === o.current || (role === null && o.current === 'voter' && cfg.voters.length < 2)) return;
      told = true;
      o.logger.warn({ from: o.current, to: role ?? 'removed', voters: cfg.voters, listeners: cfg.listeners }, 'the cluster configuration changed this member\'s role');
      o.onChange(role);
    },
  });
  return { stop: () => watch.stop() };
}
