// Uploading a snapshot file to ZooKeeper: snapshots/<index>/ with the upload record, then
// the chunks one at a time, then the manifest, last. Every write checks the epoch version
// the uploader holds. Until the manifest exists the snapshot is not there for anybody
// (listing skips it, prune removes it once it is stale), so a crash at any point leaves
// nothing a reader could mistake for a snapshot.
//
// One chunk in flight: ZooKeeper runs a session's requests in order and writes each to
// its transaction log, so a chunk delays the leader's commit multis queued behind it by
// about one chunk's write; never by a whole upload.
import { createHash } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { CompactedError, CorruptZnodeError, InvalidArgumentError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { NodeId } from '../core/types.js';
import { MAX_SNAPSHOT_CHUNKS, type ClusterPaths } from './layout.js';
import { decodeTail } from './records.js';
import type { ZkSession } from './zk-api.js';
import { createOnce, readOrNull, type EpochWriter } from './zk-epoch-multi.js';
import { SegmentWalk } from './zk-segment-walk.js';
import { removeSnapshotDir } from './zk-snapshot-remove.js';
import {
  MAX_SNAPSHOT_CHUNK_BYTES,
  SHA256_BYTES,
  SNAPSHOT_CHAIN_BYTES,
  chunkCountFor,
  decodeManifest,
  encodeChunk,
  encodeManifest,
  encodeUploadRecord,
  type SnapshotPoint,
  type ZkSnapshotManifest,
} from './zk-snapshot-records.js';

export interface SnapshotUpload {
  readonly point: SnapshotPoint;
  /** The snapshot file's size and SHA-256, as the local store knows them. */
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
  /** The file's bytes in order, in pieces of any size (they are cut into chunks here). */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** The epoch znode version this leader holds. */
  readonly epochVersion: number;
}

export interface UploadContext {
  readonly zk: ZkSession;
  readonly paths: ClusterPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: NodeId;
  readonly chunkBytes: number;
}

function validate(u: SnapshotUpload, chunkBytes: number): void {
  const { point } = u;
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`snapshot upload refused: ${why}`);
  };
  if (!(Number.isSafeInteger(point.index) && point.index >= 1)) bad(`index ${point.index} is not a positive integer`);
  if (!(Number.isSafeInteger(point.term) && point.term >= 1)) bad(`term ${point.term} is not a positive integer`);
  if (point.chain.length !== SNAPSHOT_CHAIN_BYTES) bad(`the chain value has ${point.chain.length} bytes, not ${SNAPSHOT_CHAIN_BYTES}`);
  if (!(Number.isSafeInteger(u.sizeBytes) && u.sizeBytes >= 0)) bad(`size ${u.sizeBytes} is not a byte count`);
  if (u.sha256.length !== SHA256_BYTES) bad(`the SHA-256 has ${u.sha256.length} bytes, not ${SHA256_BYTES}`);
  if (!(Number.isSafeInteger(u.epochVersion) && u.epochVersion >= 1)) bad(`epoch version ${u.epochVersion} is not >= 1`);
  if (!(Number.isInteger(chunkBytes) && chunkBytes >= 1 && chunkBytes <= MAX_SNAPSHOT_CHUNK_BYTES)) bad(`chunk size ${chunkBytes} not in [1, ${MAX_SNAPSHOT_CHUNK_BYTES}]`);
  const chunks = chunkCountFor(u.sizeBytes, chunkBytes);
  if (chunks > MAX_SNAPSHOT_CHUNKS) bad(`${u.sizeBytes} bytes make ${chunks} chunks of ${chunkBytes}, over ${MAX_SNAPSHOT_CHUNKS}`);
}

/** Cuts a stream of pieces into chunks of exactly chunkBytes (the last one shorter, at least one chunk). */
export async function* rechunk(pieces: AsyncIterable<Uint8Array>, chunkBytes: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(chunkBytes);
  let fill = 0;
  let emitted = false;
  for await (const piece of pieces) {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(chunkBytes - fill, piece.length - at);
      buf.set(piece.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === chunkBytes) {
        yield buf;
        emitted = true;
        buf = new Uint8Array(chunkBytes);
        fill = 0;
      }
    }
  }
  if (fill > 0 || !emitted) yield buf.subarray(0, fill);
}

/**
 * Where the entries after the snapshot start: the first index of the segment holding
 * index + 1 (0 if that cannot be told cheaply). A leader's snapshot index is normally a
 * commit point, the end of a segment, so this is one read.
 */
async function nextSegmentFirstIndex(ctx: UploadContext, index: number): Promise<number> {
  const { zk, paths } = ctx;
  const tail = decodeTail(paths.tail, (await zk.getData(paths.tail)).data);
  if (index > tail.lastIndex) {
    throw new InvalidArgumentError(`snapshot upload refused: index ${index} is past ZooKeeper's tail ${tail.lastIndex} (a snapshot holds committed entries only)`);
  }
  // The segment after the tail will start right after it.
  if (index === tail.lastIndex) return index + 1;
  try {
    const [seg] = await new SegmentWalk(zk, paths).segmentsFrom(index + 1, { upTo: tail.lastIndex, tailSegmentFirstIndex: tail.segmentFirstIndex, maxSegments: 1 });
    return seg?.firstIndex ?? 0;
  } catch (err) {
    if (err instanceof CompactedError) return 0;
    throw err;
  }
}

/**
 * Uploads a snapshot and returns its manifest. If a complete snapshot of the same point is
 * there already, returns that one. Throws EpochFencedError when this node no longer
 * leads, InvalidArgumentError for input that does not add up (the bytes do not match the
 * size or SHA-256 given; what was written is removed), UnavailableError when ZooKeeper
 * stays unreachable (the partial upload is left for prune).
 */
export async function uploadSnapshot(ctx: UploadContext, u: SnapshotUpload): Promise<ZkSnapshotManifest> {
  validate(u, ctx.chunkBytes);
  const { zk, paths, logger } = ctx;
  const index = u.point.index;
  const w: EpochWriter = { zk, paths, clock: ctx.clock, epochVersion: u.epochVersion };
  const dir = paths.snapshot(index);

  const existing = await existingSnapshot(ctx, u);
  if (existing) return existing;
  if ((await zk.exists(dir)) !== null) {
    logger.info({ index }, 'zk snapshot: removing an earlier unfinished upload of the same index');
    await removeSnapshotDir(w, index);
  }

  const next = await nextSegmentFirstIndex(ctx, index);
  const startedAtMs = ctx.clock.wallNow();
  await createOnce(w, dir, encodeUploadRecord({ nodeId: ctx.nodeId, epochVersion: u.epochVersion, startedAtMs }));

  const expectedChunks = chunkCountFor(u.sizeBytes, ctx.chunkBytes);
  const hash = createHash('sha256');
  let size = 0;
  let n = 0;
  try {
    for await (const chunk of rechunk(u.chunks, ctx.chunkBytes)) {
      size += chunk.length;
      if (n >= expectedChunks || size > u.sizeBytes) throw new InvalidArgumentError(`snapshot upload refused: more than the ${u.sizeBytes} bytes announced`);
      hash.update(chunk);
      await createOnce(w, paths.snapshotChunk(index, n), encodeChunk({ snapshotIndex: index, number: n, data: chunk }));
      n++;
    }
    const sha = new Uint8Array(hash.digest());
    if (size !== u.sizeBytes) throw new InvalidArgumentError(`snapshot upload refused: ${size} bytes arrived, ${u.sizeBytes} were announced`);
    if (!Buffer.from(sha).equals(Buffer.from(u.sha256))) throw new InvalidArgumentError(`snapshot upload refused: the bytes hash to ${hex(sha)}, the SHA-256 given is ${hex(u.sha256)}`);
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      await removeSnapshotDir(w, index).catch((cleanup: unknown) => logger.warn({ index, err: (cleanup as Error).message }, 'zk snapshot: could not remove a refused upload; prune will'));
    }
    throw err;
  }
  const manifest: ZkSnapshotManifest = {
    point: u.point,
    sizeBytes: u.sizeBytes,
    sha256: u.sha256,
    chunkCount: n,
    chunkBytes: ctx.chunkBytes,
    madeBy: ctx.nodeId,
    madeAtMs: startedAtMs,
    epochVersion: u.epochVersion,
    nextSegmentFirstIndex: next,
  };
  await createOnce(w, paths.snapshotManifest(index), encodeManifest(manifest));
  logger.info({ index, term: u.point.term, sizeBytes: u.sizeBytes, chunks: n, nextSegment: next }, 'zk snapshot: uploaded');
  return manifest;
}

/** A complete snapshot of the same point already in ZooKeeper, or null (a partial or corrupt one is removed by the caller). */
async function existingSnapshot(ctx: UploadContext, u: SnapshotUpload): Promise<ZkSnapshotManifest | null> {
  const path = ctx.paths.snapshotManifest(u.point.index);
  const read = await readOrNull(ctx.zk, path);
  if (!read) return null;
  let m: ZkSnapshotManifest;
  try {
    m = decodeManifest(path, read.data, u.point.index);
  } catch (err) {
    if (!(err instanceof CorruptZnodeError)) throw err;
    ctx.logger.warn({ path, err: err.message }, 'zk snapshot: replacing a snapshot whose manifest does not verify');
    return null;
  }
  if (m.point.term !== u.point.term || !Buffer.from(m.point.chain).equals(Buffer.from(u.point.chain))) {
    throw new InvalidArgumentError(
      `snapshot upload refused: ZooKeeper already holds a snapshot at index ${u.point.index} of term ${m.point.term} (made by ${m.madeBy}), this one is of term ${u.point.term}: the logs disagree`,
    );
  }
  ctx.logger.info({ index: u.point.index, madeBy: m.madeBy }, 'zk snapshot: already uploaded');
  return m;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
