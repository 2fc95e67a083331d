// duoraft admin secure-zk: gives /duoraft and the cluster's whole tree the owner-only ACL
// of the given ZooKeeper credentials (the nodes' --zk-user/--zk-password). For a tree or
// parent created by a node without credentials, which stays world-writable otherwise;
// a node started with credentials warns about exactly that and names this command.
import { ConfigError, UnauthenticatedError, ZkUnavailableError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { ClusterPaths } from '../coordination/layout.js';
import { ZkError } from '../coordination/zk-api.js';
import { secureTree } from '../coordination/zk-acl.js';
import { connectZk } from '../coordination/zk-client.js';
import type { CommonArgs } from './common-options.js';
import { printJson, printLine } from './output.js';
import { type SecurityArgs, zkAuthOf } from './security-options.js';

export async function secureZkCommand(args: CommonArgs & SecurityArgs): Promise<void> {
  const auth = zkAuthOf(args);
  if (!auth) throw new ConfigError('admin secure-zk needs --zk-user and --zk-password (env DUORAFT_ZK_USER/DUORAFT_ZK_PASSWORD): the credentials the nodes use');
  const paths = new ClusterPaths(args.cluster);
  const zk = connectZk({ connectString: args.zk, sessionTimeoutMs: 10_000, logger: silentLogger, auth });
  try {
    try {
      await zk.waitConnected(5000);
    } catch (err) {
      throw new ZkUnavailableError(`cannot reach ZooKeeper at ${args.zk} within 5000 ms`, { cause: err });
    }
    let secured: number;
    try {
      secured = await secureTree(zk, paths, (done) => {
        if (!args.json) printLine(`... ${done} znodes`);
      });
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_AUTH') {
        throw new UnauthenticatedError(`ZooKeeper refused to change the ACL of ${err.path} (NO_AUTH): it is already protected by other credentials`, { cause: err });
      }
      throw err;
    }
    if (args.json) printJson({ secured, paths: ['/duoraft', paths.root], user: auth.user });
    else printLine(`set auth::cdrwa (only ZooKeeper user ${auth.user}) on ${secured} znodes: /duoraft and ${paths.root} with everything under it`);
  } finally {
    await zk.close();
  }
}
