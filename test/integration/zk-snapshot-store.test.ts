// Snapshots in a real ZooKeeper (one server for the file): the chunk-size limit, upload and
// download, damage detected and survived, prune, fencing.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptZnodeError, EpochFencedError, InvalidArgumentError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { realClock } from '../../src/common/real-clock.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { ZkError, type ZkSession } from '../../src/coordination/zk-api.js';
import { connectZk } from '../../src/coordination/zk-client.js';
import { encodeUploadRecord, encodeChunk, MAX_SNAPSHOT_CHUNK_BYTES, type SnapshotPoint, type ZkSnapshotManifest } from '../../src/coordination/zk-snapshot-records.js';
import { ZkSnapshotStore } from '../../src/coordination/zk-snapshot-store.js';
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

const point = (index: number, term = 1): SnapshotPoint => ({ index, term, chain: new Uint8Array(16) });
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

async function* pieces(file: Uint8Array, size = 100_000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < file.length; at += size) yield file.subarray(at, at + size);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

function store(session: ZkSession, f: LeaderFixture, chunkBytes = 64 * 1024): ZkSnapshotStore {
  return new ZkSnapshotStore({ zk: session, paths: f.paths, clock: realClock, logger: silentLogger, nodeId: 'a', chunkBytes });
}

/** A cluster whose leader has committed 200 entries (10 per segment). */
async function leaderWithLog(): Promise<LeaderFixture> {
  const f = await clusterWithLeader(zk, `snap-${process.pid}-${++clusters}`);
  await appendEntries(zk, f, 200, 10);
  return f;
}

async function upload(s: ZkSnapshotStore, f: LeaderFixture, index: number, file: Uint8Array): Promise<ZkSnapshotManifest> {
  return s.upload({ point: point(index), sizeBytes: file.length, sha256: sha256(file), chunks: pieces(file), epochVersion: f.epochVersion });
}

describe('the chunk-size limit, found against the real server', () => {
  it('multi(check(epoch), create(chunk)) at the longest path: the largest that lands leaves half the packet spare at MAX_SNAPSHOT_CHUNK_BYTES; one byte more is refused unapplied; the largest survives a restart', async () => {
    // The longest paths duoraft makes: a 64-character cluster name, a 20-digit index.
    const paths = new ClusterPaths('c'.repeat(64));
    const f = await clusterWithLeader(zk, paths.cluster);
    const dir = paths.snapshot(99_999_999_999_999);
    await zk.create(dir, encodeUploadRecord({ nodeId: 'a', epochVersion: f.epochVersion, startedAtMs: 0 }), 'persistent');
    let n = 0;
    const lands = async (bytes: number): Promise<boolean> => {
      const path = paths.snapshotChunk(99_999_999_999_999, n++);
      try {
        await zk.multi([
          { type: 'check', path: paths.epoch, version: f.epochVersion },
          { type: 'create', path, data: new Uint8Array(bytes), mode: 'persistent' },
        ]);
        return true;
      } catch (err) {
        // Over jute.maxbuffer the server drops the connection; the client reconnects.
        expect(err).toBeInstanceOf(ZkError);
        expect((err as ZkError).code).toBe('CONNECTION_LOSS');
        await zk.waitConnected(10_000);
        expect(await zk.exists(path)).toBeNull();
        return false;
      }
    };
    let lo = 1_000_000;
    let hi = 1_048_576;
    expect(await lands(lo)).toBe(true);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await lands(mid)) lo = mid;
      else hi = mid;
    }
    const pathLength = paths.snapshotChunk(99_999_999_999_999, 0).length;
    console.log(`largest znode data in multi(check(epoch), create(chunk)) at a ${pathLength}-character path: ${lo} bytes`);
    expect(pathLength).toBe(117);
    const maxChunkZnode = encodeChunk({ snapshotIndex: 99_999_999_999_999, number: 999_999, data: new Uint8Array(MAX_SNAPSHOT_CHUNK_BYTES) }).length;
    // The largest chunk duoraft writes leaves about half the packet to paths, headers and ACLs.
    expect(lo - maxChunkZnode).toBeGreaterThan(500_000);
    expect(await lands(maxChunkZnode)).toBe(true);
    // The server writes it to its transaction log and reads it back after a restart.
    await server.restart();
    await zk.waitConnected(15_000);
    const sizes = await Promise.all((await zk.getChildren(dir)).map(async (c) => (await zk.exists(`${dir}/${c}`))!.dataLength));
    expect(Math.max(...sizes)).toBe(lo);
  });
});

describe('upload and download', () => {
  it('round-trips a snapshot in chunks, the manifest last, one chunk in flight', async () => {
    const f = await leaderWithLog();
    const counting = new CountingSession(zk);
    const s = store(counting, f);
    const file = new Uint8Array(randomBytes(300_000));
    const m = await upload(s, f, 150, file);
    expect(m).toMatchObject({ point: { index: 150, term: 1 }, sizeBytes: 300_000, chunkCount: 5, chunkBytes: 65_536, madeBy: 'a', epochVersion: f.epochVersion, nextSegmentFirstIndex: 151 });
    expect(counting.maxMultisInFlight).toBe(1);
    const creates = counting.multis.map((ops) => ops[1]!.path.split('/').pop());
    expect(creates).toEqual(['00000000000000000150', 'chunk-000000', 'chunk-000001', 'chunk-000002', 'chunk-000003', 'chunk-000004', 'manifest']);
    // Every write checked the epoch.
    expect(counting.multis.every((ops) => ops[0]!.type === 'check' && ops[0]!.path === f.paths.epoch && ops[0]!.version === f.epochVersion)).toBe(true);

    const listed = await s.list();
    expect(listed.map((x) => x.point.index)).toEqual([150]);
    expect(Buffer.from(listed[0]!.sha256)).toEqual(Buffer.from(sha256(file)));
    expect(await collect(s.download(listed[0]!))).toEqual(Buffer.from(file));
    // Uploading the same point again changes nothing.
    counting.reset();
    expect((await upload(s, f, 150, file)).point.index).toBe(150);
    expect(counting.multis).toHaveLength(0);
  });

  it('names the segment that holds the entries after a snapshot taken mid-segment', async () => {
    const f = await leaderWithLog();
    const m = await upload(store(zk, f), f, 155, new Uint8Array(10));
    expect(m.nextSegmentFirstIndex).toBe(151);
  });

  it('refuses bytes that do not match the size or SHA-256 announced, and leaves nothing behind', async () => {
    const f = await leaderWithLog();
    const s = store(zk, f);
    const file = new Uint8Array(randomBytes(100_000));
    const wrongSha = s.upload({ point: point(120), sizeBytes: file.length, sha256: new Uint8Array(32), chunks: pieces(file), epochVersion: f.epochVersion });
    await expect(wrongSha).rejects.toThrow(InvalidArgumentError);
    await expect(wrongSha).rejects.toThrow(/hash to/);
    const tooMany = s.upload({ point: point(120), sizeBytes: 50_000, sha256: sha256(file), chunks: pieces(file), epochVersion: f.epochVersion });
    await expect(tooMany).rejects.toThrow(/more than the 50000 bytes announced/);
    expect(await zk.exists(f.paths.snapshot(120))).toBeNull();
    await expect(s.upload({ point: point(500), sizeBytes: 1, sha256: sha256(new Uint8Array(1)), chunks: pieces(new Uint8Array(1)), epochVersion: f.epochVersion })).rejects.toThrow(/past ZooKeeper's tail 200/);
  });

  it('a deposed leader uploads nothing: EpochFencedError', async () => {
    const f = await leaderWithLog();
    await depose(zk, f);
    await expect(upload(store(zk, f), f, 150, new Uint8Array(1000))).rejects.toThrow(EpochFencedError);
    expect(await zk.exists(f.paths.snapshot(150))).toBeNull();
  });
});

describe('damage is detected and survived', () => {
  it('a corrupted chunk is refused naming the znode, and fetchNewest falls back to the previous snapshot', async () => {
    const f = await leaderWithLog();
    const s = store(zk, f);
    const older = new Uint8Array(randomBytes(150_000));
    const newer = new Uint8Array(randomBytes(150_000));
    await upload(s, f, 100, older);
    const m = await upload(s, f, 180, newer);
    const chunkPath = f.paths.snapshotChunk(180, 1);
    const { data } = await zk.getData(chunkPath);
    const damaged = Uint8Array.from(data); // a copy: a Buffer's slice() is a view
    damaged[damaged.length - 10] = damaged[damaged.length - 10]! ^ 1;
    await zk.setData(chunkPath, damaged, -1);

    const err = await collect(s.download(m)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptZnodeError);
    expect((err as CorruptZnodeError).path).toBe(chunkPath);

    const fetched = await s.fetchNewest(async (_manifest, chunks) => collect(chunks));
    expect(fetched?.manifest.point.index).toBe(100);
    expect(fetched?.result).toEqual(Buffer.from(older));
  });

  it('a missing manifest makes a snapshot invisible; a missing chunk is refused naming it; nothing usable is null', async () => {
    const f = await leaderWithLog();
    const s = store(zk, f);
    await upload(s, f, 100, new Uint8Array(randomBytes(70_000)));
    const m = await upload(s, f, 180, new Uint8Array(randomBytes(70_000)));
    await zk.delete(f.paths.snapshotManifest(180), -1);
    expect((await s.list()).map((x) => x.point.index)).toEqual([100]);
    expect((await s.scan()).map((d) => `${d.index}:${d.state}`)).toEqual(['180:partial', '100:complete']);
    // A manifest that does not verify is skipped too.
    await zk.setData(f.paths.snapshotManifest(100), new Uint8Array([1, 2, 3]), -1);
    expect(await s.list()).toEqual([]);
    expect(await s.fetchNewest(async () => 'never')).toBeNull();

    const f2 = await leaderWithLog();
    const s2 = store(zk, f2);
    const m2 = await upload(s2, f2, 100, new Uint8Array(randomBytes(140_000)));
    await zk.delete(f2.paths.snapshotChunk(100, 2), -1);
    const err = await collect(s2.download(m2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptZnodeError);
    expect((err as CorruptZnodeError).path).toBe(f2.paths.snapshotChunk(100, 2));
    expect(m.point.index).toBe(180);
  });
});

describe('prune', () => {
  it('keeps the newest two complete snapshots and removes older ones and stale partial uploads, not one in progress', async () => {
    const f = await leaderWithLog();
    const s = store(zk, f);
    for (const index of [50, 100, 150]) await upload(s, f, index, new Uint8Array(randomBytes(100_000)));
    // A crash left a partial at 120 (older than the newest complete one); a deposed leader's
    // partial at 160; one abandoned long ago at 170; and one in progress at 190.
    const partial = async (index: number, epochVersion: number, startedAtMs: number): Promise<void> => {
      await zk.create(f.paths.snapshot(index), encodeUploadRecord({ nodeId: 'x', epochVersion, startedAtMs }), 'persistent');
      await zk.create(f.paths.snapshotChunk(index, 0), encodeChunk({ snapshotIndex: index, number: 0, data: new Uint8Array(10) }), 'persistent');
    };
    await partial(120, f.epochVersion, Date.now());
    await partial(160, f.epochVersion - 1, Date.now());
    await partial(170, f.epochVersion, Date.now() - 3_600_000);
    await partial(190, f.epochVersion, Date.now());

    const report = await s.prune(f.epochVersion);
    expect(report.kept).toEqual([150, 100]);
    expect(report.removed.map((r) => r.index).sort()).toEqual([120, 160, 170, 50]);
    expect((await zk.getChildren(f.paths.snapshots)).sort()).toEqual(['00000000000000000100', '00000000000000000150', '00000000000000000190']);
    // The next leader uploads 195; the deposed one can prune nothing, the new one can.
    const g = await depose(zk, f);
    await upload(s, g, 195, new Uint8Array(randomBytes(1000)));
    await expect(s.prune(f.epochVersion)).rejects.toThrow(EpochFencedError);
    expect((await zk.getChildren(f.paths.snapshots)).length).toBe(4);
    expect((await s.prune(g.epochVersion)).removed.map((r) => r.index)).toEqual([190, 100]);
  });
});
