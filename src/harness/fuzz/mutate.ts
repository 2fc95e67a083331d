// Mutations of encoded messages: at the byte level (bit flips, truncation, extension,
// overwrites, duplicated or deleted ranges, a huge length prefix) and at the field level of
// the protobuf wire format (a field dropped, repeated, swapped with another, set to an absurd
// number, given the wrong wire type or a length that overruns the message, an unknown
// field, a nested message mutated in turn). Each returns the new bytes and a few words
// saying what was done, for the run's report.
import type { FuzzRandom } from './fuzz-random.js';
import { concat, parseFields, serializeFields, U64_MAX, varint, type WireField } from './wire.js';

export interface Mutated {
  readonly bytes: Uint8Array;
  readonly what: string;
}

/** Numbers that sit on the edges of every integer type a decoder may use. */
export const ABSURD_NUMBERS: readonly bigint[] = [
  0n,
  1n,
  (1n << 31n) - 1n,
  1n << 31n,
  (1n << 32n) - 1n,
  1n << 32n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 53n) + 1n,
  (1n << 63n) - 1n,
  1n << 63n,
  U64_MAX,
];

function absurdName(n: bigint): string {
  for (const [value, name] of [
    [U64_MAX, '2^64-1'],
    [1n << 63n, '2^63'],
    [(1n << 53n) - 1n, '2^53-1'],
    [1n << 53n, '2^53'],
    [(1n << 32n) - 1n, '2^32-1'],
  ] as const) {
    if (n === value) return name;
  }
  return n.toString();
}

export function absurdNumber(r: FuzzRandom): bigint {
  return r.chance(0.15) ? r.u64() : r.pick(ABSURD_NUMBERS);
}

// ---------------------------------------------------------------------------
// Byte level.

export type ByteMutation = 'flip' | 'truncate' | 'extend' | 'zero' | 'overwrite' | 'duplicate' | 'delete' | 'huge-length' | 'empty' | 'edge-byte';

export const BYTE_MUTATIONS: readonly ByteMutation[] = ['flip', 'truncate', 'extend', 'zero', 'overwrite', 'duplicate', 'delete', 'huge-length', 'empty', 'edge-byte'];

/** A range [from, to) inside n bytes (n >= 1). */
function range(r: FuzzRandom, n: number, maxLen: number): [number, number] {
  const from = r.int(n);
  const to = Math.min(n, from + 1 + r.int(Math.max(1, maxLen)));
  return [from, to];
}

export function mutateBytes(r: FuzzRandom, input: Uint8Array, kind: ByteMutation = r.pick(BYTE_MUTATIONS)): Mutated {
  const b = new Uint8Array(input);
  const n = b.length;
  if (n === 0 && kind !== 'extend' && kind !== 'huge-length') return { bytes: r.bytes(1 + r.int(16)), what: 'random bytes (the input was empty)' };
  switch (kind) {
    case 'flip': {
      const flips = 1 + r.int(r.chance(0.7) ? 2 : 8);
      for (let i = 0; i < flips; i++) {
        const at = r.int(n);
        b[at] = b[at]! ^ (1 << r.int(8));
      }
      return { bytes: b, what: `${flips} bit flip(s)` };
    }
    case 'truncate': {
      const at = r.int(n);
      return { bytes: b.slice(0, at), what: `truncated to ${at} of ${n} bytes` };
    }
    case 'extend': {
      const extra = r.chance(0.9) ? 1 + r.int(64) : 1 + r.int(64 * 1024);
      return { bytes: concat([b, r.bytes(extra)]), what: `${extra} random bytes appended` };
    }
    case 'zero': {
      const [from, to] = range(r, n, 32);
      b.fill(0, from, to);
      return { bytes: b, what: `bytes ${from}..${to} zeroed` };
    }
    case 'overwrite': {
      const [from, to] = range(r, n, 32);
      b.set(r.bytes(to - from), from);
      return { bytes: b, what: `bytes ${from}..${to} overwritten` };
    }
    case 'duplicate': {
      const [from, to] = range(r, n, 256);
      const at = r.int(n + 1);
      return { bytes: concat([b.slice(0, at), b.slice(from, to), b.slice(at)]), what: `bytes ${from}..${to} copied to ${at}` };
    }
    case 'delete': {
      const [from, to] = range(r, n, 64);
      return { bytes: concat([b.slice(0, from), b.slice(to)]), what: `bytes ${from}..${to} deleted` };
    }
    case 'huge-length': {
      // A length-delimited field (any number) whose length claims far more than follows.
      const field = 1 + r.int(15);
      const len = r.pick([(1n << 31n) - 1n, (1n << 32n) - 1n, 1n << 40n, U64_MAX]);
      const at = n === 0 ? 0 : r.int(n + 1);
      const tag = varint((BigInt(field) << 3n) | 2n);
      return { bytes: concat([b.slice(0, at), tag, varint(len), b.slice(at)]), what: `field ${field} with length ${absurdName(len)} inserted at ${at}` };
    }
    case 'empty':
      return { bytes: new Uint8Array(0), what: 'empty' };
    case 'edge-byte': {
      const at = r.int(n);
      const v = r.pick([0x00, 0x7f, 0x80, 0xff]);
      b[at] = v;
      return { bytes: b, what: `byte ${at} set to 0x${v.toString(16)}` };
    }
  }
}

// ---------------------------------------------------------------------------
// Field level.

export type FieldMutation = 'drop' | 'repeat' | 'swap' | 'absurd' | 'wire-type' | 'overrun' | 'unknown' | 'nested' | 'bytes';

export const FIELD_MUTATIONS: readonly FieldMutation[] = ['drop', 'repeat', 'swap', 'absurd', 'wire-type', 'overrun', 'unknown', 'nested', 'bytes'];

export interface FieldMutationOptions {
  /** Fields (by number) never touched, e.g. a write context that must stay the fuzzer's own. */
  readonly keep?: ReadonlySet<number>;
  /** Bound on the bytes a 'bytes' mutation may put in one field. */
  readonly maxFieldBytes?: number;
  /** Bound on how many copies 'repeat' makes. */
  readonly maxRepeats?: number;
}

/** One field-level mutation; falls back to a byte-level one when the input does not parse. */
export function mutateFields(r: FuzzRandom, input: Uint8Array, o: FieldMutationOptions = {}, depth = 0): Mutated {
  const fields = parseFields(input);
  const keep = o.keep ?? new Set<number>();
  const mutable = fields?.map((_, i) => i).filter((i) => !keep.has(fields[i]!.field)) ?? [];
  if (!fields || mutable.length === 0) return mutateBytes(r, input);
  const kind = r.pick(FIELD_MUTATIONS);
  const i = r.pick(mutable);
  const f = fields[i]!;
  const out: WireField[] = [...fields];
  switch (kind) {
    case 'drop':
      out.splice(i, 1);
      return { bytes: serializeFields(out), what: `field ${f.field} dropped` };
    case 'repeat': {
      const copies = r.chance(0.8) ? 1 + r.int(3) : 1 + r.int(o.maxRepeats ?? 1000);
      out.splice(i, 0, ...Array.from({ length: copies }, () => f));
      return { bytes: serializeFields(out), what: `field ${f.field} repeated ${copies} more time(s)` };
    }
    case 'swap': {
      const j = r.pick(mutable);
      const g = fields[j]!;
      // The values change places, each under the other's field number.
      out[i] = { ...g, field: f.field } as WireField;
      out[j] = { ...f, field: g.field } as WireField;
      return { bytes: serializeFields(out), what: `fields ${f.field} and ${g.field} swapped` };
    }
    case 'absurd': {
      const varints = mutable.filter((k) => fields[k]!.wire === 0);
      const k = varints.length > 0 ? r.pick(varints) : i;
      const n = absurdNumber(r);
      out[k] = { field: fields[k]!.field, wire: 0, value: n };
      return { bytes: serializeFields(out), what: `field ${fields[k]!.field} = ${absurdName(n)}` };
    }
    case 'wire-type': {
      const tagWire = r.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((w) => w !== f.wire));
      const value = f.wire === 0 ? varint(f.value) : f.wire === 'raw' ? f.value : f.value;
      out[i] = { field: f.field, wire: 'raw', tagWire, value: tagWire === 2 ? concat([varint(BigInt(value.length)), value]) : value };
      return { bytes: serializeFields(out), what: `field ${f.field} re-tagged with wire type ${tagWire}` };
    }
    case 'overrun': {
      const len = r.pick([BigInt(64 + r.int(1024)), (1n << 31n) - 1n, U64_MAX]);
      const value = f.wire === 0 ? varint(f.value) : f.value;
      out[i] = { field: f.field, wire: 'raw', tagWire: 2, value: concat([varint(len), value]) };
      return { bytes: serializeFields(out), what: `field ${f.field} claims length ${absurdName(len)}` };
    }
    case 'unknown': {
      const field = r.pick([16, 99, 1000, 536_870_911]);
      out.splice(r.int(out.length + 1), 0, r.chance(0.5) ? { field, wire: 0, value: absurdNumber(r) } : { field, wire: 2, value: r.bytes(r.int(64)) });
      return { bytes: serializeFields(out), what: `unknown field ${field} added` };
    }
    case 'nested': {
      if (f.wire !== 2 || depth >= 3) return mutateBytes(r, input);
      const inner = mutateFields(r, f.value, { ...o, keep: new Set() }, depth + 1);
      out[i] = { field: f.field, wire: 2, value: inner.bytes };
      return { bytes: serializeFields(out), what: `in field ${f.field}: ${inner.what}` };
    }
    case 'bytes': {
      const max = o.maxFieldBytes ?? 4096;
      const size = r.chance(0.8) ? r.int(64) : r.int(max + 1);
      out[i] = { field: f.field, wire: 2, value: r.bytes(size) };
      return { bytes: serializeFields(out), what: `field ${f.field} = ${size} random bytes` };
    }
  }
}

/** Some mutation: field level (more often) or byte level, applied `rounds` times. */
export function mutate(r: FuzzRandom, input: Uint8Array, o: FieldMutationOptions = {}, rounds = 1 + (r.chance(0.2) ? r.int(3) : 0)): Mutated {
  let bytes = input;
  const what: string[] = [];
  for (let k = 0; k < rounds; k++) {
    const m = r.chance(0.6) || (o.keep && o.keep.size > 0) ? mutateFields(r, bytes, o) : mutateBytes(r, bytes);
    bytes = m.bytes;
    what.push(m.what);
  }
  return { bytes, what: what.join('; ') };
}
