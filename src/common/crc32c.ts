// CRC32C (Castagnoli), the checksum of every local WAL record, segment header and snapshot record.
//
// Table-driven with slicing-by-8: eight 256-entry tables let the loop fold eight
// input bytes per step, which matters because every byte written to the WAL is
// checksummed on the hot path and every byte read back is checked on recovery.

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

/** Eight tables of 256 entries, stored flat: table k starts at k * 256. */
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    }
    tables[n] = c >>> 0;
  }
  // Table k maps a byte to its CRC contribution when followed by k more bytes.
  for (let n = 0; n < 256; n++) {
    let c = tables[n];
    for (let k = 1; k < 8; k++) {
      c = (tables[c & 0xff] ^ (c >>> 8)) >>> 0;
      tables[k * 256 + n] = c;
    }
  }
  return tables;
}

/**
 * The CRC32C of `data`, as an unsigned 32-bit number.
 *
 * `initial` is the CRC of the bytes before `data`, so that
 * `crc32c(b, crc32c(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32c(data: Uint8Array, initial = 0): number {
  const t = TABLES;
  let crc = ~initial >>> 0;
  let i = 0;
  const length = data.length;
  const fastEnd = length - (length % 8);
  while (i < fastEnd) {
    const lo = (crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    const hi = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0;
    crc =
      (t[1792 + (lo & 0xff)] ^
        t[1536 + ((lo >>> 8) & 0xff)] ^
        t[1280 + ((lo >>> 16) & 0xff)] ^
        t[1024 + (lo >>> 24)] ^
        t[768 + (hi & 0xff)] ^
        t[512 + ((hi >>> 8) & 0xff)] ^
        t[256 + ((hi >>> 16) & 0xff)] ^
        t[hi >>> 24]) >>>
      0;
    i += 8;
  }
  while (i < length) {
    crc = (t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8)) >>> 0;
    i++;
  }
  return ~crc >>> 0;
}
