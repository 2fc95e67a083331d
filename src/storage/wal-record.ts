// The on-disk framing of the local WAL. Pure functions, no I/O.
//
// A segment file starts with a header:
//   7 bytes magic "DRWAL1\n" | u64 LE segment sequence | u32 LE crc32c of the 15 bytes before
// and then holds records, back to back:
//   u32 LE length | u32 LE crc32c | u8 type | payload
// where length and crc32c both cover type + payload. Payloads are the protobuf
// messages of proto/wal.proto: ENTRY = duoraft.wal.Entry, TRUNCATE =
// duoraft.wal.Truncation, HARD_STATE = duoraft.wal.HardState.
import { duoraft, pb } from '../common/proto.js';
import { InvalidArgumentError } from '../common/errors.js';
import { EntryType, type Entry, type HardState } from '../core/types.js';
import { crc32c } from './crc32c.js';

/** Bytes before a record's type byte: length and crc32c. */
export const RECORD_HEADER_BYTES = 8;

/**
 * The largest allowed value of a record's length field (type byte + payload). The
 * bound keeps a corrupt length from making recovery allocate or checksum gigabytes,
 * and bounds what one entry may carry.
 */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export const RecordType = {
  Entry: 1,
  Truncate: 2,
  HardState: 3,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export type WalRecord =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'truncate'; readonly fromIndex: number }
  | { readonly kind: 'hardState'; readonly hardState: HardState };

/** The result of reading one record at an offset. */
export type RecordRead =
  | { readonly kind: 'ok'; readonly record: WalRecord; readonly end: number }
  /** The bytes end before the record does (its header or its body is cut short). */
  | { readonly kind: 'incomplete'; readonly reason: string }
  /** The record is all there but fails its checks. */
  | { readonly kind: 'invalid'; readonly reason: string };

const SEGMENT_MAGIC = new TextEncoder().encode('DRWAL1\n');
/** Magic, u64 sequence, u32 crc32c. */
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length + 8 + 4;

// ---------------------------------------------------------------------------
// Validation shared by encoding (reject bad input) and decoding (reject bad records).

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Why an entry cannot be written, or null if it can. */
export function entryProblem(entry: Entry): string | null {
  if (!isIndex(entry.index)) return `entry index ${entry.index} is not a positive safe integer`;
  if (!isIndex(entry.term)) return `entry ${entry.index} has term ${entry.term}, not a positive safe integer`;
  if (entry.type !== EntryType.Normal && entry.type !== EntryType.Noop) return `entry ${entry.index} has unknown type ${String(entry.type)}`;
  if (!(entry.data instanceof Uint8Array)) return `entry ${entry.index} data is not a Uint8Array`;
  return null;
}

export function hardStateProblem(hs: HardState): string | null {
  if (!isCount(hs.term)) return `hard state term ${hs.term} is not a non-negative safe integer`;
  if (!isCount(hs.commit)) return `hard state commit ${hs.commit} is not a non-negative safe integer`;
  return null;
}

export function truncationProblem(fromIndex: number): string | null {
  return isIndex(fromIndex) ? null : `truncation index ${fromIndex} is not a positive safe integer`;
}

// ---------------------------------------------------------------------------
// Entry type mapping: the core enum and the proto enum are separate vocabularies.

function toProtoEntryType(type: EntryType): duoraft.wal.EntryType {
  switch (type) {
    case EntryType.Normal:
      return pb.wal.EntryType.ENTRY_NORMAL;
    case EntryType.Noop:
      return pb.wal.EntryType.ENTRY_NOOP;
  }
}

function fromProtoEntryType(type: duoraft.wal.EntryType): EntryType | null {
  switch (type) {
    case pb.wal.EntryType.ENTRY_NORMAL:
      return EntryType.Normal;
    case pb.wal.EntryType.ENTRY_NOOP:
      return EntryType.Noop;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------
// Little-endian helpers on plain Uint8Arrays.

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

// ---------------------------------------------------------------------------
// Records.

function encodePayload(record: WalRecord): { type: RecordType; payload: Uint8Array } {
  switch (record.kind) {
    case 'entry': {
      const { entry } = record;
      const problem = entryProblem(entry);
      if (problem) throw new InvalidArgumentError(problem);
      const payload = pb.wal.Entry.encode({
        index: entry.index,
        term: entry.term,
        type: toProtoEntryType(entry.type),
        data: entry.data,
        ...(entry.chain ? { chain: entry.chain } : {}),
      }).finish();
      return { type: RecordType.Entry, payload };
    }
    case 'truncate': {
      const problem = truncationProblem(record.fromIndex);
      if (problem) throw new InvalidArgumentError(problem);
      return { type: RecordType.Truncate, payload: pb.wal.Truncation.encode({ fromIndex: record.fromIndex }).finish() };
    }
    case 'hardState': {
      const hs = record.hardState;
      const problem = hardStateProblem(hs);
      if (problem) throw new InvalidArgumentError(problem);
      const payload = pb.wal.HardState.encode({ term: hs.term, commit: hs.commit }).finish();
      return { type: RecordType.HardState, payload };
    }
  }
}

/** One framed record (header, type, payload). Throws InvalidArgumentError for bad input or a record over MAX_RECORD_BYTES. */
export function encodeWalRecord(record: WalRecord): Uint8Array {
  const { type, payload } = encodePayload(record);
  const length = 1 + payload.length;
  if (length > MAX_RECORD_BYTES) {
    throw new InvalidArgumentError(`WAL record of ${length} bytes exceeds the limit of ${MAX_RECORD_BYTES} bytes`);
  }
  const frame = new Uint8Array(RECORD_HEADER_BYTES + length);
  frame[RECORD_HEADER_BYTES] = type;
  frame.set(payload, RECORD_HEADER_BYTES + 1);
  writeU32(frame, 0, length);
  writeU32(frame, 4, crc32c(frame.subarray(RECORD_HEADER_BYTES)));
  return frame;
}

function isRecordType(type: number): type is RecordType {
  return type === RecordType.Entry || type === RecordType.Truncate || type === RecordType.HardState;
}

/**
 * The length field of a plausible record at `offset`: within bounds, fitting in
 * `bytes`, with a known type byte. 0 if the bytes there cannot start a record.
 * Cheap: does not checksum (see frameChecksumMatches).
 */
export function plausibleRecordLength(bytes: Uint8Array, offset: number): number {
  if (offset + RECORD_HEADER_BYTES + 1 > bytes.length) return 0;
  const length = readU32(bytes, offset);
  if (length < 1 || length > MAX_RECORD_BYTES) return 0;
  if (offset + RECORD_HEADER_BYTES + length > bytes.length) return 0;
  if (!isRecordType(bytes[offset + RECORD_HEADER_BYTES])) return 0;
  return length;
}

/** Whether the record at `offset` with the given length field has a matching checksum. */
export function frameChecksumMatches(bytes: Uint8Array, offset: number, length: number): boolean {
  const body = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
  return crc32c(body) === readU32(bytes, offset + 4);
}

/** A decoded uint64 field as a number (NaN for anything else, which the field checks then refuse). */
function uint64(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

function decodePayload(type: RecordType, payload: Uint8Array): WalRecord | string {
  switch (type) {
    case RecordType.Entry: {
      const m = pb.wal.Entry.decode(payload);
      const entryType = fromProtoEntryType(m.type);
      if (entryType === null) return `unknown entry type ${String(m.type)}`;
      // Copy the data: the decoded bytes are a view into the whole segment buffer,
      // which would otherwise stay in memory as long as one entry does.
      const chain = m.chain && m.chain.length > 0 ? { chain: new Uint8Array(m.chain) } : {};
      const entry: Entry = { index: uint64(m.index), term: uint64(m.term), type: entryType, data: new Uint8Array(m.data), ...chain };
      return entryProblem(entry) ?? { kind: 'entry', entry };
    }
    case RecordType.Truncate: {
      const m = pb.wal.Truncation.decode(payload);
      const fromIndex = uint64(m.fromIndex);
      return truncationProblem(fromIndex) ?? { kind: 'truncate', fromIndex };
    }
    case RecordType.HardState: {
      const m = pb.wal.HardState.decode(payload);
      const hardState: HardState = { term: uint64(m.term), commit: uint64(m.commit) };
      return hardStateProblem(hardState) ?? { kind: 'hardState', hardState };
    }
  }
}

/** Reads the record at `offset` of `bytes`. Never throws. */
export function decodeWalRecord(bytes: Uint8Array, offset: number): RecordRead {
  const available = bytes.length - offset;
  if (available < RECORD_HEADER_BYTES) {
    return { kind: 'incomplete', reason: `${available} bytes left, fewer than a record header` };
  }
  const length = readU32(bytes, offset);
  if (length < 1 || length > MAX_RECORD_BYTES) {
    return { kind: 'invalid', reason: `record length ${length} is outside 1..${MAX_RECORD_BYTES}` };
  }
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) {
    return { kind: 'incomplete', reason: `record of ${length} bytes runs past the end of the data (${available - RECORD_HEADER_BYTES} bytes left)` };
  }
  const body = bytes.subarray(offset + RECORD_HEADER_BYTES, end);
  const expected = readU32(bytes, offset + 4);
  const actual = crc32c(body);
  if (actual !== expected) {
    return { kind: 'invalid', reason: `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})` };
  }
  const type = body[0];
  if (!isRecordType(type)) return { kind: 'invalid', reason: `unknown record type ${type}` };
  let decoded: WalRecord | string;
  try {
    decoded = decodePayload(type, body.subarray(1));
  } catch (err) {
    decoded = `payload does not decode: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (typeof decoded === 'string') return { kind: 'invalid', reason: decoded };
  return { kind: 'ok', record: decoded, end };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------
// Segment header.

export function encodeSegmentHeader(sequence: number): Uint8Array {
  if (!isIndex(sequence)) throw new InvalidArgumentError(`segment sequence ${sequence} is not a positive safe integer`);
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  header.set(SEGMENT_MAGIC, 0);
  const at = SEGMENT_MAGIC.length;
  writeU32(header, at, sequence % 0x1_0000_0000);
  writeU32(header, at + 4, Math.floor(sequence / 0x1_0000_0000));
  writeU32(header, at + 8, crc32c(header.subarray(0, at + 8)));
  return header;
}

/** The sequence number in a segment header, or why the header is not one. */
export function decodeSegmentHeader(bytes: Uint8Array): { readonly sequence: number } | { readonly problem: string } {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    return { problem: `${bytes.length} bytes, shorter than a segment header (${SEGMENT_HEADER_BYTES} bytes)` };
  }
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) return { problem: 'not a duoraft WAL segment (bad magic)' };
  }
  const at = SEGMENT_MAGIC.length;
  if (crc32c(bytes.subarray(0, at + 8)) !== readU32(bytes, at + 8)) {
    return { problem: 'segment header checksum mismatch' };
  }
  const sequence = readU32(bytes, at) + readU32(bytes, at + 4) * 0x1_0000_0000;
  if (!isIndex(sequence)) return { problem: `segment sequence ${sequence} is out of range` };
  return { sequence };
}
