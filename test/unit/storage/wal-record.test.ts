import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/common/errors.js';
import { EntryType } from '../../../src/core/types.js';
import { crc32c } from '../../../src/storage/crc32c.js';
import {
  decodeSegmentHeader,
  decodeWalRecord,
  encodeSegmentHeader,
  encodeWalRecord,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  type WalRecord,
} from '../../../src/storage/wal-record.js';

function roundTrip(record: WalRecord): WalRecord {
  const frame = encodeWalRecord(record);
  const read = decodeWalRecord(frame, 0);
  if (read.kind !== 'ok') throw new Error(`expected ok, got ${read.kind}: ${read.reason}`);
  expect(read.end).toBe(frame.length);
  return read.record;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value, true);
}

describe('WAL record framing', () => {
  it('frames an entry exactly as known bytes: the on-disk format does not move', () => {
    const chain = new Uint8Array(32).fill(7);
    const withChain = encodeWalRecord({ kind: 'entry', entry: { index: 5, term: 2, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]), chain } });
    const without = encodeWalRecord({ kind: 'entry', entry: { index: 5, term: 2, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) } });
    // Payload (type byte 1, then the protobuf Entry: index 5, term 2, data 010203[, chain]) after length and CRC.
    const payload = (extra: string): string => `01080510022203010203${extra}`;
    const frame = (p: string): string => {
      const bytes = Buffer.from(p, 'hex');
      const header = Buffer.alloc(8);
      header.writeUInt32LE(bytes.length, 0);
      header.writeUInt32LE(crc32c(bytes), 4);
      return header.toString('hex') + p;
    };
    expect(Buffer.from(without).toString('hex')).toBe(frame(payload('')));
    expect(Buffer.from(withChain).toString('hex')).toBe(frame(payload(`2a20${'07'.repeat(32)}`)));
  });

  it('round-trips entries of both types, with and without data', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const cases = [
      { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
      { index: 42, term: 7, type: EntryType.Noop, data: new Uint8Array(0) },
      { index: big, term: big, type: EntryType.Normal, data: new Uint8Array(1000).fill(0xab) },
    ];
    for (const entry of cases) {
      const back = roundTrip({ kind: 'entry', entry });
      expect(back.kind).toBe('entry');
      if (back.kind !== 'entry') continue;
      expect(back.entry.index).toBe(entry.index);
      expect(back.entry.term).toBe(entry.term);
      expect(back.entry.type).toBe(entry.type);
      expect(Array.from(back.entry.data)).toEqual(Array.from(entry.data));
    }
  });

  it('round-trips truncation marks and hard states (including the empty one)', () => {
    expect(roundTrip({ kind: 'truncate', fromIndex: 6 })).toEqual({ kind: 'truncate', fromIndex: 6 });
    for (const hardState of [
      { term: 5, commit: 17 },
      { term: 0, commit: 0 },
    ]) {
      expect(roundTrip({ kind: 'hardState', hardState })).toEqual({ kind: 'hardState', hardState });
    }
  });

  it('frames as u32 length, u32 crc32c, type byte, payload', () => {
    const frame = encodeWalRecord({ kind: 'truncate', fromIndex: 6 });
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    // Truncation{from_index: 6} is the two protobuf bytes 08 06.
    expect(view.getUint32(0, true)).toBe(3);
    expect(frame[RECORD_HEADER_BYTES]).toBe(2);
    expect(Array.from(frame.subarray(RECORD_HEADER_BYTES + 1))).toEqual([0x08, 0x06]);
  });

  it('copies entry data out of the buffer it was read from', () => {
    const frame = encodeWalRecord({ kind: 'entry', entry: { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array([9, 9]) } });
    const read = decodeWalRecord(frame, 0);
    frame.fill(0);
    expect(read.kind === 'ok' && read.record.kind === 'entry' ? Array.from(read.record.entry.data) : null).toEqual([9, 9]);
  });

  it('reads records back to back at their offsets', () => {
    const a = encodeWalRecord({ kind: 'truncate', fromIndex: 3 });
    const b = encodeWalRecord({ kind: 'hardState', hardState: { term: 2, commit: 1 } });
    const both = new Uint8Array(a.length + b.length);
    both.set(a, 0);
    both.set(b, a.length);
    const first = decodeWalRecord(both, 0);
    expect(first.kind === 'ok' ? first.end : -1).toBe(a.length);
    const second = decodeWalRecord(both, a.length);
    expect(second).toEqual({ kind: 'ok', record: { kind: 'hardState', hardState: { term: 2, commit: 1 } }, end: both.length });
  });

  it('reports a flipped payload byte as a checksum mismatch', () => {
    const frame = encodeWalRecord({ kind: 'truncate', fromIndex: 6 });
    frame[frame.length - 1] ^= 0x01;
    const read = decodeWalRecord(frame, 0);
    expect(read.kind).toBe('invalid');
    expect(read.kind !== 'ok' && read.reason).toMatch(/checksum mismatch/);
  });

  it('reports cut-short records as incomplete', () => {
    const frame = encodeWalRecord({ kind: 'hardState', hardState: { term: 2, commit: 1 } });
    expect(decodeWalRecord(frame.subarray(0, 5), 0).kind).toBe('incomplete');
    expect(decodeWalRecord(frame.subarray(0, frame.length - 1), 0).kind).toBe('incomplete');
  });

  it('rejects lengths of 0 and above the bound without reading further', () => {
    const zero = new Uint8Array(16);
    expect(decodeWalRecord(zero, 0)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/length 0 is outside/) });
    const huge = new Uint8Array(16);
    writeU32(huge, 0, MAX_RECORD_BYTES + 1);
    expect(decodeWalRecord(huge, 0)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/outside/) });
  });

  it('rejects an unknown record type even with a valid checksum', () => {
    const frame = encodeWalRecord({ kind: 'truncate', fromIndex: 6 });
    frame[RECORD_HEADER_BYTES] = 9;
    writeU32(frame, 4, crc32c(frame.subarray(RECORD_HEADER_BYTES)));
    expect(decodeWalRecord(frame, 0)).toEqual({ kind: 'invalid', reason: 'unknown record type 9' });
  });

  it('rejects a checksummed payload that does not decode or holds invalid values', () => {
    const frame = encodeWalRecord({ kind: 'truncate', fromIndex: 6 });
    frame[RECORD_HEADER_BYTES + 2] = 0; // Truncation{from_index: 0}: not a valid index
    writeU32(frame, 4, crc32c(frame.subarray(RECORD_HEADER_BYTES)));
    expect(decodeWalRecord(frame, 0)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/truncation index 0/) });
  });

  it('refuses to encode invalid records or records over the bound', () => {
    expect(() => encodeWalRecord({ kind: 'truncate', fromIndex: 0 })).toThrow(InvalidArgumentError);
    expect(() => encodeWalRecord({ kind: 'entry', entry: { index: 0, term: 1, type: EntryType.Normal, data: new Uint8Array() } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeWalRecord({ kind: 'entry', entry: { index: 1, term: 1.5, type: EntryType.Normal, data: new Uint8Array() } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeWalRecord({ kind: 'hardState', hardState: { term: -1, commit: 0 } })).toThrow(InvalidArgumentError);
    expect(() =>
      encodeWalRecord({ kind: 'entry', entry: { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array(MAX_RECORD_BYTES) } }),
    ).toThrow(/exceeds the limit/);
  });
});

describe('segment header', () => {
  it('round-trips the sequence, including above 32 bits', () => {
    for (const sequence of [1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const header = encodeSegmentHeader(sequence);
      expect(header.length).toBe(SEGMENT_HEADER_BYTES);
      expect(new TextDecoder().decode(header.subarray(0, 7))).toBe('DRWAL1\n');
      expect(decodeSegmentHeader(header)).toEqual({ sequence });
    }
  });

  it('recognizes a foreign file, a damaged header and a short one', () => {
    expect(decodeSegmentHeader(new TextEncoder().encode('hello, this is not a WAL'))).toEqual({ problem: expect.stringMatching(/bad magic/) });
    const damaged = encodeSegmentHeader(3);
    damaged[9] ^= 0xff;
    expect(decodeSegmentHeader(damaged)).toEqual({ problem: 'segment header checksum mismatch' });
    expect(decodeSegmentHeader(encodeSegmentHeader(3).subarray(0, 10))).toEqual({ problem: expect.stringMatching(/shorter than a segment header/) });
  });
});
