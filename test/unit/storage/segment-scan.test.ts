import { describe, expect, it } from 'vitest';
import { CorruptWalError } from '../../../src/common/errors.js';
import { scanSegment } from '../../../src/storage/segment-scan.js';
import { encodeWalRecord } from '../../../src/storage/wal-record.js';

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const a = encodeWalRecord({ kind: 'truncate', fromIndex: 1 });
const b = encodeWalRecord({ kind: 'truncate', fromIndex: 2 });
const c = encodeWalRecord({ kind: 'hardState', hardState: { term: 3, commit: 3 } });

function scanError(bytes: Uint8Array, isLast: boolean): CorruptWalError {
  try {
    scanSegment(bytes, 0, 'seg', isLast);
  } catch (err) {
    if (err instanceof CorruptWalError) return err;
    throw err;
  }
  throw new Error('expected CorruptWalError');
}

describe('scanSegment', () => {
  it('reads every record with its offsets', () => {
    const scan = scanSegment(concat(a, b, c), 0, 'seg', false);
    expect(scan.tornTail).toBeNull();
    expect(scan.records.map((r) => [r.offset, r.end, r.record.kind])).toEqual([
      [0, a.length, 'truncate'],
      [a.length, a.length + b.length, 'truncate'],
      [a.length + b.length, a.length + b.length + c.length, 'hardState'],
    ]);
  });

  it('treats a bad last record followed by zeros or a few stray bytes as a torn tail', () => {
    for (const tail of [c.subarray(0, 3), c.subarray(0, c.length - 1), new Uint8Array(100), new Uint8Array([1, 2, 3, 4, 5])]) {
      const scan = scanSegment(concat(a, b, tail), 0, 'seg', true);
      expect(scan.records).toHaveLength(2);
      expect(scan.tornTail?.offset).toBe(a.length + b.length);
    }
  });

  it('calls the same damage corruption outside the last segment', () => {
    const error = scanError(concat(a, b, c.subarray(0, 5)), false);
    expect(error.offset).toBe(a.length + b.length);
    expect(error.message).toMatch(/not the last one/);
  });

  it('calls a bad record corruption when a valid one follows, wherever the bad length points', () => {
    const damaged = concat(a, b, c);
    damaged[a.length + 9] ^= 0x10; // inside b's payload
    expect(scanError(damaged, true).message).toMatch(new RegExp(`^corrupt WAL record in seg at offset ${a.length}: checksum mismatch .*; a valid record follows at offset ${a.length + b.length}$`));

    const longLength = concat(a, b, c);
    new DataView(longLength.buffer).setUint32(0, 5000, true); // a's length now runs past the end
    expect(scanError(longLength, true).offset).toBe(0);

    const zeroLength = concat(a, b, c);
    zeroLength.fill(0, 0, 4);
    expect(scanError(zeroLength, true).message).toMatch(/length 0 is outside/);
  });
});
