// How a listener chooses again when its upstream ends the stream (listener-runner.ts,
// linkEnded). An upstream that can feed no one for a moment (it became leader and stepped
// down again, as two leader changes a second apart do) is taken back as soon as its probe
// says it can feed: the listeners below keep their place (FEED_GRACE_MS). An upstream that
// dropped this listener alone (an administrator's drop) is avoided for a while. Found by
// the chain test of test/integration/listeners.test.ts on a loaded CI machine.
import { describe, expect, it } from 'vitest';
import type { FeedConnector, FeedStreamSink } from '../../src/server/listener/feed-connector.js';
import { encodeTail } from '../../src/coordination/records.js';
import { runFor, startLoneListener } from './sim/lone-listener.js';
import { SimScheduler } from './sim-scheduler.js';

/** Voter a, the only candidate: it cannot feed until `canFeedFrom`; every Subscribe is recorded. */
class OneUpstream implements FeedConnector {
  canFeedFrom = 0;
  readonly subscribedAt: number[] = [];
  sink: FeedStreamSink | null = null;
  constructor(private readonly sched: SimScheduler) {}

  probe(_cluster: string, _self: string, id: string, address: string): Promise<Awaited<ReturnType<FeedConnector['probe']>>> {
    if (id !== 'a') return Promise.resolve(null);
    return Promise.resolve({ id, address, canFeed: this.sched.now() >= this.canFeedFrom, depth: 0, listeners: 0, fanout: 1, path: [] });
  }

  subscribe(_address: string, _request: unknown, sink: FeedStreamSink): { cancel(): void } {
    this.subscribedAt.push(this.sched.now());
    this.sink = sink;
    return { cancel: () => undefined };
  }

  /** The upstream ends the stream, as the feeder does. */
  end(reason: string, cannotFeed: boolean): void {
    this.sink?.batch({ endReason: reason, cannotFeed });
  }
}

async function fedThenEnded(cannotFeed: boolean): Promise<{ up: OneUpstream; endedAt: number; figures: () => { upstream: string }; stop: () => void }> {
  const sched = new SimScheduler(5);
  const up = new OneUpstream(sched);
  const { parts } = await startLoneListener(sched, { cluster: 'rechoose', connector: up, known: [{ id: 'a', address: 'a:1' }] });
  await runFor(sched, 200);
  expect(up.subscribedAt).toHaveLength(1);
  // Keep the link alive with heartbeats until it ends (the watchdog ends a silent one).
  up.sink?.batch({ upstreamCommit: 0 });
  const endedAt = sched.now();
  // It cannot feed for 150 ms (the time an old leader takes to see the new term).
  up.canFeedFrom = endedAt + 150;
  up.end(cannotFeed ? 'this member can no longer feed listeners: it leads' : 'dropped by an administrator (duoraft admin drop-listener)', cannotFeed);
  await runFor(sched, 1000);
  return { up, endedAt, figures: () => parts.figures(), stop: () => parts.stop() };
}

describe('a listener whose upstream ends the stream', () => {
  it('takes back an upstream that could feed no one for a moment well within the grace its own listeners get', async () => {
    const r = await fedThenEnded(true);
    const f = r.figures();
    r.stop();
    expect(r.up.subscribedAt).toHaveLength(2);
    // Quick looks at 50, 100, 200 ms after the loss: it can feed again from 150 ms on.
    // Without them (one look every 2 s, the upstream avoided 3 s) it took 4 s.
    expect(r.up.subscribedAt[1]! - r.endedAt).toBeLessThan(1500);
    expect(r.up.subscribedAt[1]! - r.endedAt).toBeGreaterThanOrEqual(150);
    expect(f.upstream).toBe('a');
  });

  it('avoids an upstream that dropped it alone, and reads ZooKeeper meanwhile', async () => {
    const r = await fedThenEnded(false);
    const f = r.figures();
    r.stop();
    expect(r.up.subscribedAt).toHaveLength(1);
    expect(f.upstream).toBe('zookeeper');
  });
});

/**
 * An upstream heartbeating a commit index that does not move, while ZooKeeper's tail is at
 * `tailAt.index` from `tailAt.ms` on (ms after the link opened); from `catchUpMs` on (if
 * set) the upstream's heartbeats carry the tail's index. Returns the times of Subscribe
 * calls (ms after the link opened) and the source at the end.
 */
async function stallCheck(tailAtMs: number, catchUpMs: number | null, runMs: number): Promise<{ subscribedAt: number[]; upstream: string }> {
  const sched = new SimScheduler(7);
  const up = new OneUpstream(sched);
  const { parts, zk, paths } = await startLoneListener(sched, { cluster: 'stall', connector: up, known: [{ id: 'a', address: 'a:1' }] });
  await runFor(sched, 200);
  expect(up.subscribedAt).toHaveLength(1);
  const opened = up.subscribedAt[0]!;
  const sink = up.sink;
  // Heartbeats every 250 ms (the listener's heartbeat is 500 ms): commit 5, or 6 once caught up.
  const beat = (): void => {
    if (up.sink !== sink) return;
    sink?.batch({ upstreamCommit: catchUpMs !== null && sched.now() - opened >= catchUpMs ? 6 : 5 });
    sched.schedule(250, beat);
  };
  beat();
  sched.schedule(Math.max(0, opened + tailAtMs - sched.now()), () => {
    void zk.setData(paths.tail, encodeTail({ term: 1, lastIndex: 6, segmentFirstIndex: 0 }), -1);
  });
  await runFor(sched, runMs);
  const upstream = parts.figures().upstream;
  parts.stop();
  return { subscribedAt: up.subscribedAt.map((t) => t - opened), upstream };
}

describe('a listener whose upstream\'s commit index does not move', () => {
  // The check runs every 4 heartbeats (2 s): at 2 s it records commit 5, at 4 s it reads
  // ZooKeeper's tail, at 6 s it reads it again.
  it('stays when the upstream reaches, within one period, the tail ZooKeeper showed ahead of it', async () => {
    // The tail moves to 6 just before the 4 s look; the upstream has it 200 ms later.
    const r = await stallCheck(3900, 4200, 9000);
    expect(r.subscribedAt).toEqual([0]);
    expect(r.upstream).toBe('a');
  });

  it('moves when the upstream is still short of that tail a period later', async () => {
    const r = await stallCheck(0, null, 7000);
    expect(r.subscribedAt).toEqual([0]);
    expect(r.upstream).toBe('zookeeper');
  });
});
