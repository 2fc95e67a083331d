// The ZooKeeper budget's accounting and decisions (src/server/zk-budget.ts): the estimate of
// a snapshot's znodes against their real encoding, the count from ZooKeeper plus what was
// tracked since, and the thresholds the publish and the snapshot trigger use.
import { describe, expect, it } from 'vitest';
import { encodeChunk, encodeManifest, encodeUploadRecord, chunkCountFor, MAX_SNAPSHOT_CHUNK_BYTES } from '../../../src/coordination/zk-snapshot-records.js';
import type { UsageGroup, ZkUsage } from '../../../src/coordination/zk-inspect.js';
import {
  budgetWantsSnapshot,
  floorReserveBytes,
  formatBytes,
  mustTighten,
  RECOUNT_MS,
  reserveBytes,
  snapshotZkBytes,
  stateTooLarge,
  withWalBytesCounted,
  ZkBudget,
} from '../../../src/server/zk-budget.js';

const MiB = 1024 * 1024;

/** The exact bytes the upload writes for a snapshot of `size` in chunks of `chunkBytes` at `index`. */
function encodedSnapshotBytes(size: number, chunkBytes: number, index: number): number {
  const chunks = chunkCountFor(size, chunkBytes);
  let bytes = encodeUploadRecord({ nodeId: 'a-long-voter-id-of-sixty-four-characters-000000000000000000000000', epochVersion: 2 ** 40, startedAtMs: Date.now() }).length;
  for (let n = 0; n < chunks; n++) {
    const len = Math.max(0, Math.min(chunkBytes, size - n * chunkBytes));
    bytes += encodeChunk({ snapshotIndex: index, number: n, data: new Uint8Array(len) }).length;
  }
  bytes += encodeManifest({
    point: { index, term: 2 ** 40, chain: new Uint8Array(16) },
    sizeBytes: size,
    sha256: new Uint8Array(32),
    chunkCount: chunks,
    chunkBytes,
    madeBy: 'a-long-voter-id-of-sixty-four-characters-000000000000000000000000',
    madeAtMs: Date.now(),
    epochVersion: 2 ** 40,
    nextSegmentFirstIndex: index + 1,
  }).length;
  return bytes;
}

function usage(walBytes: number, snapshots: ReadonlyArray<{ index: number; dataBytes: number }>, snapshotsOwn = 0): ZkUsage {
  const group = (dataBytes: number) => ({ znodes: 1, dataBytes, estimated: false });
  const groups = Object.fromEntries(
    (['root', 'epoch', 'leader', 'lease', 'tail', 'config', 'members', 'wal', 'snapshots', 'other'] as UsageGroup[]).map((g) => [g, group(0)]),
  ) as Record<UsageGroup, ReturnType<typeof group>>;
  const snapBytes = snapshots.reduce((n, s) => n + s.dataBytes, 0) + snapshotsOwn;
  groups.wal = group(walBytes);
  groups.snapshots = group(snapBytes);
  return {
    cluster: 'c',
    groups,
    wal: { segments: 3, dataBytes: walBytes, estimated: false, firstSegmentIndex: 1, compactedThroughSnapshot: 0, tailLastIndex: 10 },
    snapshots: snapshots.map((s) => ({ index: s.index, state: 'complete' as const, znodes: 2, dataBytes: s.dataBytes, chunks: 1 })),
    sessions: [],
    totalZnodes: 10,
    totalDataBytes: walBytes + snapBytes,
    budgetBytes: walBytes + snapBytes,
    complete: true,
    elapsedMs: 1,
  };
}

describe('snapshotZkBytes', () => {
  it('is an upper bound of what the upload writes (chunks with their fields, upload record, manifest), and tight', () => {
    for (const chunkBytes of [1024, 256 * 1024, MAX_SNAPSHOT_CHUNK_BYTES]) {
      for (const size of [0, 1, 1023, 1024, 1025, 300_000, 27_500_000]) {
        const exact = encodedSnapshotBytes(size, chunkBytes, 2 ** 50);
        const estimate = snapshotZkBytes(size, chunkBytes);
        expect(estimate).toBeGreaterThanOrEqual(exact);
        expect(estimate - exact).toBeLessThanOrEqual(1024 + 32 * chunkCountFor(size, chunkBytes));
      }
    }
  });
});

describe('the thresholds', () => {
  it('reserve: a sixteenth of the budget, or twice the growth seen, at most a quarter', () => {
    expect(reserveBytes(64 * MiB, 0)).toBe(4 * MiB);
    expect(reserveBytes(64 * MiB, 3 * MiB)).toBe(6 * MiB);
    expect(reserveBytes(64 * MiB, 100 * MiB)).toBe(16 * MiB);
  });

  it('state too large: two snapshots and the floor reserve (a sixteenth) exceed the budget, whatever the write rate', () => {
    expect(floorReserveBytes(64 * MiB)).toBe(4 * MiB);
    expect(stateTooLarge(30 * MiB, 64 * MiB)).toBe(false);
    expect(stateTooLarge(30 * MiB + 1, 64 * MiB)).toBe(true);
  });

  it('tighten after an upload when the next one (about the same size) and the reserve would not fit', () => {
    expect(mustTighten(40 * MiB, 20 * MiB, 4 * MiB, 64 * MiB)).toBe(false);
    expect(mustTighten(40 * MiB + 1, 20 * MiB, 4 * MiB, 64 * MiB)).toBe(true);
  });

  it('a snapshot for the budget once used + the next snapshot + the reserve reach the budget', () => {
    expect(budgetWantsSnapshot(30 * MiB, 29 * MiB, 4 * MiB, 64 * MiB)).toBe(false);
    expect(budgetWantsSnapshot(31 * MiB, 29 * MiB, 4 * MiB, 64 * MiB)).toBe(true);
  });
});

describe('ZkBudget: the count', () => {
  it('is unknown until counted from ZooKeeper, then follows appends, compactions, uploads and removals', () => {
    const b = new ZkBudget(2 * MiB);
    expect(b.status(0)).toBeNull();
    expect(b.countDue(0)).toBe(true);
    b.countStarted();
    expect(b.countDue(0)).toBe(false); // one count at a time
    b.walAppended(1000); // during the count: it may or may not have seen it; kept on top
    b.countDone(usage(50_000, [{ index: 10, dataBytes: 300_000 }], 40), 100);
    expect(b.status(150)).toEqual({ budgetBytes: 2 * MiB, usedBytes: 351_040, walBytes: 51_000, snapshotBytes: 300_040, over: false, mode: 'normal', reason: '', countedMsAgo: 50 });
    b.walAppended(9000);
    b.snapshotAdded(20, 310_000);
    b.snapshotRemoved(10);
    b.walCompacted(40_000);
    expect(b.used()).toBe(20_000 + 310_000 + 40);
    b.walCompacted(10 ** 9); // never below zero
    expect(b.status(200)!.walBytes).toBe(0);
    expect(b.snapshotBytesOf(20)).toBe(310_000);
    // Counted again only after RECOUNT_MS.
    expect(b.countDue(100 + RECOUNT_MS - 1)).toBe(false);
    expect(b.countDue(100 + RECOUNT_MS)).toBe(true);
  });

  it('a new count replaces what was tracked (a partial upload a crash left, a lost reply)', () => {
    const b = new ZkBudget(2 * MiB);
    b.countStarted();
    b.countDone(usage(10_000, []), 0);
    b.walAppended(5000);
    b.countStarted();
    b.countDone(usage(12_000, [{ index: 5, dataBytes: 70_000 }, { index: 9, dataBytes: 1000 }]), 1);
    expect(b.used()).toBe(83_000);
  });

  it('measures how much the log grew during a publish, which sets the reserve', () => {
    const b = new ZkBudget(16 * MiB);
    expect(b.reserve()).toBe(MiB);
    b.markGrowth();
    b.walAppended(1.5 * MiB);
    b.growthMeasured();
    expect(b.reserve()).toBe(3 * MiB);
  });

  it('mode and reason; reset forgets everything (a new term counts again)', () => {
    const b = new ZkBudget(2 * MiB);
    b.countStarted();
    b.countDone(usage(1, []), 0);
    b.setMode('over', 'too big');
    expect(b.over).toBe(true);
    expect(b.status(0)).toMatchObject({ over: true, mode: 'over', reason: 'too big' });
    b.setMode('normal', 'ignored');
    expect(b.status(0)).toMatchObject({ over: false, reason: '' });
    b.setMode('tight', 'why');
    b.reset();
    expect(b.status(0)).toBeNull();
    expect(b.mode).toBe('normal');
    expect(b.used()).toBe(0);
  });
});

describe('withWalBytesCounted', () => {
  it('passes every sample on and counts the bytes of the multis that succeeded', () => {
    const seen: string[] = [];
    let counted = 0;
    const o = withWalBytesCounted(
      { mirrorMulti: (s) => seen.push(`multi ${s.bytes} ${s.ok}`), leaseLapsed: () => seen.push('lapsed') },
      (bytes) => {
        counted += bytes;
      },
    );
    o.mirrorMulti({ entries: 1, bytes: 300, ms: 1, ok: true });
    o.mirrorMulti({ entries: 1, bytes: 500, ms: 1, ok: false });
    o.leaseLapsed();
    expect(seen).toEqual(['multi 300 true', 'multi 500 false', 'lapsed']);
    expect(counted).toBe(300);
  });
});

describe('formatBytes', () => {
  it('says bytes for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(64 * MiB)).toBe('64.0 MiB');
    expect(formatBytes(3 * 1024 * MiB)).toBe('3.00 GiB');
  });
});
