// The leader's background writes to ZooKeeper (snapshot uploads, prune, compaction): every
// one is a multi that first checks the epoch version the caller holds, so a deposed leader
// can never change what the current one relies on.
//
// These writes are idempotent steps (create this exact znode, delete these), so an
// unknown outcome (connection lost, timeout) is resolved by reading after a sync, then
// retrying what did not happen, a bounded number of times.
import type { Clock } from '../common/clock.js';
import { sleep } from '../common/clock.js';
import { EpochFencedError, UnavailableError } from '../common/errors.js';
import type { ClusterPaths } from './layout.js';
import type { ZkOp, ZkOpResult, ZkSession } from './zk-api.js';
import { ZkError, outcomeUnknown } from './zk-api.js';

export interface EpochWriter {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  /** The epoch znode version the caller holds (>= 1). */
  readonly epochVersion: number;
}

/** Attempts of one step before giving up with UNAVAILABLE. */
export const STEP_ATTEMPTS = 6;
const BACKOFF_MIN_MS = 20;
const BACKOFF_MAX_MS = 1_000;
/** How long a step waits for a lost connection to come back. */
const RECONNECT_WAIT_MS = 5_000;

/**
 * multi(check(epoch), ...ops). Resolves with the results of ops (without the check's), or
 * null when the outcome is unknown (the caller reads to find out). Throws EpochFencedError
 * when the epoch moved, and the ZkError of any other refusal.
 */
export async function epochMulti(w: EpochWriter, ops: readonly ZkOp[], what: string): Promise<ZkOpResult[] | null> {
  try {
    const results = await w.zk.multi([{ type: 'check', path: w.paths.epoch, version: w.epochVersion }, ...ops]);
    return results.slice(1);
  } catch (err) {
    if (!(err instanceof ZkError)) throw err;
    if (err.failedOp === 0 && (err.code === 'BAD_VERSION' || err.code === 'NO_NODE')) throw new EpochFencedError(w.epochVersion, what);
    if (outcomeUnknown(err.code) || err.code === 'NOT_CONNECTED') return null;
    throw err;
  }
}

/** Waits for the connection (bounded) and syncs, so that reads after it see every write sent before. */
export async function settle(w: EpochWriter): Promise<void> {
  if (w.zk.state !== 'connected') await w.zk.waitConnected(RECONNECT_WAIT_MS);
  await w.zk.sync(w.paths.root);
}

/**
 * Runs an idempotent step until `attempt` reports it done: attempt() returns true when the
 * step is known to have happened, false to try again. Unknown outcomes and connection
 * errors are retried with backoff; after STEP_ATTEMPTS it fails with UNAVAILABLE.
 */
export async function retryStep(w: EpochWriter, what: string, attempt: () => Promise<boolean>): Promise<void> {
  let backoff = BACKOFF_MIN_MS;
  let last = 'no attempt';
  for (let i = 0; i < STEP_ATTEMPTS; i++) {
    try {
      if (await attempt()) return;
      last = 'outcome unknown';
    } catch (err) {
      if (!(err instanceof ZkError) || !(outcomeUnknown(err.code) || err.code === 'NOT_CONNECTED')) throw err;
      last = err.message;
    }
    await sleep(w.clock, backoff);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    try {
      await settle(w);
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new UnavailableError(`${what}: ZooKeeper did not confirm it after ${STEP_ATTEMPTS} attempts (${last}); try again later`);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** The data of path, or null if it does not exist. */
export async function readOrNull(zk: ZkSession, path: string): Promise<{ data: Uint8Array; version: number } | null> {
  try {
    const r = await zk.getData(path);
    return { data: r.data, version: r.stat.version };
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') return null;
    throw err;
  }
}

/**
 * Creates path with data under the epoch check, exactly once: if it already holds exactly
 * data (an earlier attempt landed), that is success; other content is an error.
 */
export async function createOnce(w: EpochWriter, path: string, data: Uint8Array): Promise<void> {
  await retryStep(w, `create ${path}`, async () => {
    try {
      const done = await epochMulti(w, [{ type: 'create', path, data, mode: 'persistent' }], `create ${path}`);
      if (done) return true;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err;
    }
    await settle(w);
    const now = await readOrNull(w.zk, path);
    if (!now) return false;
    if (!sameBytes(now.data, data)) throw new ZkError('NODE_EXISTS', path, `${path} already exists with other content`);
    return true;
  });
}

/**
 * Deletes paths (leaves before their parents, in order) under the epoch check, in multis
 * of at most batch ops. Paths already gone count as deleted.
 */
export async function deleteAll(w: EpochWriter, paths: readonly string[], batch: number, what: string): Promise<void> {
  for (let at = 0; at < paths.length; at += batch) {
    let rest = paths.slice(at, at + batch);
    await retryStep(w, what, async () => {
      try {
        const done = await epochMulti(w, rest.map((path) => ({ type: 'delete', path, version: -1 })), what);
        if (done) return true;
      } catch (err) {
        if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err;
      }
      // Unknown, or some were gone already: keep those still there, and go again.
      await settle(w);
      const still: string[] = [];
      for (const path of rest) if ((await w.zk.exists(path)) !== null) still.push(path);
      rest = still;
      return rest.length === 0;
    });
  }
}
