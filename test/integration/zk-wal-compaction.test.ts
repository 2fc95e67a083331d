// Compaction of wal/, the reader that finds segments without listing wal/, and the
// accounting behind `duoraft zk inspect`, against a real ZooKeeper (one server for the file).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactedError, EpochFencedError, InvalidArgumentError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { parseSegmentName, type ClusterPaths } from '../../src/coordination/layout.js';
import { decodeWalHead } from '../../src/coordination/records.js';
import type { ZkSession } from '../../src/coordination/zk-api.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { inspectZk } from '../../src/coordination/zk-inspect.js';
import { readCommittedEntries } from '../../src/coordination/zk-log-reader.js';
import type { ZkSnapshotManifest } from '../../src/coordination/zk-snapshot-records.js';
import { ZkSnapshotStore } from '../../src/coordination/zk-snapshot-store.js';
import { compactWal } from '../../src/coordination/zk-wal-compaction.js';
import { startZooKeeper, type LocalZooKeeper } from '../../src/harness/zk-launcher.js';
import { CountingSession } from './zk-counting-session.js';
import { appendEntries, clusterWithLeader, depose, type LeaderFixture } from './zk-wal-fixture.js';

const env = { ZOOKEEPER_HOME: process.env['ZOOKEEPER_HOME'], JAVA_HOME: process.env['JAVA_HOME'] };
let server: LocalZooKeeper;
let zk: ZkSession;
let clusters = 0;

beforeAll(async () => {
  server = await startZooKeeper({ forceSync: false, env });
  zk = connectZk({ connectString: server.connectString, sessionTimeoutMs: 10_000 });
  await zk.waitConnected(10_000);
});

afterAll(async () => {
  await zk?.close();
  await server?.stop();
});

const ctx = (session: ZkSession, paths: ClusterPaths) => ({ zk: session, paths, clock: realClock, logger: silentLogger });
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** A leader that committed 1000 entries in segments of 10, and one snapshot at `at`. */
async function compactable(at: number): Promise<{ f: LeaderFixture; store: ZkSnapshotStore; manifest: ZkSnapshotManifest }> {
  const f = await clusterWithLeader(zk, `wal-${process.pid}-${++clusters}`);
  await appendEntries(zk, f, 1000, 10);
  const store = new ZkSnapshotStore({ ...ctx(zk, f.paths), nodeId: 'a', chunkBytes: 4096 });
  const file = new Uint8Array(10_000).fill(at & 0xff);
  const manifest = await store.upload({
    point: { index: at, term: 1, chain: new Uint8Array(16) },
    sizeBytes: file.length,
    sha256: new Uint8Array(createHash('sha256').update(file).digest()),
    chunks: (async function* () {
      yield file;
    })(),
    epochVersion: f.epochVersion,
  });
  return { f, store, manifest };
}

async function segmentFirsts(paths: ClusterPaths): Promise<number[]> {
  return (await zk.getChildren(paths.wal)).map((n) => parseSegmentName(n)!).sort((a, b) => a - b);
}

describe('the reader walks the segment chain and never lists wal/', () => {
  it('replays from any point (take-over, catch-up) with no getChildren, reading only what it returns plus a bounded walk', async () => {
    const f = await clusterWithLeader(zk, `read-${process.pid}-${++clusters}`);
    // Two terms: term 2's mirror links its first segment to term 1's last.
    await appendEntries(zk, f, 500, 10);
    const g = await depose(zk, f);
    const tail = await appendEntries(zk, g, 500, 10);
    expect(tail).toEqual({ lastIndex: 1000, segmentFirstIndex: 991 });
    const counting = new CountingSession(zk);
    // [after, segment reads]: a read starting at a segment (a commit point) finds it with one
    // probe; one starting mid-segment reads the 8 names below it at once (the highest that
    // exists holds it: 981 for 986, 971 for 974, 31 for 38), then forwards.
    for (const [after, reads] of [
      [0, 100],
      [500, 50],
      [600, 40],
      [995, 1],
      [985, 1 + 8 + 1],
      [973, 1 + 8 + 2],
      [37, 1 + 8 + 96],
    ] as const) {
      counting.reset();
      const got = await readCommittedEntries(counting, f.paths, after, 1000, { tailSegmentFirstIndex: 991 });
      expect(got.map((e) => e.index)).toEqual(range(after + 1, 1000));
      expect(got[got.length - 1]!.term).toBe(2);
      expect(counting.count('getChildren')).toBe(0);
      expect([after, counting.count(`getData ${f.paths.wal}/`)]).toEqual([after, reads]);
    }
    // Catch-up in rounds of 8 segments from mid-segment: each round costs about what it returns.
    counting.reset();
    let from = 973;
    let rounds = 0;
    while (from < 1000) {
      const got = await readCommittedEntries(counting, f.paths, from, 1000, { tailSegmentFirstIndex: 991, maxSegments: 8 });
      from = got[got.length - 1]!.index;
      rounds++;
    }
    expect(rounds).toBe(1);
    counting.reset();
    from = 13;
    for (rounds = 0; from < 1000; rounds++) {
      const got = await readCommittedEntries(counting, f.paths, from, 1000, { tailSegmentFirstIndex: 991, maxSegments: 8 });
      expect(got[0]!.index).toBe(from + 1);
      from = got[got.length - 1]!.index;
    }
    expect(rounds).toBe(13);
    expect(counting.count('getChildren')).toBe(0);
    // Every segment read once, plus one probe and the 8 names below it (the first round starts mid-segment).
    expect(counting.count(`getData ${f.paths.wal}/`)).toBeLessThanOrEqual(100 + 1 + 8);
  });
});

describe('compaction', () => {
  it('after the manifest exists, deletes exactly the segments the snapshot covers, in bounded multis under the epoch; reads before it say COMPACTED', async () => {
    const { f, store, manifest } = await compactable(455);
    const counting = new CountingSession(zk);
    const report = await compactWal({ ...ctx(counting, f.paths) }, { epochVersion: f.epochVersion, covering: manifest, deletesPerMulti: 7 });
    // Segments 1..441 end at or before 450; 451..460 holds 456 and stays.
    expect(report).toMatchObject({ deletedSegments: 45, more: false, head: { firstSegmentIndex: 451, snapshotIndex: 455 } });
    expect(report.deletedBytes).toBeGreaterThan(45 * 10 * 100);
    expect((await segmentFirsts(f.paths))[0]).toBe(451);
    expect(await segmentFirsts(f.paths)).toHaveLength(55);
    expect(decodeWalHead(f.paths.wal, (await zk.getData(f.paths.wal)).data)).toEqual({ firstSegmentIndex: 451, snapshotIndex: 455 });
    // 45 deletes, at most 7 per multi, each multi checks the epoch first and moves the head last.
    expect(counting.multis).toHaveLength(7);
    for (const ops of counting.multis) {
      expect(ops[0]).toMatchObject({ type: 'check', path: f.paths.epoch, version: f.epochVersion });
      expect(ops[ops.length - 1]).toMatchObject({ type: 'setData', path: f.paths.wal });
      expect(ops.length - 2).toBeLessThanOrEqual(7);
    }
    expect(counting.count('getChildren')).toBe(0);

    const err = await readCommittedEntries(zk, f.paths, 300, 1000, { tailSegmentFirstIndex: 991 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err).toMatchObject({ wantedIndex: 301, firstAvailableIndex: 451, snapshotIndex: 455 });
    // A node that loaded the snapshot reads on from the segment its manifest names.
    counting.reset();
    const after = await readCommittedEntries(counting, f.paths, 455, 1000, { startSegmentFirstIndex: manifest.nextSegmentFirstIndex, tailSegmentFirstIndex: 991 });
    expect(after.map((e) => e.index)).toEqual(range(456, 1000));
    expect(counting.count(`getData ${f.paths.wal}/`)).toBe(55);
    expect(manifest.nextSegmentFirstIndex).toBe(451);
    // Compacting again is a no-op.
    expect((await store.compactWal(f.epochVersion, manifest)).deletedSegments).toBe(0);
  });

  it('never deletes the segment the tail names, even when the snapshot covers it', async () => {
    const { f, manifest } = await compactable(1000);
    const report = await compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest });
    expect(report.deletedSegments).toBe(99);
    expect(await segmentFirsts(f.paths)).toEqual([991]);
    expect(await readCommittedEntries(zk, f.paths, 1000, 1000)).toEqual([]);
  });

  it('a bounded call says more is left, and the next one goes on', async () => {
    const { f, manifest } = await compactable(700);
    const first = await compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest, maxSegments: 30 });
    expect(first).toMatchObject({ deletedSegments: 30, more: true, head: { firstSegmentIndex: 301 } });
    const second = await compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest, maxSegments: 100 });
    expect(second).toMatchObject({ deletedSegments: 40, more: false, head: { firstSegmentIndex: 701 } });
  });

  it('a deposed leader compacts nothing: EpochFencedError', async () => {
    const { f, manifest } = await compactable(500);
    await depose(zk, f);
    await expect(compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest })).rejects.toThrow(EpochFencedError);
    expect(await segmentFirsts(f.paths)).toHaveLength(100);
  });

  it('without the manifest in ZooKeeper nothing is compacted', async () => {
    const { f, manifest } = await compactable(500);
    await zk.delete(f.paths.snapshotManifest(500), -1);
    await expect(compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest })).rejects.toThrow(InvalidArgumentError);
    expect(await segmentFirsts(f.paths)).toHaveLength(100);
  });

  it('publish: upload, prune, then compact through the older of the two kept snapshots', async () => {
    const { f, store } = await compactable(300);
    const file = new Uint8Array(5000).fill(1);
    const publish = (index: number) =>
      store.publish({
        point: { index, term: 1, chain: new Uint8Array(16) },
        sizeBytes: file.length,
        sha256: new Uint8Array(createHash('sha256').update(file).digest()),
        chunks: (async function* () {
          yield file;
        })(),
        epochVersion: f.epochVersion,
      });
    const second = await publish(600);
    expect(second.compaction?.head).toEqual({ firstSegmentIndex: 301, snapshotIndex: 300 });
    const third = await publish(900);
    expect(third.prune.removed.map((r) => r.index)).toEqual([300]);
    expect(third.compaction?.head).toEqual({ firstSegmentIndex: 601, snapshotIndex: 600 });
    // The previous snapshot plus the log after it still rebuild everything: the fallback.
    expect((await readCommittedEntries(zk, f.paths, 600, 1000)).length).toBe(400);
  });
});

describe('inspect', () => {
  /** Every znode under the root, with getData: the slow truth inspect must match. */
  async function bruteForce(root: string): Promise<{ znodes: number; bytes: number }> {
    let znodes = 0;
    let bytes = 0;
    const queue = [root];
    while (queue.length > 0) {
      const p = queue.pop()!;
      znodes++;
      bytes += (await zk.getData(p)).data.length;
      for (const c of await zk.getChildren(p)) queue.push(`${p}/${c}`);
    }
    return { znodes, bytes };
  }

  it('counts every znode and byte of the cluster from stats, without reading segment or chunk data', async () => {
    const { f, store, manifest } = await compactable(455);
    await compactWal(ctx(zk, f.paths), { epochVersion: f.epochVersion, covering: manifest });
    await zk.create(f.paths.member('a'), new TextEncoder().encode('member a'), 'ephemeral');
    await zk.create(f.paths.snapshot(999), new Uint8Array(0), 'persistent'); // a partial upload, unreadable record
    const counting = new CountingSession(zk);
    const usage = await inspectZk(counting, f.paths, { clock: realClock });
    const truth = await bruteForce(f.paths.root);
    expect(usage.totalZnodes).toBe(truth.znodes);
    expect(usage.totalDataBytes).toBe(truth.bytes);
    expect(usage.complete).toBe(true);
    expect(usage.wal).toMatchObject({ segments: 55, estimated: false, firstSegmentIndex: 451, compactedThroughSnapshot: 455, tailLastIndex: 1000 });
    expect(usage.groups.members.znodes).toBe(2);
    expect(usage.snapshots.map((s) => `${s.index}:${s.state}:${s.chunks}`)).toEqual(['999:partial:0', '455:complete:3']);
    expect(usage.snapshots[1]).toMatchObject({ term: 1, sizeBytes: 10_000 });
    expect(usage.budgetBytes).toBe(usage.groups.wal.dataBytes + usage.groups.snapshots.dataBytes);
    // No segment or chunk was read: stats only (the manifest and the tail are read).
    expect(counting.calls.filter((c) => c.startsWith(`getData ${f.paths.wal}/`) || /getData .*chunk-/.test(c))).toEqual([]);
    expect((await store.list()).length).toBe(1);
  });

  it('when wal/ is too long to list, counts its segments exactly and estimates their bytes from the newest', async () => {
    const { f } = await compactable(100);
    const counting = new CountingSession(zk);
    const usage = await inspectZk(counting, f.paths, { clock: realClock, maxListedSegments: 50 });
    expect(counting.calls).not.toContain(`getChildren ${f.paths.wal}`);
    expect(usage.wal.segments).toBe(100);
    expect(usage.wal.estimated).toBe(true);
    const truth = (await bruteForce(f.paths.wal)).bytes;
    // Segments of ten equal entries: the estimate is within a few percent.
    expect(Math.abs(usage.wal.dataBytes - truth) / truth).toBeLessThan(0.05);
    // Past its deadline it stops counting, estimates, and says so.
    const rushed = await inspectZk(zk, f.paths, { clock: realClock, deadlineMs: 0 });
    expect(rushed).toMatchObject({ complete: false, wal: { segments: 100, estimated: true } });
    expect(Math.abs(rushed.wal.dataBytes - truth) / truth).toBeLessThan(0.05);
  });
});
