// Counts a repeated field of an encoded protobuf message without decoding it: a message
// with too many elements is refused before the decoder allocates one object per element
// (a single 1.8 MB Pipeline batch of 150,000 gets used to cost the event loop seconds).
// Only the top level is walked, and each element is skipped by its length: linear in the
// bytes, no allocation.

/** Wire types of protobuf. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * How many times top-level field `field` occurs in `bytes`, counting up to `stopAbove` + 1
 * at most (enough to tell "over the limit"). -1 when the bytes are not a well-formed
 * message (the decoder then reports why).
 */
export function countTopLevelField(bytes: Uint8Array, field: number, stopAbove: number): number {
  let pos = 0;
  let count = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) return -1;
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result <= Number.MAX_SAFE_INTEGER ? result : -1;
      shift += 7;
    }
    return -1;
  };
  while (pos < bytes.length) {
    const key = varint();
    if (key < 0) return -1;
    const wireType = key % 8;
    const number = Math.floor(key / 8);
    switch (wireType) {
      case VARINT:
        if (varint() < 0) return -1;
        break;
      case FIXED64:
        pos += 8;
        break;
      case FIXED32:
        pos += 4;
        break;
      case LENGTH_DELIMITED: {
        const len = varint();
        if (len < 0 || pos + len > bytes.length) return -1;
        pos += len;
        break;
      }
      default:
        return -1;
    }
    if (pos > bytes.length) return -1;
    if (number === field && ++count > stopAbove) return count;
  }
  return count;
}
