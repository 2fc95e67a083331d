// Review 24 (the Awaited hint, 04044fb): a follower's replies that the leader does not mark
// awaited now wait for the follower's usual fsync pace (--wal-sync-interval-ms, 0..10000),
// no longer for the 2 ms one. The follower learned a commit index from the leader only
// through its match (heartbeats carried min(match, commit) until a2687f4), so once writes
// pause, the follower (and every listener it feeds, and its stale reads with a minimum
// index) trailed the leader by up to that interval. Before, a valid setting of the local
// WAL's fsync pace did not decide how far behind the follower's commit index is; this says
// it must not.
// Measured here (seed 24, 30 writes, virtual ms): d4b0492 7 at the default pace and 8 at
// 1000; 04044fb 35 and 785; a2687f4 13 and 8. Of a2687f4's two parts, the reply cap (a
// held reply waits at most the heartbeat interval) alone gives 35 and 22; the heartbeat's
// commit index up to what was sent alone gives 13 and 785 (at 1000 the window is full of
// appends whose replies are held, so the burst's last entries are not even sent).
// (review 25: DUORAFT_PRINT_DELAY=1 npx vitest run test/simulation/follower-reply-pace.test.ts)
import { describe, expect, it } from 'vitest';
import { defaultSnapshotPolicy } from '../../src/server/snapshotter.js';
import type { KvCommand } from '../../src/statemachine/command.js';
import { SimNetwork } from './sim/sim-network.js';
import { SimNode } from './sim/sim-node.js';
import { SimScheduler } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const put = (key: string, value: string): KvCommand => ({ kind: 'put', key, value: new TextEncoder().encode(value) });

/** Virtual ms from the last of `count` writes until the follower's commit index reaches the leader's. */
async function followerCommitDelay(walSyncIntervalMs: number, count: number): Promise<number> {
  const sched = new SimScheduler(24);
  const model = new ZkModel(sched, { servers: 1, latencyMs: [1, 3], sessionTimeoutMs: 4000, requestTimeoutMs: 3000 });
  const net = new SimNetwork(sched);
  const nodes = ['a', 'b'].map(
    (id) =>
      new SimNode({
        id,
        cluster: 'pace',
        sched,
        model,
        net,
        wallOffsetMs: 1_700_000_000_000,
        snapshotPolicy: defaultSnapshotPolicy,
        snapshotPieces: { zkChunkBytes: 4096, rangeBytes: 4096 },
        limits: { walSyncIntervalMs },
      }),
  );
  for (const n of nodes) n.start();
  const runUntil = async (done: () => boolean, ms: number): Promise<boolean> => {
    const until = sched.now() + ms;
    while (!done() && sched.nextAt() <= until) await sched.step();
    return done();
  };
  const leader = (): SimNode | undefined =>
    nodes.find((n) => n.state === 'up' && n.driver?.inspect().softState.role === 'leader' && n.driver.inspect().leaseHolds);
  expect(await runUntil(() => leader() !== undefined, 10_000)).toBe(true);
  const l = leader()!;
  const follower = nodes.find((n) => n !== l)!;
  for (let i = 0; i < count; i++) {
    let out: 'ok' | 'failed' | null = null;
    l.call((d) => d.submit(put(`k${i}`, `v${i}`))).then(
      () => (out = 'ok'),
      () => (out = 'failed'),
    );
    await runUntil(() => out !== null, 5000);
    expect(out).toBe('ok');
  }
  const wrote = sched.now();
  const target = l.driver!.inspect().commitIndex;
  expect(await runUntil(() => (follower.driver?.inspect().commitIndex ?? 0) >= target, 30_000)).toBe(true);
  const delay = sched.now() - wrote;
  if (process.env.DUORAFT_PRINT_DELAY) console.log(`walSyncIntervalMs ${walSyncIntervalMs}: ${delay} virtual ms`);
  return delay;
}

describe('a follower\'s commit index after writes pause (review 24)', () => {
  // 10 heartbeats (20 ms each): far more than a reply's fsync and a heartbeat need.
  const BOUND_MS = 200;

  it('reaches the leader\'s within 10 heartbeats at the default fsync pace', async () => {
    expect(await followerCommitDelay(20, 30)).toBeLessThanOrEqual(BOUND_MS);
  }, 60_000);

  it('reaches the leader\'s within 10 heartbeats at a slow fsync pace too (--wal-sync-interval-ms 1000)', async () => {
    expect(await followerCommitDelay(1000, 30)).toBeLessThanOrEqual(BOUND_MS);
  }, 60_000);
});
