// Listeners in the `config` znode, the two admin changes of who votes (promoting a listener
// in place of a voter, demoting a voter to a listener), and removing a listener that is gone
// for good. Every change is one compare-and-set on `config` (its version), retried on a
// concurrent change.
//
// Promotion must never make a cluster of three live voters (the old one would still act on
// a configuration that counts it): it is refused while the voter to replace is alive, which
// ZooKeeper shows in two ways, and both are checked in the same multi that writes `config`:
// - its ephemeral members/<id> znode exists (its session lives): the multi creates and
//   deletes that path, which fails with NODE_EXISTS if it is there;
// - it leads and touches `lease`: the lease is read, watched for a window, and the multi
//   checks the version seen at the end of it.
// (notes/listeners.md, notes/safety.md "Promotion".)
import type { Clock } from '../common/clock.js';
import { sleep } from '../common/clock.js';
import { ConfigError, ListenerIsVoterError, PromotionRefusedError, RemovalRefusedError, UnauthenticatedError, ZkUnavailableError } from '../common/errors.js';
import type { ClusterPaths } from './layout.js';
import { decodeConfig, decodeLease, decodeMember, encodeConfig, type ConfigRecord, type MemberRecord } from './records.js';
import { outcomeUnknown, ZkError, type ZkSession } from './zk-api.js';

const MAX_CAS_ATTEMPTS = 20;
const EMPTY = new Uint8Array(0);

/** Adds `id` to the listeners of `config` (a voter id may not be a listener: ListenerIsVoterError). Returns the config. */
export async function registerListener(zk: ZkSession, paths: ClusterPaths, id: string): Promise<ConfigRecord> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { data, stat } = await zk.getData(paths.config);
    const cfg = decodeConfig(paths.config, data);
    if (cfg.voters.includes(id)) {
      throw new ListenerIsVoterError(id, `${id} is a voter of cluster ${paths.cluster} (voters ${cfg.voters.join(', ')}): start it with --role voter, or demote it first (duoraft admin demote ${id})`);
    }
    if (cfg.listeners.includes(id)) return cfg;
    const next = { voters: cfg.voters, listeners: [...cfg.listeners, id] };
    try {
      await zk.setData(paths.config, encodeConfig(next), stat.version);
      return next;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'BAD_VERSION')) throw err;
    }
  }
  throw new ConfigError(`could not register listener ${id}: the config znode kept changing`);
}

/** Every member registered now (ephemeral members/ znodes); undecodable ones are skipped. */
export async function readMembers(zk: ZkSession, paths: ClusterPaths): Promise<MemberRecord[]> {
  const names = await zk.getChildren(paths.members);
  const out: MemberRecord[] = [];
  await Promise.all(
    names.map(async (name) => {
      try {
        const { data } = await zk.getData(paths.member(name));
        out.push(decodeMember(paths.member(name), data));
      } catch {
        // Gone meanwhile, or not ours: not a member to use.
      }
    }),
  );
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface PromoteRequest {
  readonly listener: string;
  /** The voter to replace (needed when the cluster has two voters). */
  readonly replace?: string;
  readonly clock: Clock;
  /** How long the lease is watched for a move (default: twice the published window, at least 500 ms). */
  readonly leaseWatchMs?: number;
}

export interface ConfigChange {
  readonly before: ConfigRecord;
  readonly after: ConfigRecord;
}

/**
 * Makes `listener` a voter in place of `replace`, by one compare-and-set on `config`.
 * Refused (PromotionRefusedError, nothing changed) while `replace` is alive, when the
 * listener is not a registered, running listener, or when the request does not fit the
 * configuration.
 */
export async function promoteListener(zk: ZkSession, paths: ClusterPaths, r: PromoteRequest): Promise<ConfigChange> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { data, stat } = await zk.getData(paths.config);
    const cfg = decodeConfig(paths.config, data);
    if (cfg.voters.includes(r.listener)) throw new PromotionRefusedError(`${r.listener} is already a voter of cluster ${paths.cluster}`);
    if (!cfg.listeners.includes(r.listener)) {
      throw new PromotionRefusedError(`${r.listener} is not a listener of cluster ${paths.cluster} (listeners: ${cfg.listeners.join(', ') || 'none'}): start it with --role listener first`);
    }
    const member = await memberRecord(zk, paths, r.listener);
    if (!member || member.kind !== 'listener') {
      throw new PromotionRefusedError(`listener ${r.listener} is not running (no members/${r.listener} znode of a listener): start it, let it catch up, then promote it`, true);
    }
    let voters: string[];
    if (cfg.voters.length === 2) {
      if (!r.replace) throw new PromotionRefusedError(`cluster ${paths.cluster} has two voters (${cfg.voters.join(', ')}): name the one to replace with --replace`);
      if (!cfg.voters.includes(r.replace)) throw new PromotionRefusedError(`${r.replace} is not a voter of cluster ${paths.cluster} (voters: ${cfg.voters.join(', ')})`);
      voters = cfg.voters.map((v) => (v === r.replace ? r.listener : v));
    } else {
      if (r.replace && !cfg.voters.includes(r.replace)) throw new PromotionRefusedError(`${r.replace} is not a voter of cluster ${paths.cluster} (voters: ${cfg.voters.join(', ') || 'none'})`);
      voters = r.replace ? cfg.voters.map((v) => (v === r.replace ? r.listener : v)) : [...cfg.voters, r.listener];
    }
    const ops = [];
    let leaseCheck: { version: number } | null = null;
    if (r.replace) {
      if (await zk.exists(paths.member(r.replace))) {
        throw new PromotionRefusedError(
          `voter ${r.replace} is alive: its member znode exists (its ZooKeeper session lives). Promote a listener only in place of a voter whose machine is gone; if its process is dead, retry after its session expires`,
          true,
        );
      }
      leaseCheck = await leaseStill(zk, paths, r.replace, r.clock, r.leaseWatchMs);
      // Both conditions hold at the moment config changes, or nothing changes.
      ops.push({ type: 'create' as const, path: paths.member(r.replace), data: EMPTY, mode: 'persistent' as const });
      ops.push({ type: 'delete' as const, path: paths.member(r.replace), version: -1 });
      ops.push({ type: 'check' as const, path: paths.lease, version: leaseCheck.version });
    }
    const after = { voters, listeners: cfg.listeners.filter((l) => l !== r.listener) };
    ops.push({ type: 'setData' as const, path: paths.config, data: encodeConfig(after), version: stat.version });
    try {
      await zk.multi(ops);
      return { before: cfg, after };
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      if (err.code === 'NODE_EXISTS') throw new PromotionRefusedError(`voter ${r.replace} came back (its member znode appeared): promotion refused`, true);
      if (err.code !== 'BAD_VERSION') throw err;
      // The lease moved at the last moment (refused below on the next round) or config changed: look again.
    }
  }
  throw new PromotionRefusedError('the config znode or the lease kept changing: promotion not done', true);
}

/**
 * Demotes voter `id` to a listener (one compare-and-set on `config`). The cluster keeps
 * one voter; demoting the last voter is refused. The demoted process, if running, sees the
 * change and continues as a listener.
 */
export async function demoteVoter(zk: ZkSession, paths: ClusterPaths, id: string): Promise<ConfigChange> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { data, stat } = await zk.getData(paths.config);
    const cfg = decodeConfig(paths.config, data);
    if (!cfg.voters.includes(id)) throw new PromotionRefusedError(`${id} is not a voter of cluster ${paths.cluster} (voters: ${cfg.voters.join(', ') || 'none'})`);
    if (cfg.voters.length < 2) throw new PromotionRefusedError(`${id} is the only voter of cluster ${paths.cluster}: demoting it would leave no one to commit; promote a listener first`);
    const after = { voters: cfg.voters.filter((v) => v !== id), listeners: [...cfg.listeners.filter((l) => l !== id), id] };
    try {
      await zk.setData(paths.config, encodeConfig(after), stat.version);
      return { before: cfg, after };
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'BAD_VERSION')) throw err;
    }
  }
  throw new PromotionRefusedError('the config znode kept changing: demotion not done', true);
}

export interface RemovalResult extends ConfigChange {
  /** False when `id` was not listed (a re-run after a lost reply, or never a listener): nothing changed. */
  readonly removed: boolean;
}

/**
 * Removes listener `id` from `config` for good (until it is started again: a listener
 * registers itself when it starts). Refused (RemovalRefusedError, nothing changed) while
 * its member znode exists, checked in the same multi as the compare-and-set (as for a
 * promotion: the multi creates and deletes that path, which fails if it is there), so a
 * listener that starts meanwhile is never removed under its feet. An id no longer listed is
 * success with `removed: false`: re-running after a lost reply must not fail. ZooKeeper's
 * own errors come out typed (removalError).
 */
export async function removeListener(zk: ZkSession, paths: ClusterPaths, id: string): Promise<RemovalResult> {
  const progress: RemovalProgress = { writeSent: false };
  try {
    return await removeListenerOnce(zk, paths, id, progress);
  } catch (err) {
    throw removalError(err, paths, id, progress.writeSent);
  }
}

/** Whether the removal's write (the multi) was sent: before it, a lost reply changed nothing. */
interface RemovalProgress {
  writeSent: boolean;
}

async function removeListenerOnce(zk: ZkSession, paths: ClusterPaths, id: string, progress: RemovalProgress): Promise<RemovalResult> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { data, stat } = await zk.getData(paths.config);
    const cfg = decodeConfig(paths.config, data);
    if (cfg.voters.includes(id)) throw new RemovalRefusedError(`${id} is a voter of cluster ${paths.cluster}, not a listener: demote it first (duoraft admin demote ${id}), stop it, then remove it`);
    if (!cfg.listeners.includes(id)) return { before: cfg, after: cfg, removed: false };
    const running = (): RemovalRefusedError =>
      new RemovalRefusedError(`listener ${id} is running: its member znode exists (its ZooKeeper session lives). Stop it first; if its process is dead, retry after its session expires`, true);
    if (await zk.exists(paths.member(id))) throw running();
    const after = { voters: cfg.voters, listeners: cfg.listeners.filter((l) => l !== id) };
    try {
      progress.writeSent = true;
      await zk.multi([
        { type: 'create' as const, path: paths.member(id), data: EMPTY, mode: 'persistent' as const },
        { type: 'delete' as const, path: paths.member(id), version: -1 },
        { type: 'setData' as const, path: paths.config, data: encodeConfig(after), version: stat.version },
      ]);
      return { before: cfg, after, removed: true };
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      // A multi that failed with an answer (not a lost reply) wrote nothing.
      if (!outcomeUnknown(err.code)) progress.writeSent = false;
      if (err.code === 'NODE_EXISTS') throw running();
      if (err.code !== 'BAD_VERSION') throw err;
    }
  }
  throw new RemovalRefusedError('the config znode kept changing: the listener was not removed', true);
}

/**
 * ZooKeeper's errors of a removal as typed errors that say what to do; others as they are.
 * A lost reply is "outcome unknown" only once the multi was sent (`writeSent`); a read that
 * failed before it wrote nothing, and saying "unknown" there sent operators to check a
 * change that cannot have happened.
 */
function removalError(err: unknown, paths: ClusterPaths, id: string, writeSent: boolean): unknown {
  if (!(err instanceof ZkError)) return err;
  if (err.code === 'NO_NODE') {
    return new ConfigError(`cluster ${paths.cluster} does not exist in this ZooKeeper (no ${err.path || paths.config}): check --cluster and --zk`);
  }
  if (err.code === 'NO_AUTH' || err.code === 'AUTH_FAILED') {
    return new UnauthenticatedError(`ZooKeeper refused to let this session change cluster ${paths.cluster} (${err.code}): give the cluster's --zk-user and --zk-password`, { cause: err });
  }
  if (outcomeUnknown(err.code) && !writeSent) {
    return new ZkUnavailableError(`ZooKeeper did not answer (${err.code}) before anything was written: listener ${id} was not removed; retry when ZooKeeper answers`, { cause: err });
  }
  if (outcomeUnknown(err.code)) {
    return new ZkUnavailableError(`ZooKeeper did not answer whether listener ${id} was removed (${err.code}): outcome unknown; re-running is safe (an id already removed is reported as such)`, { cause: err });
  }
  if (err.code === 'NOT_CONNECTED' || err.code === 'CLOSED') {
    return new ZkUnavailableError(`ZooKeeper is not reachable (${err.code}): listener ${id} was not removed; retry when it is`, { cause: err });
  }
  return err;
}

async function memberRecord(zk: ZkSession, paths: ClusterPaths, id: string): Promise<MemberRecord | null> {
  try {
    const { data } = await zk.getData(paths.member(id));
    return decodeMember(paths.member(id), data);
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NO_NODE') return null;
    throw err;
  }
}

/**
 * Watches the lease for a window: refused if `voter` touches it (it leads and is alive).
 * Resolves with the version seen last, which the promotion multi checks.
 */
async function leaseStill(zk: ZkSession, paths: ClusterPaths, voter: string, clock: Clock, watchMs?: number): Promise<{ version: number }> {
  const first = await zk.getData(paths.lease);
  const lease = decodeLease(paths.lease, first.data);
  const window = watchMs ?? Math.max(500, 2 * (lease.durationMs > 0 ? lease.durationMs * 2 : 250));
  await sleep(clock, window);
  const second = await zk.getData(paths.lease);
  const now = decodeLease(paths.lease, second.data);
  if (second.stat.version !== first.stat.version && now.leaderId === voter) {
    throw new PromotionRefusedError(`voter ${voter} is alive: it leads and touched the lease during the last ${window} ms`, true);
  }
  return { version: second.stat.version };
}
