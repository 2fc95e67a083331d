// Issue 12, silent partition between the two voters only (packets between them dropped
// both ways by nftables; both still reach ZooKeeper and the clients): at most one change
// of leader while it lasts, writes acknowledged in every second of it, and afterwards
// nothing lost and a linearizable history. The 30-second figure is measured by
// `duoraft bench --suite --only netns-partition-voters`.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitSettled } from '../../src/harness/chaos/settle.js';
import { LeaderChangeCounter } from '../../src/harness/leader-changes.js';
import { NetnsCluster } from '../../src/harness/netns/index.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { sleep, uniqueCluster } from './helpers.js';
import { endLoad, finishLoad, netnsSkipReason, netnsTitle, SAFE, safety, startCheckedLoad, writesPerSecond } from './netns-helpers.js';

const CUT_MS = 10_000;
let zk: LocalZooKeeper | undefined;

beforeAll(async () => {
  if (netnsSkipReason === null) zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe.skipIf(netnsSkipReason !== null)(netnsTitle('network namespaces: the voters cut off from each other'), () => {
  it(`at most one change of leader in ${CUT_MS / 1000} s, writes acknowledged every second, nothing lost, linearizable`, async () => {
    const name = uniqueCluster('ns-voters');
    const nc = await NetnsCluster.start({ zk: zk!.connectString, cluster: name });
    const counter = await LeaderChangeCounter.open(zk!.connectString, name);
    const load = await startCheckedLoad(zk!.connectString, name, 13);
    let changes = -1;
    let perSecond: number[] = [];
    try {
      await waitSettled(nc.cluster, 20_000, 'start-up');
      await sleep(500);
      load.setGeneration(1);
      const before = await counter.fences();
      await nc.faults.cutVoters();
      const cutAt = performance.now();
      await sleep(CUT_MS);
      const healAt = performance.now();
      changes = (await counter.fences()) - before;
      await nc.faults.healVoters();
      perSecond = writesPerSecond(load.acks.throughput(), load.acks.origin, cutAt, healAt);
      await waitSettled(nc.cluster, 30_000, 'after the heal');
      await finishLoad(load, nc.cluster);
    } finally {
      await endLoad(load);
      await counter.close();
      await nc.stop();
    }
    const v = load.verdict();
    process.stdout.write(`netns voters cut: ${changes} leader changes in ${CUT_MS} ms; writes per second ${perSecond.join(' ')}; ${JSON.stringify(safety(v))}\n`);
    expect(changes).toBeGreaterThanOrEqual(0);
    expect(changes).toBeLessThanOrEqual(1);
    // Whole seconds between the cut and the heal (timers may fire a hair early: 9 or 10).
    expect(perSecond.length).toBeGreaterThanOrEqual(CUT_MS / 1000 - 1);
    expect(perSecond.filter((n) => n === 0)).toEqual([]);
    expect(safety(v)).toEqual(SAFE);
  });
});
