// Reads a snapshot from a stream of byte chunks and checks everything about it: the file
// header, every record's length and CRC32C, the order of the records, the footer's counts
// and its SHA-256 of the body, and that nothing follows the footer. Each record is handed
// to `onRecord` as it is checked; the verdict on the whole file comes only at the end, so
// a caller must not make what it builds visible before readSnapshot returns (the loader
// builds a fresh store nobody else sees).
//
// Work per turn is bounded by the record size: after each record the reader yields.
import { createHash } from 'node:crypto';
import { CorruptSnapshotError } from '../common/errors.js';
import type { SessionImage } from './sessions.js';
import { crc32c } from '../common/crc32c.js';
import {
  FILE_HEADER_BYTES,
  fileHeaderProblem,
  FRAME_HEADER_BYTES,
  hex32,
  isSnapshotRecordType,
  MAX_SNAPSHOT_RECORD_BYTES,
  readU32,
  SnapshotRecordType,
} from './snapshot-format.js';
import {
  decodeExpiries,
  decodeFooter,
  decodeHeader,
  decodeKeyValues,
  decodeSessions,
  type Expiry,
  type SnapshotFooter,
  type SnapshotHeader,
} from './snapshot-records.js';
import { nextTurn } from './next-turn.js';

export type SnapshotRecord =
  | { readonly kind: 'header'; readonly header: SnapshotHeader }
  | { readonly kind: 'keyValues'; readonly pairs: ReadonlyArray<[string, Uint8Array]> }
  | { readonly kind: 'sessions'; readonly sessions: readonly SessionImage[] }
  | { readonly kind: 'expiries'; readonly expiries: readonly Expiry[] };

export interface SnapshotReadOptions {
  /**
   * Decode the data records and hand them to onRecord (default true). false only checks
   * the framing, checksums, order, footer and digest: what listing a directory needs.
   */
  readonly decode?: boolean;
  readonly yieldTurn?: () => Promise<void>;
}

export interface SnapshotSummary {
  readonly header: SnapshotHeader;
  readonly footer: SnapshotFooter;
  readonly sizeBytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  readonly sha256: string;
}

/** A problem found at an offset; readSnapshot turns it into CorruptSnapshotError. */
class Bad {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/** The chunks received and not yet consumed; copies only bytes of a record that spans chunks. */
class ChunkQueue {
  private chunks: Uint8Array[] = [];
  /** Index in `chunks` of the first chunk with unconsumed bytes, and the position in it. */
  private first = 0;
  private firstPos = 0;
  available = 0;
  /** File offset of the next unconsumed byte. */
  offset = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  /** The next `n` bytes (n <= available), without consuming them. */
  peek(n: number): Uint8Array {
    const head = this.chunks[this.first];
    if (head && head.length - this.firstPos >= n) return head.subarray(this.firstPos, this.firstPos + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let pos = this.firstPos;
    for (let i = this.first; filled < n; i++) {
      const chunk = this.chunks[i] as Uint8Array;
      const part = chunk.subarray(pos, Math.min(chunk.length, pos + n - filled));
      out.set(part, filled);
      filled += part.length;
      pos = 0;
    }
    return out;
  }

  /** Consumes and returns the next `n` bytes (n <= available). */
  take(n: number): Uint8Array {
    const bytes = this.peek(n);
    let left = n;
    while (left > 0) {
      const inFirst = (this.chunks[this.first] as Uint8Array).length - this.firstPos;
      if (inFirst > left) {
        this.firstPos += left;
        left = 0;
      } else {
        left -= inFirst;
        this.first++;
        this.firstPos = 0;
      }
    }
    // Drop consumed chunks now and then (not one by one: shift() is linear).
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    this.available -= n;
    this.offset += n;
    return bytes;
  }
}

/** Which records may come next: header, then key-values, sessions, expiries, footer, in this order. */
const ORDER: Record<SnapshotRecordType, number> = {
  [SnapshotRecordType.Header]: 0,
  [SnapshotRecordType.KeyValues]: 1,
  [SnapshotRecordType.Sessions]: 2,
  [SnapshotRecordType.Expiries]: 3,
  [SnapshotRecordType.Footer]: 4,
};

class RecordParser {
  private readonly queue = new ChunkQueue();
  private readonly hash = createHash('sha256');
  private sawFileHeader = false;
  private stage = -1;
  private records = 0;
  private keys = 0;
  private sessions = 0;
  private expiries = 0;
  header: SnapshotHeader | null = null;
  footer: SnapshotFooter | null = null;

  constructor(private readonly decode: boolean) {}

  get size(): number {
    return this.queue.offset + this.queue.available;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /**
   * Checks (and decodes) the next whole record in the bytes pushed so far. Returns it
   * with its offset, null for one handled here (file header, footer, data not decoded),
   * or 'more' when the next record is not all there yet. Throws Bad.
   */
  step(): { record: SnapshotRecord; offset: number } | null | 'more' {
    const offset = this.queue.offset;
    const record = this.next();
    if (record === 'more' || record === null) return record;
    return { record, offset };
  }

  /** Call at the end of the stream. Throws Bad; returns the checked footer. */
  finish(): { header: SnapshotHeader; footer: SnapshotFooter; sha256: string } {
    if (this.footer === null || this.header === null) {
      const what = !this.sawFileHeader ? 'file header' : this.header === null ? 'header record' : 'footer';
      throw new Bad(this.queue.offset, `the file ends before its ${what} (${this.queue.available} bytes of an unfinished record): truncated`);
    }
    return { header: this.header, footer: this.footer, sha256: this.hash.digest('hex') };
  }

  /** The next record, null for one handled here (file header, footer, or data not decoded), 'more' when bytes are missing. */
  private next(): SnapshotRecord | null | 'more' {
    const q = this.queue;
    if (this.footer !== null) {
      if (q.available > 0) throw new Bad(q.offset, `${q.available} bytes after the footer`);
      return 'more';
    }
    if (!this.sawFileHeader) {
      if (q.available < FILE_HEADER_BYTES) return 'more';
      const at = q.offset;
      const bytes = q.take(FILE_HEADER_BYTES);
      const problem = fileHeaderProblem(bytes);
      if (problem) throw new Bad(at, problem);
      this.hash.update(bytes);
      this.sawFileHeader = true;
      return null;
    }
    if (q.available < FRAME_HEADER_BYTES) return 'more';
    const at = q.offset;
    const head = q.peek(FRAME_HEADER_BYTES);
    const length = readU32(head, 0);
    if (length < 1 || length > MAX_SNAPSHOT_RECORD_BYTES) throw new Bad(at, `record length ${length} is outside 1..${MAX_SNAPSHOT_RECORD_BYTES}`);
    if (q.available < FRAME_HEADER_BYTES + length) return 'more';
    const frame = q.take(FRAME_HEADER_BYTES + length);
    const body = frame.subarray(FRAME_HEADER_BYTES);
    const stored = readU32(frame, 4);
    const computed = crc32c(body);
    if (stored !== computed) throw new Bad(at, `record checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
    const type = body[0] as number;
    if (!isSnapshotRecordType(type)) throw new Bad(at, `unknown record type ${type}`);
    const stage = ORDER[type];
    const repeatable = type === SnapshotRecordType.KeyValues || type === SnapshotRecordType.Sessions || type === SnapshotRecordType.Expiries;
    if (stage < this.stage || (stage === this.stage && !repeatable) || (this.stage < 0 && type !== SnapshotRecordType.Header)) {
      throw new Bad(at, `record of type ${type} out of order`);
    }
    this.stage = stage;
    const payload = body.subarray(1);
    if (type === SnapshotRecordType.Footer) {
      this.checkFooter(at, payload);
      this.hash.update(frame);
      return null;
    }
    this.hash.update(frame);
    this.records++;
    return this.decodeRecord(at, type, payload);
  }

  private decodeRecord(at: number, type: SnapshotRecordType, payload: Uint8Array): SnapshotRecord | null {
    const ok = <T>(value: T | string): T => {
      if (typeof value === 'string') throw new Bad(at, value);
      return value;
    };
    switch (type) {
      case SnapshotRecordType.Header:
        this.header = ok(decodeHeader(payload));
        return { kind: 'header', header: this.header };
      case SnapshotRecordType.KeyValues: {
        if (!this.decode) return null;
        const pairs = ok(decodeKeyValues(payload));
        this.keys += pairs.length;
        return { kind: 'keyValues', pairs };
      }
      case SnapshotRecordType.Sessions: {
        if (!this.decode) return null;
        const sessions = ok(decodeSessions(payload));
        this.sessions += sessions.length;
        return { kind: 'sessions', sessions };
      }
      case SnapshotRecordType.Expiries: {
        if (!this.decode) return null;
        const expiries = ok(decodeExpiries(payload));
        this.expiries += expiries.length;
        return { kind: 'expiries', expiries };
      }
      default:
        throw new Bad(at, `record of type ${type} in the wrong place`);
    }
  }

  private checkFooter(at: number, payload: Uint8Array): void {
    const footer = decodeFooter(payload);
    if (typeof footer === 'string') throw new Bad(at, footer);
    const header = this.header as SnapshotHeader;
    const digest = new Uint8Array(this.hash.copy().digest());
    if (!Buffer.from(digest).equals(Buffer.from(footer.bodySha256))) throw new Bad(at, 'the SHA-256 of the body does not match the footer');
    if (footer.recordCount !== this.records) throw new Bad(at, `the footer counts ${footer.recordCount} records, the file holds ${this.records}`);
    const counted = this.decode ? { keys: this.keys, sessions: this.sessions, expiries: this.expiries } : null;
    for (const [what, inHeader, inFooter, seen] of [
      ['keys', header.keyCount, footer.keyCount, counted?.keys],
      ['sessions', header.sessionCount, footer.sessionCount, counted?.sessions],
      ['expiries', header.expiryCount, footer.expiryCount, counted?.expiries],
    ] as const) {
      if (inHeader !== inFooter || (seen !== undefined && seen !== inHeader)) {
        throw new Bad(at, `${what}: the header counts ${inHeader}, the footer ${inFooter}${seen !== undefined ? `, the records hold ${seen}` : ''}`);
      }
    }
    this.footer = footer;
  }
}

/**
 * Reads and checks the snapshot in `chunks`, handing each checked record to `onRecord`.
 * `name` (a file path, or where received bytes came from) goes into errors.
 *
 * @throws CorruptSnapshotError naming `name`, with the offset of the bad part; errors of
 *   the source and of onRecord pass through unchanged
 */
export async function readSnapshot(
  name: string,
  chunks: AsyncIterable<Uint8Array>,
  onRecord: (record: SnapshotRecord, offset: number) => void | Promise<void> = () => undefined,
  options: SnapshotReadOptions = {},
): Promise<SnapshotSummary> {
  const parser = new RecordParser(options.decode ?? true);
  const yieldTurn = options.yieldTurn ?? nextTurn;
  const fail = (bad: Bad): CorruptSnapshotError => new CorruptSnapshotError(name, bad.offset, bad.reason);
  // One record per turn: a record is at most about one writer slice (256 KiB by default),
  // so each turn checksums, hashes and decodes about that much.
  for await (const chunk of chunks) {
    parser.push(chunk);
    for (;;) {
      let step: ReturnType<RecordParser['step']>;
      try {
        step = parser.step();
      } catch (err) {
        if (err instanceof Bad) throw fail(err);
        throw err;
      }
      if (step === 'more') break;
      if (step !== null) await onRecord(step.record, step.offset);
      await yieldTurn();
    }
  }
  try {
    const { header, footer, sha256 } = parser.finish();
    return { header, footer, sizeBytes: parser.size, sha256 };
  } catch (err) {
    if (err instanceof Bad) throw fail(err);
    throw err;
  }
}
