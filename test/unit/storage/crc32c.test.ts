import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/storage/crc32c.js';

// The byte-at-a-time definition, to check the sliced implementation against.
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  it('matches the standard check value of "123456789"', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('matches the RFC 3720 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition for every length and alignment up to 64', () => {
    const data = Uint8Array.from({ length: 80 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length <= 64; length++) {
        const slice = data.subarray(start, start + length);
        expect(crc32c(slice)).toBe(referenceCrc32c(slice));
      }
    }
  });

  it('agrees with the bitwise definition on long inputs (the word path) at every alignment and odd lengths', () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24);
    for (let start = 0; start < 8; start++) {
      for (const length of [1023, 1024, 1025, 1027, 1040, 1041, 2047, 4096, 4099, 4990]) {
        const slice = data.subarray(start, start + length);
        expect(crc32c(slice), `start ${start}, length ${length}`).toBe(referenceCrc32c(slice));
        expect(crc32c(slice, 0x12345678), `start ${start}, length ${length}, chained`).toBe(crc32c(slice.subarray(17), crc32c(slice.subarray(0, 17), 0x12345678)));
      }
    }
  });

  it('chains through the initial value', () => {
    const data = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
    for (const cut of [0, 1, 7, 8, 9, 20, data.length]) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(crc32c(data));
    }
  });
});
