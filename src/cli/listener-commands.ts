// duoraft admin promote | demote | drop-listener | remove-listener: changing who votes,
// moving a listener off its upstream, and forgetting a listener that is gone for good. Promotion and demotion are one compare-and-set on the `config` znode
// (src/coordination/listener-config.ts); the members follow the change themselves.
import { ConfigError, RemovalRefusedError, ZkUnavailableError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { realClock } from '../common/real-clock.js';
import { ClusterPaths, isValidMemberId } from '../coordination/layout.js';
import { demoteVoter, promoteListener, readMembers, removeListener, type RemovalResult } from '../coordination/listener-config.js';
import type { ZkSession } from '../coordination/zk-api.js';
import { connectZk } from '../coordination/zk-client.js';
import { askDrop } from '../server/listener/grpc-feed-connector.js';
import type { CommonArgs } from './common-options.js';
import { printJson, printLine } from './output.js';
import { type SecurityArgs, zkAuthOf } from './security-options.js';

type Args = CommonArgs & SecurityArgs;

async function withZk<T>(args: Args, fn: (zk: ZkSession, paths: ClusterPaths) => Promise<T>): Promise<T> {
  const paths = new ClusterPaths(args.cluster);
  const auth = zkAuthOf(args);
  const zk = connectZk({ connectString: args.zk, sessionTimeoutMs: 10_000, logger: silentLogger, ...(auth ? { auth } : {}) });
  try {
    try {
      await zk.waitConnected(5000);
    } catch (err) {
      throw new ZkUnavailableError(`cannot reach ZooKeeper at ${args.zk} within 5000 ms`, { cause: err });
    }
    return await fn(zk, paths);
  } finally {
    await zk.close();
  }
}

function checkId(what: string, id: string): void {
  if (!isValidMemberId(id)) throw new ConfigError(`invalid ${what} ${JSON.stringify(id)}`);
}

export async function promoteCommand(args: Args & { listener: string; replace?: string | undefined }): Promise<void> {
  checkId('listener id', args.listener);
  if (args.replace !== undefined) checkId('voter id', args.replace);
  const change = await withZk(args, (zk, paths) =>
    promoteListener(zk, paths, { listener: args.listener, ...(args.replace !== undefined ? { replace: args.replace } : {}), clock: realClock }),
  );
  if (args.json) printJson(change);
  else printLine(`voters are now ${change.after.voters.join(', ')} (were ${change.before.voters.join(', ')}); ${args.listener} catches up to ZooKeeper's tail and starts as a voter`);
}

export async function demoteCommand(args: Args & { id: string }): Promise<void> {
  checkId('voter id', args.id);
  const change = await withZk(args, (zk, paths) => demoteVoter(zk, paths, args.id));
  if (args.json) printJson(change);
  else printLine(`voters are now ${change.after.voters.join(', ')}; ${args.id} continues as a listener`);
}

/** Asks every member to drop listener `id`; its upstream does, and the listener chooses again. */
export async function dropListenerCommand(args: Args & { id: string }): Promise<void> {
  checkId('listener id', args.id);
  const members = await withZk(args, (zk, paths) => readMembers(zk, paths));
  const asked = members.filter((m) => m.id !== args.id);
  const answers = await Promise.all(asked.map(async (m) => ({ id: m.id, dropped: await askDrop(m.address, args.id, 2000) })));
  const by = answers.filter((a) => a.dropped).map((a) => a.id);
  if (args.json) printJson({ listener: args.id, droppedBy: by });
  else if (by.length === 0) printLine(`no member was feeding ${args.id} (it may read ZooKeeper directly, or not run)`);
  else printLine(`${by.join(', ')} dropped ${args.id}; it chooses its upstream again`);
}

/**
 * Removes listener `id` from the config znode (refused while it runs). An id not listed is
 * success that changed nothing (a re-run after a lost reply), said plainly; with --strict it
 * is a RemovalRefusedError (exit 1), for scripts that must know the id was a listener.
 */
export async function removeListenerCommand(args: Args & { id: string; strict?: boolean }): Promise<void> {
  checkId('listener id', args.id);
  const change = await withZk(args, (zk, paths) => removeListener(zk, paths, args.id));
  if (!change.removed && args.strict === true) {
    throw new RemovalRefusedError(
      `${args.id} is not a listener of cluster ${args.cluster} (already removed, or never one): nothing changed; listeners are ${change.after.listeners.join(', ') || 'none'}`,
    );
  }
  if (args.json) printJson(change);
  else printLine(removalLine(args.id, args.cluster, change));
}

/** What the operator reads. A removal lasts only if the listener is not running: one still starting (or reconnecting) registers itself again. */
export function removalLine(id: string, cluster: string, change: RemovalResult): string {
  const listeners = change.after.listeners.join(', ') || 'none';
  if (!change.removed) return `${id} is NOT a listener of cluster ${cluster} (already removed, or never one): nothing changed; listeners are ${listeners}`;
  return (
    `listener ${id} removed from the config znode of cluster ${cluster}; listeners are now ${listeners}. ` +
    `It had no live ZooKeeper session; if its process still runs (starting, or reconnecting) it registers itself again: stop the listener first for the removal to last`
  );
}
