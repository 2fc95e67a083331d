// The single writer's floor (src/harness/zk-multi-floor.ts), which the bench suite runs
// beside its single writer: multis of the leader's one-write shape that ZooKeeper accepts
// one after another (each expects the tail version the last left), bounded by their count,
// and a scratch folder that is gone afterwards. No timing is asserted. ~2 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectZk } from '../../src/coordination/zk-client.js';
import { startZooKeeper, type LocalZooKeeper } from '../../src/harness/zk-launcher.js';
import { measureZkMultiFloor } from '../../src/harness/zk-multi-floor.js';

const env = { ZOOKEEPER_HOME: process.env['ZOOKEEPER_HOME'], JAVA_HOME: process.env['JAVA_HOME'] };

describe('the ZooKeeper multi floor', () => {
  let zk: LocalZooKeeper;
  beforeAll(async () => {
    zk = await startZooKeeper({ forceSync: false, env });
  }, 60_000);
  afterAll(async () => {
    await zk?.stop();
  });

  it('runs the bounded number of chained multis and leaves nothing behind', async () => {
    const r = await measureZkMultiFloor({ connectString: zk.connectString, durationMs: 60_000, valueBytes: 256, maxMultis: 40 });
    expect(r.multis).toBe(40);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
    expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.max);
    const session = connectZk({ connectString: zk.connectString });
    try {
      await session.waitConnected(10_000);
      const left = (await session.getChildren('/')).filter((name) => name.startsWith('duoraft-multi-floor'));
      expect(left).toEqual([]);
    } finally {
      await session.close();
    }
  }, 60_000);
});
