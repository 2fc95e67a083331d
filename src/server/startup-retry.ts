// Start-up survives ZooKeeper coming and going (issue 10 point 5): a node that cannot reach
// ZooKeeper yet, or loses it while it reads the cluster tree or downloads a snapshot, waits
// and tries again with backoff; it never exits for that. (A restarted node that exited here
// used to leave a two-node cluster with one voter until someone noticed.)
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { ZkError, type ZkErrorCode, type ZkSession } from '../coordination/zk-api.js';

/** ZooKeeper errors that say "not now", not "never": the step is tried again. */
const TRANSIENT: ReadonlySet<ZkErrorCode> = new Set(['NOT_CONNECTED', 'CONNECTION_LOSS', 'TIMEOUT', 'SESSION_EXPIRED']);

export function isTransientZkError(err: unknown): err is ZkError {
  return err instanceof ZkError && TRANSIENT.has(err.code);
}

export interface StartupRetryOptions {
  readonly zk: Pick<ZkSession, 'waitConnected' | 'state'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** First wait after a failure; doubles up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Give up (rethrow the last error) after this long; absent or 0: never. */
  readonly giveUpAfterMs?: number;
  /** Stops the waiting (the process is shutting down): the last error is thrown. */
  readonly stopped?: () => boolean;
}

const DEFAULT_INITIAL_BACKOFF_MS = 100;
const DEFAULT_MAX_BACKOFF_MS = 2000;
/** How long one wait for the connection lasts before the loop logs and waits again. */
const CONNECT_WAIT_SLICE_MS = 5000;
/** The first wait is short, so an operator learns at once what the node is waiting for. */
const FIRST_CONNECT_WAIT_MS = 1000;

/**
 * Waits until the session is connected: indefinitely by default, logging every few seconds
 * so an operator sees what the node waits for.
 */
export async function waitForZooKeeper(what: string, o: StartupRetryOptions): Promise<void> {
  const started = o.clock.now();
  for (let attempt = 1; ; attempt++) {
    const slice = attempt === 1 ? FIRST_CONNECT_WAIT_MS : CONNECT_WAIT_SLICE_MS;
    const remaining = o.giveUpAfterMs ? o.giveUpAfterMs - (o.clock.now() - started) : slice;
    try {
      await o.zk.waitConnected(Math.max(1, Math.min(slice, remaining)));
      return;
    } catch (err) {
      const waited = Math.round(o.clock.now() - started);
      if (o.stopped?.() || (o.giveUpAfterMs && waited >= o.giveUpAfterMs)) throw err;
      if (!(err instanceof ZkError) || err.code === 'CLOSED') throw err;
      o.logger.warn({ waitedMs: waited, attempt, state: o.zk.state }, `${what}: ZooKeeper does not answer yet; still waiting (the node starts once it does)`);
    }
  }
}

/**
 * Runs `step` until it succeeds; a transient ZooKeeper error (not connected, connection lost,
 * timed out, session expired) waits with backoff for the connection and runs it again, so
 * `step` must be safe to repeat. Any other error is thrown at once.
 */
export async function retryWhileZkUnavailable<T>(what: string, step: () => Promise<T>, o: StartupRetryOptions): Promise<T> {
  const started = o.clock.now();
  let backoff = o.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
  const maxBackoff = o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransientZkError(err)) throw err;
      const elapsed = o.clock.now() - started;
      if (o.stopped?.() || (o.giveUpAfterMs && elapsed >= o.giveUpAfterMs)) throw err;
      o.logger.warn({ attempt, err: err.message, retryInMs: backoff }, `${what}: ZooKeeper was lost during start-up; trying again`);
      await new Promise<void>((resolve) => o.clock.setTimeout(resolve, backoff));
      backoff = Math.min(maxBackoff, backoff * 2);
      await waitForZooKeeper(what, o);
    }
  }
}
