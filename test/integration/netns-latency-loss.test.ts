// Issue 12, a slow and lossy network: 5 ms ± 2 ms on every link (each way, by the relays)
// and 1 % of the packets in and out of each voter's namespace dropped (nftables). No
// fault calls for a new leader, so there must be none (no false failover) over the
// bounded run, and the history stays linearizable with nothing lost. The five-minute
// figure is measured by `duoraft bench --suite --only netns-latency-loss`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitSettled } from '../../src/harness/chaos/settle.js';
import { LeaderChangeCounter } from '../../src/harness/leader-changes.js';
import { NetnsCluster } from '../../src/harness/netns/index.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { sleep, uniqueCluster } from './helpers.js';
import { endLoad, finishLoad, netnsSkipReason, netnsTitle, SAFE, safety, startCheckedLoad } from './netns-helpers.js';

const RUN_MS = 20_000;
let zk: LocalZooKeeper | undefined;

beforeAll(async () => {
  if (netnsSkipReason === null) zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe.skipIf(netnsSkipReason !== null)(netnsTitle('network namespaces: latency with jitter and packet loss everywhere'), () => {
  it(`5 ± 2 ms on every link and 1 % loss for ${RUN_MS / 1000} s: no change of leader, nothing lost, linearizable`, async () => {
    const name = uniqueCluster('ns-slow');
    const nc = await NetnsCluster.start({ zk: zk!.connectString, cluster: name });
    const counter = await LeaderChangeCounter.open(zk!.connectString, name);
    const load = await startCheckedLoad(zk!.connectString, name, 14);
    let changes = -1;
    let acknowledgedDuring = 0;
    try {
      await waitSettled(nc.cluster, 20_000, 'start-up');
      await nc.faults.setLatency({ latencyMs: 5, jitterMs: 2 });
      await nc.faults.setLoss(1);
      load.setGeneration(1);
      const before = await counter.fences();
      const ackedBefore = load.counts().acknowledged;
      await sleep(RUN_MS);
      changes = (await counter.fences()) - before;
      acknowledgedDuring = load.counts().acknowledged - ackedBefore;
      await nc.faults.healAll();
      await finishLoad(load, nc.cluster);
    } finally {
      await endLoad(load);
      await counter.close();
      await nc.stop();
    }
    const v = load.verdict();
    process.stdout.write(`netns 5±2 ms + 1 % loss: ${changes} leader changes in ${RUN_MS} ms, ${acknowledgedDuring} operations acknowledged meanwhile; ${JSON.stringify(safety(v))}\n`);
    expect(changes).toBe(0);
    expect(acknowledgedDuring).toBeGreaterThan(100);
    expect(safety(v)).toEqual(SAFE);
  });
});
