// The framing of a snapshot file (notes/snapshots.md). Pure functions, no I/O.
//
//   file header: 7 bytes magic "DRSNAP\n" | u32 LE format version | u32 LE crc32c of the 11 bytes before
//   records:     u32 LE length | u32 LE crc32c | u8 type | payload     (length and crc32c cover type + payload)
//
// The same record framing as the local WAL (wal-record.ts), so the same tools and the
// same reasoning about torn or flipped bytes apply. Payloads are proto/snapshot.proto.
import { crc32c } from '../common/crc32c.js';

export const SNAPSHOT_MAGIC = new TextEncoder().encode('DRSNAP\n');
/** The format this build writes and reads. A file of another version is refused. */
export const SNAPSHOT_FORMAT_VERSION = 1;
export const FILE_HEADER_BYTES = SNAPSHOT_MAGIC.length + 4 + 4;
/** Bytes before a record's type byte: length and crc32c. */
export const FRAME_HEADER_BYTES = 8;

/**
 * The largest record a reader accepts (type byte + payload). Writers keep batches near
 * their slice size (256 KiB by default); a single record grows past that only for one
 * huge session (4,096 remembered results with large cas values). The bound keeps a
 * corrupt length field from making a reader buffer gigabytes.
 */
export const MAX_SNAPSHOT_RECORD_BYTES = 64 * 1024 * 1024;

export const SnapshotRecordType = {
  Header: 1,
  KeyValues: 2,
  Sessions: 3,
  Expiries: 4,
  Footer: 5,
} as const;
export type SnapshotRecordType = (typeof SnapshotRecordType)[keyof typeof SnapshotRecordType];

export function isSnapshotRecordType(type: number): type is SnapshotRecordType {
  return type >= SnapshotRecordType.Header && type <= SnapshotRecordType.Footer;
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

export function encodeFileHeader(version = SNAPSHOT_FORMAT_VERSION): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_BYTES);
  header.set(SNAPSHOT_MAGIC, 0);
  const at = SNAPSHOT_MAGIC.length;
  writeU32(header, at, version);
  writeU32(header, at + 4, crc32c(header.subarray(0, at + 4)));
  return header;
}

/** Null if `bytes` (at least FILE_HEADER_BYTES) start a snapshot this build reads, else why not. */
export function fileHeaderProblem(bytes: Uint8Array): string | null {
  if (bytes.length < FILE_HEADER_BYTES) return `${bytes.length} bytes, shorter than a snapshot file header (${FILE_HEADER_BYTES} bytes)`;
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) {
    if (bytes[i] !== SNAPSHOT_MAGIC[i]) return 'not a duoraft snapshot (bad magic)';
  }
  const at = SNAPSHOT_MAGIC.length;
  if (crc32c(bytes.subarray(0, at + 4)) !== readU32(bytes, at + 4)) return 'file header checksum mismatch';
  const version = readU32(bytes, at);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    return `format version ${version}, this build reads version ${SNAPSHOT_FORMAT_VERSION} only (a newer duoraft wrote it?)`;
  }
  return null;
}

/**
 * The frame header of a record (length, crc32c, type byte): written before the payload,
 * so a large payload is not copied into a frame.
 */
export function frameHeader(type: SnapshotRecordType, payload: Uint8Array): Uint8Array {
  const length = 1 + payload.length;
  if (length > MAX_SNAPSHOT_RECORD_BYTES) {
    throw new RangeError(`snapshot record of ${length} bytes exceeds the limit of ${MAX_SNAPSHOT_RECORD_BYTES} bytes`);
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES + 1);
  header[FRAME_HEADER_BYTES] = type;
  writeU32(header, 0, length);
  writeU32(header, 4, crc32c(payload, crc32c(header.subarray(FRAME_HEADER_BYTES))));
  return header;
}

export function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
