// Uploads and compaction when ZooKeeper's reply is lost: the step is resolved by reading
// (it landed: go on; it did not: send it again), so every znode is written exactly once.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EpochFencedError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeWalHead, encodeEpoch, encodeSegment, encodeTail } from '../../../src/coordination/records.js';
import type { ZkErrorCode } from '../../../src/coordination/zk-api.js';
import { ZkSnapshotStore } from '../../../src/coordination/zk-snapshot-store.js';
import { chainNext } from '../../../src/core/chain.js';
import { EntryType } from '../../../src/core/types.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('lost');

/** Epoch at version 3; segments of 10 entries up to 100; an empty snapshots/ and wal head. */
function cluster(): ScriptedZk {
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 3);
  zk.put(paths.wal, new Uint8Array(0), 0);
  zk.put(paths.snapshots, new Uint8Array(0), 0);
  for (let first = 1; first <= 91; first += 10) {
    const entries = Array.from({ length: 10 }, (_, k) => {
      const base = { index: first + k, term: 1, type: EntryType.Normal, data: new Uint8Array(8) };
      return { ...base, chain: chainNext(new Uint8Array(16), base) };
    });
    zk.put(paths.segment(first), encodeSegment(1, entries, first > 1 ? first - 10 : 0), 0);
  }
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 100, segmentFirstIndex: 91 }), 11);
  return zk;
}

const store = (zk: ScriptedZk): ZkSnapshotStore => new ZkSnapshotStore({ zk, paths, clock: realClock, logger: silentLogger, nodeId: 'a', chunkBytes: 1000, keep: 1 });

async function upload(s: ZkSnapshotStore, index: number, file: Uint8Array, epochVersion = 3) {
  return s.upload({
    point: { index, term: 1, chain: new Uint8Array(16) },
    sizeBytes: file.length,
    sha256: new Uint8Array(createHash('sha256').update(file).digest()),
    chunks: (async function* () {
      yield file;
    })(),
    epochVersion,
  });
}

async function download(s: ZkSnapshotStore, index: number): Promise<Buffer> {
  const [m] = (await s.list()).filter((x) => x.point.index === index);
  const parts: Uint8Array[] = [];
  for await (const c of s.download(m!)) parts.push(c);
  return Buffer.concat(parts);
}

describe('lost replies', () => {
  for (const [code, applied] of [
    ['CONNECTION_LOSS', true],
    ['CONNECTION_LOSS', false],
    ['TIMEOUT', true],
    ['NOT_CONNECTED', false],
  ] as Array<[ZkErrorCode, boolean]>) {
    it(`an upload survives ${code} (${applied ? 'applied' : 'not applied'}) on a chunk, writing it once`, async () => {
      const zk = cluster();
      const file = new Uint8Array(3500).map((_, i) => i % 251);
      const s = store(zk);
      let multis = 0;
      zk.afterMulti = () => {
        // The third write (the second chunk) loses its reply.
        if (++multis === 2) zk.failNextMulti(code, applied);
      };
      const m = await upload(s, 50, file);
      expect(m.chunkCount).toBe(4);
      const chunkWrites = zk.calls.filter((c) => c.startsWith('multi') && c.includes('chunk-000001'));
      expect(chunkWrites).toHaveLength(applied ? 1 : 2);
      expect(await download(s, 50)).toEqual(Buffer.from(file));
    });
  }

  it('compaction survives a lost reply after its multi landed, and does not delete twice', async () => {
    const zk = cluster();
    const s = store(zk);
    const m = await upload(s, 55, new Uint8Array(100));
    zk.failNextMulti('CONNECTION_LOSS', true);
    const r = await s.compactWal(3, m);
    expect(r).toMatchObject({ deletedSegments: 5, head: { firstSegmentIndex: 51, snapshotIndex: 55 } });
    expect(decodeWalHead(paths.wal, zk.tree.get(paths.wal)!.data)).toEqual({ firstSegmentIndex: 51, snapshotIndex: 55 });
    expect([...zk.tree.keys()].filter((p) => p.startsWith(`${paths.wal}/`))).toHaveLength(5);
  });

  it('a fenced epoch is not retried: EpochFencedError at once', async () => {
    const zk = cluster();
    await expect(upload(store(zk), 50, new Uint8Array(10), 2)).rejects.toThrow(EpochFencedError);
    expect(zk.calls.filter((c) => c.startsWith('multi'))).toHaveLength(1);
  });
});
