// Issue 9, hole 4: one legal command wedged the leader. With --max-value-bytes 524288
// (accepted), a cas with both values at 512 KiB encoded to a segment over ZooKeeper's
// jute.maxbuffer: the server dropped the connection, the mirror resent it forever, the lease
// kept the follower from taking over, writes timed out, and at last the process crashed;
// the client's retry then poisoned the next leader. Now the entry is bounded when it is
// proposed (PROTOCOL.md R5): the cas is refused with a clear error, nothing else changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../src/harness/process-cluster.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { client, uniqueCluster } from './helpers.js';

let zk: LocalZooKeeper;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe('an entry too large for one segment', () => {
  it('is refused at submission with INVALID_ARGUMENT; the leader keeps leading and serving', async () => {
    const name = uniqueCluster('oversized');
    const cluster = await ProcessCluster.start({ zk: zk.connectString, cluster: name, nodeArgs: ['--max-value-bytes', '524288'] });
    const c = await client(zk.connectString, name, 10_000);
    try {
      const leader = await cluster.waitForLeader(10_000);
      const termBefore = (await cluster.statuses()).find((s) => s.id === leader)!.term;
      const half = new Uint8Array(512 * 1024).fill(0x61);
      await c.put('big', half); // one 512 KiB value fits a segment
      const other = new Uint8Array(512 * 1024).fill(0x62);
      await expect(c.cas('big', half, other)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/encodes to \d+ bytes; one log entry holds at most \d+ bytes/) });
      // A retry is refused the same way, and the cluster serves on under the same leader.
      await expect(c.cas('big', half, other)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await c.put('after', 'still serving');
      expect(new TextDecoder().decode((await c.get('after')).value)).toBe('still serving');
      const after = (await cluster.statuses()).find((s) => s.id === leader)!;
      expect(after).toMatchObject({ role: 'leader', term: termBefore });
      expect(Buffer.from((await c.get('big')).value).equals(Buffer.from(half))).toBe(true);
    } finally {
      await c.close();
      await cluster.stop();
    }
  });
});
