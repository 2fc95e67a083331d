// Issue 12, silent partition of the leader from the follower and from ZooKeeper (packets
// dropped both ways by nftables, nothing reset; the clients still reach the old leader):
// the follower serves writes again, nothing acknowledged is lost, the history is
// linearizable. Twice, so each voter is cut off once. Timings are measured by
// `duoraft bench --suite --only netns-partition-leader`, not asserted here.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitSettled } from '../../src/harness/chaos/settle.js';
import { LeaderChangeCounter } from '../../src/harness/leader-changes.js';
import { NetnsCluster } from '../../src/harness/netns/index.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { sleep, uniqueCluster } from './helpers.js';
import { endLoad, finishLoad, netnsSkipReason, netnsTitle, SAFE, safety, startCheckedLoad } from './netns-helpers.js';

let zk: LocalZooKeeper | undefined;

beforeAll(async () => {
  if (netnsSkipReason === null) zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe.skipIf(netnsSkipReason !== null)(netnsTitle('network namespaces: the leader cut off from its follower and ZooKeeper'), () => {
  it('the follower serves writes again; nothing acknowledged is lost; the history is linearizable', async () => {
    const name = uniqueCluster('ns-isolate');
    const nc = await NetnsCluster.start({ zk: zk!.connectString, cluster: name });
    const counter = await LeaderChangeCounter.open(zk!.connectString, name);
    const load = await startCheckedLoad(zk!.connectString, name, 12);
    try {
      let settled = await waitSettled(nc.cluster, 20_000, 'start-up');
      const fencesAtStart = await counter.fences();
      for (let round = 1; round <= 2; round++) {
        await sleep(500);
        const { leader, follower } = settled;
        load.setGeneration(round);
        await nc.faults.isolate(leader);
        const isolatedAt = performance.now();
        const resumed = load.acks.firstWriteAfter(isolatedAt, nc.cluster.node(leader).address);
        const ack = await Promise.race([resumed.ack, sleep(30_000).then(() => null)]);
        resumed.cancel();
        // A write made after the cut was acknowledged, and by the follower: the cut-off
        // leader can commit nothing, since ZooKeeper no longer hears it.
        expect(ack, `round ${round}: no write acknowledged within 30 s of the cut`).not.toBeNull();
        expect(ack!.by).toBe(nc.cluster.node(follower).address);
        expect(await nc.cluster.waitForLeader(10_000, { not: leader })).toBe(follower);
        // The partition lasts on while the clients, still able to reach the old leader, move over.
        await sleep(1500);
        await nc.faults.rejoin(leader);
        settled = await waitSettled(nc.cluster, 30_000, `after round ${round}`);
      }
      expect(await counter.fences()).toBeGreaterThanOrEqual(fencesAtStart + 2);
      await sleep(500);
      await finishLoad(load, nc.cluster);
    } finally {
      await endLoad(load);
      await counter.close();
      await nc.stop();
    }
    const v = load.verdict();
    process.stdout.write(`netns isolate: ${v.ops.acknowledged} operations acknowledged, ${v.ops.unknown} unknown; ${JSON.stringify(safety(v))}\n`);
    expect(safety(v)).toEqual(SAFE);
    expect(v.ops.acknowledged).toBeGreaterThan(100);
  });
});
