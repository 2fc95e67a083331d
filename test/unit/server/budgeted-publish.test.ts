// The leader's publish within the ZooKeeper budget (src/server/budgeted-publish.ts), over a
// stand-in for the snapshot store that only keeps sizes (which snapshots exist, which
// segments, how many bytes each): the order of uploads, prunes and compactions in each
// mode, and, driven the way the snapshotter drives it, that the bytes held never pass the
// budget, not even while an upload runs and the log grows meanwhile. The store itself
// against a real ZooKeeper: test/integration/zk-snapshot-store.test.ts, zk-budget.test.ts.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import type { ZkSnapshotManifest } from '../../../src/coordination/zk-snapshot-records.js';
import type { SnapshotUpload } from '../../../src/coordination/zk-snapshot-upload.js';
import type { CompactionReport } from '../../../src/coordination/zk-wal-compaction.js';
import type { GroupUsage, UsageGroup } from '../../../src/coordination/zk-inspect.js';
import type { PruneReport } from '../../../src/coordination/zk-snapshot-prune.js';
import { publishWithinBudget, type PublishingStore } from '../../../src/server/budgeted-publish.js';
import { budgetCeilingBytes, budgetWantsSnapshot, snapshotZkBytes, ZkBudget } from '../../../src/server/zk-budget.js';

const MiB = 1024 * 1024;
const SEGMENT_BYTES = 64 * 1024;

/** Sizes only: complete snapshots (newest first) and wal segments (oldest first). */
class SizedStore implements PublishingStore {
  readonly chunkBytes = 256 * 1024;
  snapshots: Array<{ manifest: ZkSnapshotManifest; bytes: number }> = [];
  segments: Array<{ lastIndex: number; bytes: number }> = [];
  lastIndex = 0;
  peak = 0;
  readonly calls: string[] = [];
  /** Log appended while an upload runs (writes go on). */
  duringUpload = 0;
  onAppend: (bytes: number) => void = () => undefined;

  used(): number {
    return this.snapshots.reduce((n, s) => n + s.bytes, 0) + this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  append(bytes: number): void {
    for (let left = bytes; left > 0; left -= SEGMENT_BYTES) {
      const b = Math.min(SEGMENT_BYTES, left);
      this.lastIndex += 100;
      this.segments.push({ lastIndex: this.lastIndex, bytes: b });
      this.onAppend(b);
      this.peak = Math.max(this.peak, this.used());
    }
  }

  async upload(u: SnapshotUpload): Promise<ZkSnapshotManifest> {
    this.calls.push(`upload ${u.point.index}`);
    // The chunks arrive one by one while the log grows; the real bytes are a little under the estimate.
    const bytes = snapshotZkBytes(u.sizeBytes, this.chunkBytes) - 200;
    const partial = { manifest: manifestOf(u), bytes: 0 };
    this.snapshots.unshift(partial);
    const steps = 4;
    for (let k = 1; k <= steps; k++) {
      partial.bytes = Math.round((bytes * k) / steps);
      this.append(this.duringUpload / steps);
      this.peak = Math.max(this.peak, this.used());
    }
    return partial.manifest;
  }

  async prune(_epochVersion: number, keep?: number): Promise<PruneReport> {
    const k = keep ?? 2;
    this.calls.push(`prune ${k}`);
    const removed = this.snapshots.slice(k).map((s) => ({ index: s.manifest.point.index, why: 'old' }));
    this.snapshots = this.snapshots.slice(0, k);
    return { kept: this.snapshots.map((s) => s.manifest.point.index), removed };
  }

  async list(): Promise<ZkSnapshotManifest[]> {
    return this.snapshots.map((s) => s.manifest);
  }

  async compactThrough(_epochVersion: number, covering: ZkSnapshotManifest, maxSegments?: number): Promise<CompactionReport | null> {
    this.calls.push(maxSegments === undefined ? `compact ${covering.point.index}` : `compact ${covering.point.index} max ${maxSegments}`);
    // Whole segments at or below the index go; never the newest one (the tail's).
    let deletedSegments = 0;
    let deletedBytes = 0;
    let more = false;
    while (this.segments.length > 1 && this.segments[0]!.lastIndex <= covering.point.index) {
      if (maxSegments !== undefined && deletedSegments >= maxSegments) {
        more = true;
        break;
      }
      deletedBytes += this.segments.shift()!.bytes;
      deletedSegments++;
    }
    return { deletedSegments, deletedBytes, head: { firstSegmentIndex: 1, snapshotIndex: covering.point.index }, more };
  }
}

function manifestOf(u: SnapshotUpload): ZkSnapshotManifest {
  return {
    point: u.point,
    sizeBytes: u.sizeBytes,
    sha256: u.sha256,
    chunkCount: 1,
    chunkBytes: 256 * 1024,
    madeBy: 'a',
    madeAtMs: 0,
    epochVersion: u.epochVersion,
    nextSegmentFirstIndex: u.point.index + 1,
  };
}

function upload(index: number, sizeBytes: number): SnapshotUpload {
  return {
    point: { index, term: 1, chain: new Uint8Array(16) },
    sizeBytes,
    sha256: new Uint8Array(32),
    chunks: (async function* () {})(),
    epochVersion: 1,
  };
}

/** A budget counted from the store, following its appends from then on. */
function countedBudget(store: SizedStore, limit: number): ZkBudget {
  const b = new ZkBudget(limit);
  const walBytes = store.segments.reduce((n, s) => n + s.bytes, 0);
  const snapBytes = store.snapshots.reduce((n, s) => n + s.bytes, 0);
  const none = { znodes: 0, dataBytes: 0, estimated: false };
  const groups: Record<UsageGroup, GroupUsage> = {
    root: none,
    epoch: none,
    leader: none,
    lease: none,
    tail: none,
    config: none,
    members: none,
    wal: { znodes: store.segments.length + 1, dataBytes: walBytes, estimated: false },
    snapshots: { znodes: store.snapshots.length + 1, dataBytes: snapBytes, estimated: false },
    other: none,
  };
  b.countStarted();
  b.countDone(
    {
      cluster: 'c',
      groups,
      wal: { segments: store.segments.length, dataBytes: walBytes, estimated: false, firstSegmentIndex: 1, compactedThroughSnapshot: 0, tailLastIndex: store.lastIndex },
      snapshots: store.snapshots.map((s) => ({ index: s.manifest.point.index, state: 'complete' as const, znodes: 1, dataBytes: s.bytes, chunks: 1 })),
      sessions: [],
      totalZnodes: 0,
      totalDataBytes: walBytes + snapBytes,
      budgetBytes: walBytes + snapBytes,
      complete: true,
      elapsedMs: 0,
    },
    0,
  );
  store.onAppend = (bytes) => b.walAppended(bytes);
  return b;
}

describe('publishWithinBudget: what it does in each mode', () => {
  it('normal: upload, keep two, compact through the older one', async () => {
    const store = new SizedStore();
    store.append(MiB);
    const budget = countedBudget(store, 64 * MiB);
    await publishWithinBudget(store, budget, upload(100, MiB), 2, silentLogger);
    store.append(MiB);
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, MiB), 2, silentLogger);
    expect(r).toMatchObject({ outcome: 'published', mode: 'normal', reason: '' });
    expect(store.calls).toEqual(['upload 100', 'prune 2', 'upload 3200', 'prune 2', 'compact 100']);
    expect(store.snapshots.map((s) => s.manifest.point.index)).toEqual([3200, 100]);
  });

  it('with an inline bound, a publish compacts at most that many segments, counts what it deleted, and says what it left', async () => {
    const store = new SizedStore();
    store.append(MiB); // 16 segments of 64 KiB
    const budget = countedBudget(store, 64 * MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, MiB), 2, silentLogger, 5);
    store.append(MiB);
    const before = budget.used();
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, MiB), 2, silentLogger, 5);
    expect(store.calls).toEqual(['upload 1600', 'prune 2', 'upload 3200', 'prune 2', 'compact 1600 max 5']);
    expect(r).toMatchObject({ outcome: 'published', compactedSegments: 5, compactionLeft: true });
    expect(store.segments.length).toBe(32 - 5);
    expect(budget.used()).toBe(before + snapshotZkBytes(MiB, store.chunkBytes) - 5 * SEGMENT_BYTES);
    // Without a bound, everything covered goes at once (nothing left).
    const all = await publishWithinBudget(store, budget, upload(store.lastIndex + 1, MiB), 2, silentLogger);
    expect(all).toMatchObject({ compactionLeft: false });
    expect(store.segments.length).toBe(1);
  });

  it('a bounded inline compaction that leaves covered segments does not make the publish drop the fallback snapshot (review 13)', async () => {
    // 64 MiB; snapshots A and B of 8 MiB with 20 + 10 + 5 MiB of log; C uploaded while 2 MiB
    // more are written. Compacting through B frees 30 MiB, but an inline round of 5 segments
    // frees almost nothing: counting the rest as held made the publish tighten to C alone.
    const store = new SizedStore();
    const budget = countedBudget(store, 64 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 8 * MiB), 2, silentLogger, 5);
    store.append(20 * MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 8 * MiB), 2, silentLogger, 5);
    store.append(10 * MiB);
    store.append(5 * MiB);
    store.duringUpload = 2 * MiB;
    store.calls.length = 0;
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, 8 * MiB), 2, silentLogger, 5);
    expect(r.outcome).toBe('published');
    expect(r.compactionLeft).toBe(true);
    expect(r.mode).toBe('normal');
    expect(store.snapshots).toHaveLength(2);
    expect(store.calls).not.toContain('prune 1');
  });

  it('tight: when the upload would not fit, keep only the newest and compact through it first; after, if the next would not fit, again', async () => {
    const store = new SizedStore();
    const budget = countedBudget(store, 6 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 2 * MiB), 2, silentLogger);
    store.append(MiB);
    store.calls.length = 0;
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, 2 * MiB), 2, silentLogger);
    expect(r.outcome).toBe('published');
    expect(r.mode).toBe('tight');
    expect(r.reason).toMatch(/compacted through the newest snapshot/);
    // 2 MiB of snapshot and 2 of log held, 2 more to upload and the 0.375 MiB reserve: over 6 MiB, so room first;
    // after it, 2 + 2 + 1 of log and another 2 to come would not fit: compacted through the new one.
    expect(store.calls).toEqual(['prune 1', 'compact 1600', 'upload 3200', 'prune 2', 'compact 1600', 'prune 1', 'compact 3200']);
    expect(store.snapshots.map((s) => s.manifest.point.index)).toEqual([3200]);
    expect(store.peak).toBeLessThanOrEqual(6 * MiB);
  });

  it('the log grows while an upload runs: an upload must fit with the reserve, so room is made first', async () => {
    const store = new SizedStore();
    const budget = countedBudget(store, 8 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 2 * MiB), 2, silentLogger);
    store.append(2.5 * MiB);
    store.duringUpload = 0.45 * MiB; // under the 0.5 MiB reserve
    store.calls.length = 0;
    // 2 + 3.5 held and 2.2 to upload: 7.7 of 8 MiB would fit, but not with the log written meanwhile.
    const index = store.lastIndex;
    const r = await publishWithinBudget(store, budget, upload(index, 2.2 * MiB), 2, silentLogger);
    expect(r.outcome).toBe('published');
    expect(store.calls.slice(0, 3)).toEqual(['prune 1', 'compact 1600', `upload ${index}`]);
    expect(store.peak).toBeLessThanOrEqual(8 * MiB);
  });

  it('over: a snapshot that cannot fit is not uploaded, and says why; one that fits but could not be followed is, and the state is still too large', async () => {
    const store = new SizedStore();
    const budget = countedBudget(store, 8 * MiB);
    store.append(MiB);
    const fitsOnce = await publishWithinBudget(store, budget, upload(store.lastIndex, 3.9 * MiB), 2, silentLogger);
    expect(fitsOnce).toMatchObject({ outcome: 'published', mode: 'over' });
    expect(fitsOnce.reason).toMatch(/two of them .* more than the 8\.0 MiB budget/);
    store.append(MiB);
    const refused = await publishWithinBudget(store, budget, upload(store.lastIndex, 4.2 * MiB), 2, silentLogger);
    expect(refused).toMatchObject({ outcome: 'over-budget', mode: 'over', manifest: null });
    expect(refused.reason).toMatch(/would take ZooKeeper to .* of its 8\.0 MiB budget, .*two snapshots of this state do not fit; it stays local/);
    expect(budget.over).toBe(true);
    expect(store.calls.filter((c) => c.startsWith('upload'))).toHaveLength(1);
    expect(store.peak).toBeLessThanOrEqual(8 * MiB);
  });
});

describe('publishWithinBudget: a state that fits is never refused, whatever the write rate', () => {
  it('the snapshot bench\'s case: 25 MiB of state, 6.25 MiB of log per publish, 64 MiB: published, writes go on', async () => {
    // Before: the reserve (twice the last growth, 12.5 MiB) did not fit beside the newest
    // snapshot (19.2 MiB), its log (7.5 MiB) and the upload (25 MiB), so the upload was refused
    // and the leader refused every write from then on: nothing was left to compact through.
    const store = new SizedStore();
    const budget = countedBudget(store, 64 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 19.2 * MiB), 2, silentLogger);
    budget.markGrowth();
    store.append(6.25 * MiB);
    budget.growthMeasured();
    store.append(1.25 * MiB);
    store.duringUpload = 6.25 * MiB;
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, 25 * MiB), 2, silentLogger);
    expect(r.outcome).toBe('published');
    expect(r.mode).not.toBe('over');
    expect(budget.over).toBe(false);
    expect(store.peak).toBeLessThanOrEqual(64 * MiB);
  });

  it('room is made first whenever the log one publish writes would not fit, even past the capped reserve (review 12)', async () => {
    // 64 MiB; the last publish saw 20 MiB of log (the reserve is capped at 16); two snapshots
    // of 10 and 4 of log held; 22 to upload. With the reserve alone nothing was tightened and
    // the upload became an excursion that dropping the older snapshot would have avoided.
    const store = new SizedStore();
    const budget = countedBudget(store, 64 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 10 * MiB), 2, silentLogger);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 10 * MiB), 2, silentLogger);
    // What the last publish saw (its log has been compacted since): 20 MiB.
    budget.markGrowth();
    budget.walAppended(20 * MiB);
    budget.growthMeasured();
    budget.walCompacted(20 * MiB);
    store.append(3 * MiB);
    store.calls.length = 0;
    expect(store.snapshots).toHaveLength(2);
    expect(budget.reserve()).toBe(16 * MiB);
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, 22 * MiB), 2, silentLogger);
    expect(r.outcome).toBe('published');
    expect(r.reason).not.toMatch(/outgrew the room/);
    expect(store.calls[0]).toBe('prune 1');
  });

  it('the ceiling past which writes wait: the budget and a quarter', () => {
    expect(budgetCeilingBytes(64 * MiB)).toBe(80 * MiB);
  });

  it('an excursion: the log since the newest snapshot outgrew the room, the state fits: uploaded anyway, then back under', async () => {
    const store = new SizedStore();
    const budget = countedBudget(store, 16 * MiB);
    store.append(MiB);
    await publishWithinBudget(store, budget, upload(store.lastIndex, 4 * MiB), 2, silentLogger);
    // A failover cut the publishes short: 9 MiB of log behind the one snapshot.
    store.append(9 * MiB);
    const index = store.lastIndex;
    const r = await publishWithinBudget(store, budget, upload(index, 4 * MiB), 2, silentLogger);
    expect(r).toMatchObject({ outcome: 'published', mode: 'tight' });
    expect(r.reason).toMatch(/the log since the newest snapshot outgrew the room/);
    expect(budget.over).toBe(false);
    // Past the budget only while the upload ran; the compaction after it takes it back under.
    expect(store.peak).toBeGreaterThan(16 * MiB);
    expect(store.used()).toBeLessThanOrEqual(16 * MiB);
    expect(store.snapshots.map((x) => x.manifest.point.index)).toEqual([index]);
  });
});

/**
 * Drives publishes the way the snapshotter does: the log grows in small steps; a snapshot is
 * taken every `everyBytes` of log or when the budget wants one; the log keeps growing while
 * it is uploaded. Returns the highest bytes ever held and the modes seen.
 */
async function run(o: { budget: number; stateBytes: number; everyBytes: number; duringUpload: number; publishes: number }): Promise<{ peak: number; steadyPeak: number; modes: Set<string> }> {
  const store = new SizedStore();
  store.duringUpload = o.duringUpload;
  const budget = countedBudget(store, o.budget);
  const modes = new Set<string>();
  let newest = 0;
  let firstPeak = 0;
  for (let p = 0; p < o.publishes; p++) {
    let since = 0;
    // While over, writes that add data are refused: the log only gains deletes and keep-alives.
    const step = budget.over ? SEGMENT_BYTES / 64 : SEGMENT_BYTES;
    while (since < (budget.over ? o.everyBytes / 64 : o.everyBytes)) {
      store.append(step);
      since += step;
      // A write adds at most its bytes to the state: the snapshot trigger's bound, as in the snapshotter.
      if (!budget.over && since >= o.everyBytes / 8 && budgetWantsSnapshot(budget.used(), newest + since, budget.reserve(), o.budget)) break;
    }
    budget.markGrowth();
    store.duringUpload = budget.over ? 0 : o.duringUpload;
    const r = await publishWithinBudget(store, budget, upload(store.lastIndex, o.stateBytes), 2, silentLogger);
    budget.growthMeasured();
    if (r.outcome === 'published') newest = r.snapshotZkBytes;
    modes.add(r.mode);
    // The first publishes of a term do not know yet how fast the log grows during one.
    if (p === 1) {
      firstPeak = store.peak;
      store.peak = store.used();
    }
  }
  return { peak: Math.max(firstPeak, store.peak), steadyPeak: store.peak, modes };
}

describe('publishWithinBudget, driven as the snapshotter drives it: ZooKeeper never holds more than the budget', () => {
  const budget = 64 * MiB;
  const everyBytes = 9.6 * MiB; // the default 8 MiB of entries, as segments (about 1.2 times)
  for (const duringUpload of [0.5 * MiB, 3 * MiB, 6.25 * MiB]) {
    for (const stateMiB of [0.5, 8, 14, 20, 26, 28, 31, 34, 45]) {
      it(`a ${stateMiB} MiB state, ${duringUpload / MiB} MiB of log per upload`, async () => {
        const r = await run({ budget, stateBytes: stateMiB * MiB, everyBytes, duringUpload, publishes: 40 });
        // Held whenever it can be: two snapshots, the log one upload lets grow, the log of the
        // upload before (behind the newest snapshot, so not compactable) and the trigger's least
        // interval fit. A fast writer on a large state past that: ZooKeeper passes the budget by
        // at most the log of one upload, for the length of one upload (an excursion), and writes
        // go on; refusing the upload instead stopped writes for good.
        const holds = 2 * stateMiB * MiB + 2 * duringUpload + everyBytes / 8 <= budget;
        if (duringUpload <= 3 * MiB || holds) expect(r.peak).toBeLessThanOrEqual(budget);
        else expect(r.peak).toBeLessThanOrEqual(budget + duringUpload);
        // Once the term knows the log's pace, an excursion only where the budget cannot hold.
        if (holds) expect(r.steadyPeak).toBeLessThanOrEqual(budget);
        if (stateMiB <= 8) expect([...r.modes]).toEqual(['normal']);
        if (stateMiB >= 20 && stateMiB <= 26) expect(r.modes.has('tight')).toBe(true);
        // The largest state served: two snapshots, the reserve (at least twice the log one upload lets
        // grow) and the log of one upload and one short interval (notes/snapshots.md).
        if (stateMiB <= 26) expect(r.modes.has('over')).toBe(false);
        if (stateMiB <= 28 && duringUpload < MiB) expect(r.modes.has('over')).toBe(false);
        if (stateMiB >= 34) expect(r.modes.has('over')).toBe(true);
      });
    }
  }
});
