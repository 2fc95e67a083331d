// duoraft_listener_upstream_changes_total counts every change of the source a listener is
// fed from (listener-runner.ts, fedFrom). Review 22 found the error path of the choice (a
// probe that throws) falling back to ZooKeeper's log without counting it. On the ZooKeeper
// model, with the real listener parts and a connector whose probe throws.
import { describe, expect, it } from 'vitest';
import type { FeedConnector } from '../../src/server/listener/feed-connector.js';
import { runFor, startLoneListener } from './sim/lone-listener.js';
import { SimScheduler } from './sim-scheduler.js';

describe('a listener whose upstream choice fails', () => {
  it('reads ZooKeeper\'s log and counts that as a change of source', async () => {
    const sched = new SimScheduler(11);
    // Every probe throws (not "no answer": that is null), which sends the choice down its error path.
    const connector: FeedConnector = {
      probe: () => Promise.reject(new Error('probe exploded')),
      subscribe: () => {
        throw new Error('never chosen');
      },
    };
    const { parts } = await startLoneListener(sched, { cluster: 'changes', connector, known: [{ id: 'b', address: 'b:1' }] });
    await runFor(sched, 500);
    const f = parts.figures();
    parts.stop();
    expect(f.upstream).toBe('zookeeper');
    expect(f.upstreamChanges).toBe(1);
  });
});
