// The protobuf wire format, field by field, without a schema: enough to take a well-formed
// message apart, change its fields (swap, repeat, drop, absurd numbers, wrong wire types,
// huge lengths) and put it back together. Parsing never throws; it returns null for bytes
// that are not a sequence of well-formed fields.
//
// Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3 and 4, groups, are
// deprecated and never produced by protobufjs for proto3; we write them only as mutations).

export type WireField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 1 | 5; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: 2; readonly value: Uint8Array }
  /** A raw tag with a wire type of our choosing and raw bytes after it (a mutation, not a parse result). */
  | { readonly field: number; readonly wire: 'raw'; readonly tagWire: number; readonly value: Uint8Array };

export const U64_MAX = (1n << 64n) - 1n;

export function varint(n: bigint): Uint8Array {
  const out: number[] = [];
  let v = n & U64_MAX;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

function readVarint(b: Uint8Array, at: number): { value: bigint; end: number } | null {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: value & U64_MAX, end: i + 1 };
    shift += 7n;
  }
  return null;
}

/** The fields of `bytes`, in order; null when the bytes are not well-formed fields. */
export function parseFields(bytes: Uint8Array): WireField[] | null {
  const out: WireField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag) return null;
    const field = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (field < 1 || field > 536_870_911) return null;
    at = tag.end;
    switch (wire) {
      case 0: {
        const v = readVarint(bytes, at);
        if (!v) return null;
        out.push({ field, wire: 0, value: v.value });
        at = v.end;
        break;
      }
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (at + n > bytes.length) return null;
        out.push({ field, wire, value: bytes.slice(at, at + n) });
        at += n;
        break;
      }
      case 2: {
        const len = readVarint(bytes, at);
        if (!len || len.value > BigInt(bytes.length)) return null;
        const end = len.end + Number(len.value);
        if (end > bytes.length) return null;
        out.push({ field, wire: 2, value: bytes.slice(len.end, end) });
        at = end;
        break;
      }
      default:
        return null;
    }
  }
  return out;
}

export function serializeFields(fields: readonly WireField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f.wire === 'raw') {
      parts.push(varint((BigInt(f.field) << 3n) | BigInt(f.tagWire & 7)), f.value);
      continue;
    }
    parts.push(varint((BigInt(f.field) << 3n) | BigInt(f.wire)));
    if (f.wire === 0) parts.push(varint(f.value));
    else if (f.wire === 2) parts.push(varint(BigInt(f.value.length)), f.value);
    else parts.push(f.value);
  }
  return concat(parts);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
