// The records of a snapshot kept in ZooKeeper (proto/wal.proto): the upload directory's
// record, the chunks, and the manifest written last. Each is versioned; chunks and the
// manifest carry a CRC32C over their payload, so a damaged one is refused naming its znode.
import { CorruptZnodeError } from '../common/errors.js';
import { pb } from '../common/proto.js';
import { CHAIN_BYTES } from '../core/chain.js';
import type { NodeId, SnapshotMeta } from '../core/types.js';
import { crc32c } from '../storage/crc32c.js';
import { seal, unseal } from './records.js';

/**
 * The point a snapshot covers: every entry up to index (of term) is inside it; chain is the
 * hash-chain value of the entry at index (16 bytes). The core's SnapshotMeta.
 */
export type SnapshotPoint = SnapshotMeta;

export const SNAPSHOT_CHAIN_BYTES = CHAIN_BYTES;
export const SHA256_BYTES = 32;
export const SNAPSHOT_RECORD_FORMAT_VERSION = 1;

/**
 * The largest chunk payload accepted. Measured against ZooKeeper 3.8 (notes/zookeeper.md,
 * test/integration/zk-snapshot-store.test.ts): multi(check(epoch), create(chunk)) at the
 * longest chunk path duoraft makes (117 characters) passes with up to 1,048,297 bytes of
 * znode data, and the server drops the connection above that (jute.maxbuffer, 1 MiB - 1,
 * bounds the whole request packet). 512 KiB (524,312 bytes as a chunk znode) leaves about
 * half the packet to a chroot, digest ACLs and headers, and the servers of an ensemble
 * replicate and reload it (notes/zookeeper.md). The default is smaller still, for the
 * leader's commit multis that wait behind a chunk.
 */
export const MAX_SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** The default chunk payload (see notes/zookeeper.md for the latency it costs commits). */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** What a complete snapshot's manifest says. */
export interface ZkSnapshotManifest {
  readonly point: SnapshotPoint;
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
  readonly chunkCount: number;
  readonly chunkBytes: number;
  readonly madeBy: NodeId;
  /** Wall clock of the maker, ms since the epoch. */
  readonly madeAtMs: number;
  /** The epoch znode version the maker held. */
  readonly epochVersion: number;
  /** The first index of the wal segment holding point.index + 1 when the upload started (0: unknown). */
  readonly nextSegmentFirstIndex: number;
}

export interface SnapshotUploadRecord {
  readonly nodeId: NodeId;
  readonly epochVersion: number;
  readonly startedAtMs: number;
}

export interface SnapshotChunkRecord {
  readonly snapshotIndex: number;
  readonly number: number;
  readonly data: Uint8Array;
}

function corrupt(path: string, reason: string, cause?: unknown): CorruptZnodeError {
  return new CorruptZnodeError(path, reason, cause === undefined ? undefined : { cause });
}

/** A plain Uint8Array view of decoded bytes (protobufjs hands out Buffers in Node); no copy. */
function plain(b: Uint8Array | null | undefined): Uint8Array {
  return b ? new Uint8Array(b.buffer, b.byteOffset, b.length) : new Uint8Array(0);
}

function decodeWith<T>(path: string, data: Uint8Array, decode: (d: Uint8Array) => T): T {
  try {
    return decode(data);
  } catch (err) {
    throw corrupt(path, `cannot decode: ${(err as Error).message}`, err);
  }
}

/** The number of chunks a snapshot of sizeBytes takes (at least one, even when empty). */
export function chunkCountFor(sizeBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / chunkBytes));
}

/** The payload size chunk n of a snapshot must have. */
export function chunkSizeAt(n: number, sizeBytes: number, chunkBytes: number): number {
  return Math.max(0, Math.min(chunkBytes, sizeBytes - n * chunkBytes));
}

/** Whether a manifest's numbers are consistent; the reason if not. */
export function manifestProblem(m: ZkSnapshotManifest): string | null {
  const { point } = m;
  if (!(Number.isSafeInteger(point.index) && point.index >= 1)) return `bad index ${point.index}`;
  if (!(Number.isSafeInteger(point.term) && point.term >= 1)) return `bad term ${point.term}`;
  if (point.chain.length !== SNAPSHOT_CHAIN_BYTES) return `chain of ${point.chain.length} bytes, expected ${SNAPSHOT_CHAIN_BYTES}`;
  if (m.sha256.length !== SHA256_BYTES) return `SHA-256 of ${m.sha256.length} bytes`;
  if (!(Number.isSafeInteger(m.sizeBytes) && m.sizeBytes >= 0)) return `bad size ${m.sizeBytes}`;
  if (!(Number.isInteger(m.chunkBytes) && m.chunkBytes >= 1 && m.chunkBytes <= MAX_SNAPSHOT_CHUNK_BYTES)) return `bad chunk size ${m.chunkBytes}`;
  if (m.chunkCount !== chunkCountFor(m.sizeBytes, m.chunkBytes)) return `${m.chunkCount} chunks for ${m.sizeBytes} bytes of ${m.chunkBytes}`;
  if (m.nextSegmentFirstIndex > point.index + 1) return `next segment ${m.nextSegmentFirstIndex} past index ${point.index + 1}`;
  return null;
}

export function encodeManifest(m: ZkSnapshotManifest): Uint8Array {
  const body = pb.wal.SnapshotManifestBody.encode({
    index: m.point.index,
    term: m.point.term,
    chain: m.point.chain,
    sizeBytes: m.sizeBytes,
    sha256: m.sha256,
    chunkCount: m.chunkCount,
    chunkBytes: m.chunkBytes,
    madeBy: m.madeBy,
    madeAtMs: m.madeAtMs,
    epochVersion: m.epochVersion,
    nextSegmentFirstIndex: m.nextSegmentFirstIndex,
  }).finish();
  return pb.wal.SnapshotManifest.encode({ formatVersion: SNAPSHOT_RECORD_FORMAT_VERSION, crc32c: crc32c(body), body }).finish();
}

/** The manifest at path, of the snapshot directory named expectedIndex. */
export function decodeManifest(path: string, data: Uint8Array, expectedIndex: number): ZkSnapshotManifest {
  const outer = decodeWith(path, data, (d) => pb.wal.SnapshotManifest.decode(d));
  if (outer.formatVersion !== SNAPSHOT_RECORD_FORMAT_VERSION) throw corrupt(path, `unknown manifest format ${outer.formatVersion}`);
  const body = outer.body ?? new Uint8Array(0);
  if (crc32c(body) !== outer.crc32c) throw corrupt(path, 'manifest checksum mismatch');
  const b = decodeWith(path, body, (d) => pb.wal.SnapshotManifestBody.decode(d));
  const m: ZkSnapshotManifest = {
    point: { index: b.index ?? 0, term: b.term ?? 0, chain: plain(b.chain) },
    sizeBytes: b.sizeBytes ?? 0,
    sha256: plain(b.sha256),
    chunkCount: b.chunkCount ?? 0,
    chunkBytes: b.chunkBytes ?? 0,
    madeBy: b.madeBy ?? '',
    madeAtMs: b.madeAtMs ?? 0,
    epochVersion: b.epochVersion ?? 0,
    nextSegmentFirstIndex: b.nextSegmentFirstIndex ?? 0,
  };
  const problem = manifestProblem(m);
  if (problem) throw corrupt(path, problem);
  if (m.point.index !== expectedIndex) throw corrupt(path, `manifest of index ${m.point.index} in the directory of ${expectedIndex}`);
  return m;
}

export function encodeChunk(c: SnapshotChunkRecord): Uint8Array {
  return pb.wal.SnapshotChunk.encode({
    formatVersion: SNAPSHOT_RECORD_FORMAT_VERSION,
    snapshotIndex: c.snapshotIndex,
    number: c.number,
    crc32c: crc32c(c.data),
    data: c.data,
  }).finish();
}

/** Chunk `number` of the snapshot at snapshotIndex, which must hold exactly expectedBytes. */
export function decodeChunk(path: string, data: Uint8Array, snapshotIndex: number, number: number, expectedBytes: number): Uint8Array {
  const c = decodeWith(path, data, (d) => pb.wal.SnapshotChunk.decode(d));
  if (c.formatVersion !== SNAPSHOT_RECORD_FORMAT_VERSION) throw corrupt(path, `unknown chunk format ${c.formatVersion}`);
  const payload = plain(c.data);
  if (crc32c(payload) !== c.crc32c) throw corrupt(path, 'chunk checksum mismatch');
  if (c.snapshotIndex !== snapshotIndex || c.number !== number) throw corrupt(path, `holds chunk ${c.number} of the snapshot at ${c.snapshotIndex}`);
  if (payload.length !== expectedBytes) throw corrupt(path, `holds ${payload.length} bytes, the manifest says ${expectedBytes}`);
  return payload;
}

export function encodeUploadRecord(r: SnapshotUploadRecord): Uint8Array {
  return seal('snapshot-upload', pb.wal.SnapshotUpload.encode({ nodeId: r.nodeId, epochVersion: r.epochVersion, startedAtMs: r.startedAtMs }).finish());
}

export function decodeUploadRecord(path: string, data: Uint8Array): SnapshotUploadRecord {
  const m = decodeWith(path, unseal(path, 'snapshot-upload', data), (d) => pb.wal.SnapshotUpload.decode(d));
  const r = { nodeId: m.nodeId ?? '', epochVersion: m.epochVersion ?? 0, startedAtMs: m.startedAtMs ?? 0 };
  if (!r.nodeId || r.epochVersion < 1) throw corrupt(path, 'upload record without node id or epoch version');
  return r;
}
