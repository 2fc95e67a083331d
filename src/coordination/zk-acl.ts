// ZooKeeper ACLs of duoraft's tree: what a secured cluster checks at start, and what
// `duoraft admin secure-zk` sets.
//
// With --zk-user/--zk-password every connection adds digest credentials and every znode
// duoraft creates gets the creator-only ACL (auth::cdrwa): only sessions with the same
// credentials can read or change it. That covers what the cluster creates itself, but
// not a `/duoraft` parent, or a whole cluster tree, created earlier by a node without
// credentials: those stay world-writable (anyone reaching ZooKeeper could create or
// squat a cluster under the parent, or rewrite an unprotected tree). A node with
// credentials finds that at start and says what to run; secureTree() is that fix.
import type { Logger } from '../common/logger.js';
import type { ClusterPaths } from './layout.js';
import type { ZkSession } from './zk-api.js';
import { ZkError } from './zk-api.js';

/** ZooKeeper permission bits. */
export const ZK_PERMS = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

export interface ZkAclEntry {
  /** 'world', 'digest', 'auth', 'ip', ... */
  readonly scheme: string;
  readonly id: string;
  readonly perms: number;
}

/** ACL reads and writes (the real session has them; the simulator's model does not need them). */
export interface ZkAclAccess {
  getAcl(path: string): Promise<ZkAclEntry[]>;
  /** Replaces the ACL, whatever its version. */
  setAcl(path: string, acl: readonly ZkAclEntry[]): Promise<void>;
}

/** All permissions for the credentials of the session that sets it (ZooKeeper's "auth" scheme). */
export const OWNER_ONLY: readonly ZkAclEntry[] = [{ scheme: 'auth', id: '', perms: ZK_PERMS.ALL }];

export const PARENT_PATH = '/duoraft';

/** Whether anyone at all (scheme world) may do more than read. */
export function worldWritable(acl: readonly ZkAclEntry[]): boolean {
  return acl.some((e) => e.scheme === 'world' && (e.perms & ~ZK_PERMS.READ) !== 0);
}

function fixHint(cluster: string): string {
  return `run: duoraft admin secure-zk --zk <connect> --cluster ${cluster} --zk-user <user> --zk-password <password> (with the nodes' credentials; it sets auth::cdrwa on /duoraft and the cluster's tree), or in zkCli.sh: addauth digest <user>:<password> then setAcl /duoraft auth::cdrwa`;
}

/**
 * Warns, once per start, for each of /duoraft and the cluster's root that is
 * world-writable, saying what to do. Returns the paths found world-writable.
 */
export async function warnWorldWritable(zk: ZkAclAccess, paths: ClusterPaths, logger: Logger): Promise<string[]> {
  const open: string[] = [];
  for (const path of [PARENT_PATH, paths.root]) {
    let acl: ZkAclEntry[];
    try {
      acl = await zk.getAcl(path);
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') continue;
      throw err;
    }
    if (worldWritable(acl)) open.push(path);
  }
  if (open.length > 0) {
    logger.warn(
      { paths: open },
      `ZooKeeper znodes ${open.join(' and ')} are world-writable although this node has ZooKeeper credentials (they were created by a node without --zk-user/--zk-password): anyone who reaches ZooKeeper can create or take over clusters under /duoraft${open.includes(paths.root) ? ' and change this cluster\'s tree' : ''}; ${fixHint(paths.cluster)}`,
    );
  }
  return open;
}

/** Bound on ACL changes in flight at once. */
const MAX_IN_FLIGHT = 16;

/**
 * Sets the owner-only ACL (for the session's credentials) on /duoraft and on every znode
 * of the cluster's tree. Returns how many znodes it changed. Znodes that vanish meanwhile
 * (ephemeral members, trimmed segments) are skipped.
 */
export async function secureTree(zk: ZkSession & ZkAclAccess, paths: ClusterPaths, onProgress: (done: number) => void = () => undefined): Promise<number> {
  let done = 0;
  const apply = async (path: string): Promise<void> => {
    try {
      await zk.setAcl(path, OWNER_ONLY);
      done++;
      if (done % 1000 === 0) onProgress(done);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err;
    }
  };
  await apply(PARENT_PATH);
  if ((await zk.exists(paths.root)) === null) return done;
  // Breadth first, a bounded number of requests at a time.
  let level = [paths.root];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += MAX_IN_FLIGHT) {
      const slice = level.slice(i, i + MAX_IN_FLIGHT);
      await Promise.all(slice.map(apply));
      const children = await Promise.all(
        slice.map((p) =>
          zk.getChildren(p).catch((err: unknown) => {
            if (err instanceof ZkError && err.code === 'NO_NODE') return [];
            throw err;
          }),
        ),
      );
      slice.forEach((p, k) => {
        for (const c of children[k] ?? []) next.push(`${p}/${c}`);
      });
    }
    level = next;
  }
  return done;
}
