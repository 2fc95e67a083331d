// A member's znode is ephemeral; a restarted process finds the one its previous process
// left (that session not expired yet) and replaces it in a multi. Found by the 30-minute
// soak (wipe-both, both voters restarted at once): the old session expired between the
// create that found the znode and the multi that deleted it, the multi failed with NO_NODE
// and the node exited at start ("ZooKeeper multi failed at op #0 (delete .../members/a):
// NO_NODE"); the chaos run stopped with "node(s) a not running".
import { describe, expect, it } from 'vitest';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { registerMember } from '../../../src/coordination/membership.js';
import { decodeMember } from '../../../src/coordination/records.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');
const record = { id: 'a', address: '127.0.0.1:7001', kind: 'voter' as const };

describe('registerMember', () => {
  it('replaces the znode a previous process left', async () => {
    const zk = new ScriptedZk();
    zk.put(paths.member('a'), new Uint8Array([1]), 3, 'old-session');
    await registerMember(zk, paths, record);
    const n = zk.tree.get(paths.member('a'));
    expect(n?.owner).toBe(zk.sessionId);
    expect(decodeMember(paths.member('a'), n!.data).address).toBe(record.address);
  });

  it('registers when the previous process\'s znode goes away between the create and the replacing multi (its session expired)', async () => {
    const zk = new ScriptedZk();
    const path = paths.member('a');
    zk.put(path, new Uint8Array([1]), 3, 'old-session');
    const create = zk.create.bind(zk);
    let first = true;
    zk.create = async (...args: Parameters<ScriptedZk['create']>) => {
      try {
        return await create(...args);
      } finally {
        // The old session expires right after the create that found its znode.
        if (first) zk.tree.delete(path);
        first = false;
      }
    };
    await registerMember(zk, paths, record);
    expect(zk.tree.get(path)?.owner).toBe(zk.sessionId);
  });
});
