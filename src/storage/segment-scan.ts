// Reading the records of one segment and telling a torn tail from corruption. Pure.
//
// A write that was cut short by a crash can only damage the end of the last
// segment: the file WAL fsyncs a segment before it starts the next one. So a bad
// record is a torn tail when it is in the last segment and nothing that looks like
// a record follows it; the caller cuts the file there. Anything else (a bad record
// in an earlier segment, or one followed by a well-framed record) is corruption:
// bytes that were once durable have changed, and the node must rebuild from
// ZooKeeper rather than guess which records to trust.
//
// Two torn writes also look like corruption under this rule: one whose later pages
// reached the disk before its earlier ones, and one cut inside an entry whose data
// happens to hold a well-framed WAL record. Each costs a rebuild, never a wrong log.
import { CorruptWalError } from '../common/errors.js';
import { decodeWalRecord, frameChecksumMatches, plausibleRecordLength, type WalRecord } from './wal-record.js';

export interface ScannedRecord {
  readonly offset: number;
  /** Offset just past the record. */
  readonly end: number;
  readonly record: WalRecord;
}

export interface TornTail {
  /** Where the bad record starts: the length to cut the segment to. */
  readonly offset: number;
  readonly reason: string;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** Non-null when the segment ends in a torn record that must be cut at tornTail.offset. */
  readonly tornTail: TornTail | null;
}

/**
 * How many bytes the search for a well-framed record after a bad one may checksum.
 * Bounds recovery time on adversarial data; past it the bad record counts as
 * corruption, which is the safe answer.
 */
const SEARCH_CHECKSUM_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * Reads records from `start` to the end of `bytes`.
 *
 * @param file    named in errors
 * @param isLast  whether this is the last segment, the only place a torn tail may be
 * @throws CorruptWalError for a bad record that is not a torn tail
 */
export function scanSegment(bytes: Uint8Array, start: number, file: string, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = start;
  while (offset < bytes.length) {
    const read = decodeWalRecord(bytes, offset);
    if (read.kind === 'ok') {
      records.push({ offset, end: read.end, record: read.record });
      offset = read.end;
      continue;
    }
    if (!isLast) {
      throw new CorruptWalError(file, offset, `${read.reason} (in a segment that is not the last one)`);
    }
    const later = findFramedRecord(bytes, offset + 1);
    if (later === 'budget exhausted') {
      throw new CorruptWalError(file, offset, `${read.reason}; could not rule out valid records after it`);
    }
    if (later !== null) {
      throw new CorruptWalError(file, offset, `${read.reason}; a valid record follows at offset ${later}`);
    }
    return { records, tornTail: { offset, reason: read.reason } };
  }
  return { records, tornTail: null };
}

/** The offset of the first well-framed record at or after `from`, or null if none. */
function findFramedRecord(bytes: Uint8Array, from: number): number | null | 'budget exhausted' {
  let budget = SEARCH_CHECKSUM_BUDGET_BYTES;
  for (let at = from; at < bytes.length; at++) {
    const length = plausibleRecordLength(bytes, at);
    if (length === 0) continue;
    budget -= length;
    if (budget < 0) return 'budget exhausted';
    if (frameChecksumMatches(bytes, at, length)) return at;
  }
  return null;
}
