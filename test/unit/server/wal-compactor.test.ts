// The leader's compaction of wal/ outside its publishes (src/server/wal-compactor.ts), over a
// stand-in for the snapshot store that keeps the segments (first and last index) and the
// complete snapshots: when a term compacts, what it deletes (compactionTarget's snapshot,
// never the tail's segment), resuming in bounded rounds until nothing is left, stopping
// quietly when fenced or deposed, bounded retries, and never overlapping the budget's count.
// The same against a real ZooKeeper and real processes: test/integration/zk-wal-catch-up.test.ts.
import { describe, expect, it } from 'vitest';
import { CorruptZnodeError, EpochFencedError, InvalidArgumentError, UnavailableError } from '../../../src/common/errors.js';
import { pino } from 'pino';
import { type Logger, silentLogger } from '../../../src/common/logger.js';
import type { ZkSnapshotManifest } from '../../../src/coordination/zk-snapshot-records.js';
import type { CompactionReport } from '../../../src/coordination/zk-wal-compaction.js';
import { type CompactingStore, WalCompactor, type WalCompactorLimits } from '../../../src/server/wal-compactor.js';
import { ManualClock } from './manual-clock.js';

function manifestAt(index: number): ZkSnapshotManifest {
  return {
    point: { index, term: 1, chain: new Uint8Array(16) },
    sizeBytes: 100,
    sha256: new Uint8Array(32),
    chunkCount: 1,
    chunkBytes: 256 * 1024,
    madeBy: 'a',
    madeAtMs: 0,
    epochVersion: 2,
    nextSegmentFirstIndex: index + 1,
  };
}

/** Segments of 10 entries each (1-10, 11-20, ...), 100 bytes each; the last one is the tail's. */
class FakeStore implements CompactingStore {
  segments: Array<{ first: number; last: number }> = [];
  snapshots: ZkSnapshotManifest[] = [];
  epochVersion = 2;
  readonly calls: string[] = [];
  /** Rejections to hand out before the next calls of compactWal succeed. */
  failNext: Error[] = [];
  /** While set, compactWal waits for it (a round in flight). */
  hold: Promise<void> | null = null;

  constructor(segments: number, snapshotIndexes: number[]) {
    for (let k = 0; k < segments; k++) this.segments.push({ first: 10 * k + 1, last: 10 * k + 10 });
    this.snapshots = snapshotIndexes.sort((a, b) => b - a).map(manifestAt);
  }

  async list(): Promise<ZkSnapshotManifest[]> {
    this.calls.push('list');
    return [...this.snapshots];
  }

  async compactWal(epochVersion: number, covering: ZkSnapshotManifest, maxSegments?: number): Promise<CompactionReport> {
    this.calls.push(`compact ${covering.point.index} max ${maxSegments}`);
    if (this.hold) await this.hold;
    const fail = this.failNext.shift();
    if (fail) throw fail;
    if (epochVersion !== this.epochVersion) throw new EpochFencedError(epochVersion, 'compaction');
    if (!this.snapshots.some((s) => s.point.index === covering.point.index)) throw new InvalidArgumentError(`no manifest at ${covering.point.index}`);
    const tail = this.segments[this.segments.length - 1]!;
    let deleted = 0;
    let more = false;
    while (this.segments[0] && this.segments[0].last <= covering.point.index && this.segments[0] !== tail) {
      if (maxSegments !== undefined && deleted >= maxSegments) {
        more = true;
        break;
      }
      this.segments.shift();
      deleted++;
    }
    return { deletedSegments: deleted, deletedBytes: 100 * deleted, head: { firstSegmentIndex: this.segments[0]!.first, snapshotIndex: covering.point.index }, more };
  }

  firstLeft(): number {
    return this.segments[0]!.first;
  }
}

/** Lets every pending promise job and setImmediate run. */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Rig {
  keep: { n: number };
  clock: ManualClock;
  store: FakeStore;
  compactor: WalCompactor;
  leading: { epoch: number | null };
  busy: { p: Promise<unknown> | null };
  compacted: Array<{ epoch: number; bytes: number }>;
}

function rig(store: FakeStore, limits: Partial<WalCompactorLimits> = {}, logger: Logger = silentLogger): Rig {
  const clock = new ManualClock();
  const leading: { epoch: number | null } = { epoch: 2 };
  const busy: { p: Promise<unknown> | null } = { p: null };
  const compacted: Array<{ epoch: number; bytes: number }> = [];
  const keep = { n: 2 };
  const compactor = new WalCompactor({
    store,
    clock,
    logger,
    host: {
      leaderEpochVersion: () => leading.epoch,
      keepSnapshots: () => keep.n,
      busy: () => busy.p,
      compacted: (epoch, r) => compacted.push({ epoch, bytes: r.deletedBytes }),
    },
    limits: { startDelayMs: 1000, roundSegments: 3, maxRounds: 4, resumeAfterMs: 500, maxFailures: 2, failureBackoffMs: 100, ...limits },
  });
  return { keep, clock, store, compactor, leading, busy, compacted };
}

/** Advances the manual clock by `ms` in steps, letting the promise jobs run after each. */
async function advance(r: Rig, ms: number, step = 50): Promise<void> {
  const until = r.clock.now() + ms;
  while (r.clock.now() < until) {
    r.clock.jump(r.clock.now() + step);
    await drain();
  }
}

describe('WalCompactor: a leader compacts wal/ behind the snapshots already in ZooKeeper', () => {
  it('a new term compacts after its start delay, through the older of the two newest snapshots, in bounded rounds until nothing covered is left', async () => {
    // 20 segments (1..200); snapshots at 90 and 150: the target is 90 (the fallback keeps 91..150's log).
    const r = rig(new FakeStore(20, [90, 150]));
    r.compactor.termStarted(2);
    await advance(r, 950);
    expect(r.store.calls).toEqual([]);
    await advance(r, 100);
    await r.compactor.idle();
    // Segments 1-10 .. 81-90 go (9), in rounds of at most 3; 91-100 stays.
    expect(r.store.firstLeft()).toBe(91);
    expect(r.store.calls.filter((c) => c.startsWith('compact'))).toEqual(['compact 90 max 3', 'compact 90 max 3', 'compact 90 max 3']);
    expect(r.compacted.reduce((n, c) => n + c.bytes, 0)).toBe(900);
    expect(r.compacted.every((c) => c.epoch === 2)).toBe(true);
  });

  it('a run that reaches its bound of rounds pauses, then resumes until done', async () => {
    // 40 segments, snapshots at 300 and 350: 30 covered, 3 per round, 4 rounds per run.
    const r = rig(new FakeStore(40, [300, 350]));
    r.compactor.termStarted(2);
    await advance(r, 1050);
    await r.compactor.idle();
    expect(r.store.firstLeft()).toBe(121); // 12 segments in the first run
    await advance(r, 400);
    expect(r.store.firstLeft()).toBe(121); // paused
    await advance(r, 2000);
    await r.compactor.idle();
    expect(r.store.firstLeft()).toBe(301);
    expect(r.store.segments.length).toBe(10);
  });

  it('while the budget is tight (keep 1) it compacts through the newest snapshot, as the publish does', async () => {
    const r = rig(new FakeStore(20, [90, 150]), { maxRounds: 100 });
    r.keep.n = 1;
    r.compactor.resume(2);
    await drain();
    await r.compactor.idle();
    expect(r.store.firstLeft()).toBe(151);
  });

  it('nothing is deleted while fewer than `keep` complete snapshots exist', async () => {
    const r = rig(new FakeStore(20, [150]));
    r.compactor.termStarted(2);
    await advance(r, 2000);
    await r.compactor.idle();
    expect(r.store.calls).toEqual(['list']);
    expect(r.store.segments.length).toBe(20);
  });

  it('fenced (another node fenced the epoch): stops quietly, with no retry and no resume', async () => {
    const r = rig(new FakeStore(40, [300, 350]));
    r.store.epochVersion = 3; // deposed before its first round
    r.compactor.termStarted(2);
    await advance(r, 5000);
    await r.compactor.idle();
    expect(r.store.calls).toEqual(['list', 'compact 300 max 3']);
    expect(r.store.segments.length).toBe(40);
  });

  it('deposed between rounds (the node no longer leads with that epoch): stops before the next round', async () => {
    const store = new FakeStore(40, [300, 350]);
    const r = rig(store);
    let release: () => void = () => undefined;
    r.compactor.termStarted(2);
    store.hold = new Promise<void>((res) => {
      release = res;
    });
    await advance(r, 1050);
    expect(store.calls).toEqual(['list', 'compact 300 max 3']);
    r.leading.epoch = null;
    store.hold = null;
    release();
    await drain();
    await r.compactor.idle();
    await advance(r, 3000);
    expect(store.calls.filter((c) => c.startsWith('compact')).length).toBe(1);
    expect(store.firstLeft()).toBe(31);
  });

  it('deposed during a round that then fails (the new leader deleted a segment under its walk): stops without retrying or warning', async () => {
    const store = new FakeStore(40, [300, 350]);
    const warnings: string[] = [];
    const r = rig(store, {}, pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }));
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((res) => {
      release = res;
    });
    store.failNext = [new CorruptZnodeError('/duoraft/c/wal/seg-00000000000000000031', 'missing')];
    r.compactor.termStarted(2);
    await advance(r, 1050);
    r.leading.epoch = null;
    store.hold = null;
    release();
    await drain();
    await r.compactor.idle();
    await advance(r, 3000);
    expect(store.calls).toEqual(['list', 'compact 300 max 3']);
    expect(warnings).toEqual([]);
  });

  it('a term that starts and ends before its delay does nothing; the next term compacts under its own epoch version', async () => {
    const r = rig(new FakeStore(20, [90, 150]));
    r.compactor.termStarted(2);
    r.leading.epoch = 4;
    r.store.epochVersion = 4;
    r.compactor.termStarted(4);
    await advance(r, 1100);
    await r.compactor.idle();
    expect(r.store.firstLeft()).toBe(91);
    expect(r.compacted.every((c) => c.epoch === 4)).toBe(true);
  });

  it('a failing round is retried with backoff, a bounded number of times; then it is left to the next trigger', async () => {
    const r = rig(new FakeStore(20, [90, 150]));
    r.store.failNext = [new UnavailableError('ZooKeeper did not confirm'), new UnavailableError('ZooKeeper did not confirm')];
    r.compactor.termStarted(2);
    await advance(r, 1500);
    await r.compactor.idle();
    expect(r.store.firstLeft()).toBe(91); // two failures (the bound), then done

    const g = rig(new FakeStore(20, [90, 150]));
    g.store.failNext = [1, 2, 3].map(() => new UnavailableError('ZooKeeper did not confirm'));
    g.compactor.termStarted(2);
    await advance(g, 3000);
    await g.compactor.idle();
    expect(g.store.calls.filter((c) => c.startsWith('compact')).length).toBe(3); // 1 + maxFailures
    expect(g.store.segments.length).toBe(20);
    // The next trigger (a publish left work, say) goes on.
    g.compactor.resume(2);
    await drain();
    await g.compactor.idle();
    expect(g.store.firstLeft()).toBe(91);
  });

  it('a failed round is reported (the budget counts again: it may have deleted some segments first); pending() says while work is under way (review 13)', async () => {
    const store = new FakeStore(20, [90, 150]);
    const failed: number[] = [];
    const clock = new ManualClock();
    const compactor = new WalCompactor({
      store,
      clock,
      logger: silentLogger,
      host: { leaderEpochVersion: () => 2, keepSnapshots: () => 2, busy: () => null, compacted: () => undefined, compactionFailed: (e) => failed.push(e) },
      limits: { startDelayMs: 1000, roundSegments: 3, maxRounds: 4, resumeAfterMs: 500, maxFailures: 2, failureBackoffMs: 100 },
    });
    expect(compactor.pending(2)).toBe(false);
    store.failNext = [new UnavailableError('ZooKeeper did not confirm')];
    compactor.termStarted(2);
    expect(compactor.pending(2)).toBe(true);
    expect(compactor.pending(3)).toBe(false);
    for (let t = 0; t < 60 && store.firstLeft() !== 91; t++) {
      clock.jump(clock.now() + 50);
      await drain();
    }
    await compactor.idle();
    expect(failed).toEqual([2]);
    expect(store.firstLeft()).toBe(91);
    expect(compactor.pending(2)).toBe(false);
  });

  it('a host callback that throws ends the run with an error line, never an unhandled rejection; later runs still go', async () => {
    const store = new FakeStore(20, [90, 150]);
    const clock = new ManualClock();
    let throwOnce = true;
    const compactor = new WalCompactor({
      store,
      clock,
      logger: silentLogger,
      host: {
        leaderEpochVersion: () => 2,
        keepSnapshots: () => 2,
        busy: () => null,
        compacted: () => {
          if (throwOnce) {
            throwOnce = false;
            throw new Error('host broke');
          }
        },
      },
      limits: { startDelayMs: 0, roundSegments: 3, maxRounds: 4, resumeAfterMs: 500, maxFailures: 2, failureBackoffMs: 100 },
    });
    compactor.resume(2);
    await drain();
    await compactor.idle();
    expect(store.firstLeft()).toBe(31); // one round of 3 segments, then the callback threw
    compactor.resume(2);
    await drain();
    for (let t = 0; t < 40 && store.firstLeft() !== 91; t++) {
      clock.jump(clock.now() + 50);
      await drain();
    }
    await compactor.idle();
    expect(store.firstLeft()).toBe(91);
  });

  it('a target pruned between the list and the round (refused: no manifest) is listed again', async () => {
    const store = new FakeStore(20, [90, 150]);
    const r = rig(store, { maxRounds: 100 });
    store.failNext = [new InvalidArgumentError('compaction refused: no manifest')];
    store.snapshots = [manifestAt(180), manifestAt(150)]; // a publish added 180 and pruned 90 meanwhile
    r.compactor.termStarted(2);
    await advance(r, 1500);
    await r.compactor.idle();
    expect(store.firstLeft()).toBe(151);
  });

  it('resume() after a publish left work goes on at once; during a run it makes the run go again', async () => {
    const store = new FakeStore(40, [100, 200]);
    const r = rig(store, { maxRounds: 100 });
    r.compactor.resume(2);
    await drain();
    await r.compactor.idle();
    expect(store.firstLeft()).toBe(101);
    // A publish added 300 while a round through 100 is in flight: the run goes again, through 200.
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((res) => {
      release = res;
    });
    r.compactor.resume(2);
    await drain();
    store.snapshots = [manifestAt(300), manifestAt(200), manifestAt(100)]; // a publish added 300 (its prune comes later)
    r.compactor.resume(2);
    store.hold = null;
    release();
    await drain();
    await r.compactor.idle();
    expect(store.firstLeft()).toBe(201);
  });

  it('no round starts while the budget counts ZooKeeper; the round in flight is visible to the count', async () => {
    const store = new FakeStore(20, [90, 150]);
    const r = rig(store);
    let endCount: () => void = () => undefined;
    r.busy.p = new Promise<void>((res) => {
      endCount = res;
    });
    r.compactor.termStarted(2);
    await advance(r, 2000);
    expect(store.calls).toEqual([]);
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((res) => {
      release = res;
    });
    r.busy.p = null;
    endCount();
    await drain();
    expect(r.compactor.roundInFlight()).not.toBeNull();
    store.hold = null;
    release();
    await drain();
    await r.compactor.idle();
    expect(r.compactor.roundInFlight()).toBeNull();
    expect(store.firstLeft()).toBe(91);
  });

  it('stop() cancels a planned run', async () => {
    const r = rig(new FakeStore(20, [90, 150]));
    r.compactor.termStarted(2);
    r.compactor.stop();
    await advance(r, 3000);
    expect(r.store.calls).toEqual([]);
  });
});
