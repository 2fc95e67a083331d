// A cluster whose nodes cannot start (a bad flag) says why at once, with each node's exit and
// the end of its log, instead of waiting out the leader timeout with "last statuses: []".
import { describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../src/harness/process-cluster.js';

describe('ProcessCluster: nodes that exit before a leader', () => {
  it('fails fast with every node\'s exit and the end of its log', async () => {
    const started = Date.now();
    // No ZooKeeper is needed: the flag is refused before the node connects anywhere.
    const err = await ProcessCluster.start({ zk: '127.0.0.1:1', cluster: 'exits', nodeArgs: ['--bogus-flag', '1'] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(/^no leader: every node exited/);
    for (const id of ['a', 'b']) expect(err!.message).toMatch(new RegExp(`--- node ${id}: exited \\(code 2, signal -\\)`));
    expect(err!.message).toMatch(/unknown flag --bogus-flag/);
    // Well before the 20 s leader timeout (a bound on the test's own length, not a measurement).
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
