// A running listener that `config` no longer lists registers itself again. `admin
// remove-listener` succeeds only while the listener has no member znode: while it starts
// (registered, WAL and snapshot still loading) or while its session is gone (expired, a
// demoted voter restarting in-process as a listener). It runs, so it must be listed;
// stopping would turn an operator's clean-up into an outage with the wrong advice.
import type { Clock } from '../../common/clock.js';
import { sleep } from '../../common/clock.js';
import { ListenerIsVoterError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterPaths } from '../../coordination/layout.js';
import { registerListener } from '../../coordination/listener-config.js';
import type { ZkSession } from '../../coordination/zk-api.js';

export interface RegisterAgainOptions {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly id: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Tries, RETRY_MS apart; after the last a failure is logged and the next change of config tries again. */
  readonly attempts: number;
  /** True once the listener is stopping: no more tries. */
  readonly stopping: () => boolean;
}

const RETRY_MS = 1000;

/**
 * Resolves true once listed again (or found a voter: promoted meanwhile, the role watch
 * acts); false when it gave up or the listener began to stop. stopping() is checked before
 * every try, the first included: a listener shutting down must not list itself again (an
 * operator stops it, then removes it).
 */
export async function registerAgain(o: RegisterAgainOptions): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    if (o.stopping()) {
      o.logger.info({ attempt }, 'not registering again as a listener: this listener is stopping');
      return false;
    }
    try {
      await registerListener(o.zk, o.paths, o.id);
      o.logger.warn('registered again as a listener in the cluster configuration');
      return true;
    } catch (err) {
      if (err instanceof ListenerIsVoterError) return true;
      if (attempt >= o.attempts) {
        o.logger.error({ err: (err as Error).message, attempt }, 'could not register again as a listener; the next change of the config znode tries again');
        return false;
      }
      await sleep(o.clock, RETRY_MS);
    }
  }
}

/**
 * One registerAgain loop at a time. The role watch calls back on every read of `config` that
 * finds this listener unlisted (each reconnect, each new session); without this each call
 * started its own loop of `attempts` tries, so a flapping session stacked loops. A call while
 * a loop runs is dropped (that loop is already trying); the first call after it ended starts
 * the next one. Returns the function to pass as onUnlisted, and the running loop (tests).
 */
export function registerAgainOnce(o: RegisterAgainOptions): { readonly onUnlisted: () => void; readonly running: () => Promise<boolean> | null } {
  let inFlight: Promise<boolean> | null = null;
  const onUnlisted = (): void => {
    if (inFlight !== null) return;
    const loop = registerAgain(o).catch((err: unknown) => {
      o.logger.error({ err: (err as Error).message }, 'registering again as a listener failed; the next change of the config znode tries again');
      return false;
    });
    inFlight = loop;
    void loop.finally(() => {
      if (inFlight === loop) inFlight = null;
    });
  };
  return { onUnlisted, running: () => inFlight };
}
