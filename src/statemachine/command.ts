// The key-value commands carried in NORMAL log entries (proto/kv.proto), with validation.
import { InvalidArgumentError } from '../common/errors.js';
import { pb } from '../common/proto.js';
import { MAX_KEY_BYTES } from './limits.js';

export type KvCommand =
  | { readonly kind: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'incr'; readonly key: string; readonly delta: number };

export interface StampedCommand {
  readonly command: KvCommand;
  /** Log time: the leader's wall clock, made monotonic across leaders. */
  readonly stampMs: number;
}

const encoder = new TextEncoder();

/** Throws InvalidArgumentError for a key or value the store does not accept. */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key must be a non-empty string');
  if (encoder.encode(key).length > MAX_KEY_BYTES) throw new InvalidArgumentError(`key is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.includes('\u0000')) throw new InvalidArgumentError('key must not contain NUL');
}

export function validateCommand(c: KvCommand, maxValueBytes: number): void {
  validateKey(c.key);
  if (c.kind === 'put' && c.value.length > maxValueBytes) {
    throw new InvalidArgumentError(`value of ${c.value.length} bytes is over the limit of ${maxValueBytes} bytes`);
  }
  if (c.kind === 'incr' && !Number.isSafeInteger(c.delta)) {
    throw new InvalidArgumentError(`delta ${c.delta} is not an integer in the safe range`);
  }
}

export function encodeCommand(c: KvCommand, stampMs: number): Uint8Array {
  switch (c.kind) {
    case 'put':
      return pb.kv.Command.encode({ put: { key: c.key, value: c.value }, stampMs }).finish();
    case 'delete':
      return pb.kv.Command.encode({ delete: { key: c.key }, stampMs }).finish();
    case 'incr':
      return pb.kv.Command.encode({ incr: { key: c.key, delta: c.delta }, stampMs }).finish();
  }
}

/** Decodes an entry's data; null when it is not a valid command (applied as a no-op error). */
export function decodeCommand(data: Uint8Array): StampedCommand | null {
  let m: ReturnType<typeof pb.kv.Command.decode>;
  try {
    m = pb.kv.Command.decode(data);
  } catch {
    return null;
  }
  const stampMs = m.stampMs ?? 0;
  if (m.put) return { command: { kind: 'put', key: m.put.key ?? '', value: m.put.value ?? new Uint8Array(0) }, stampMs };
  if (m.delete) return { command: { kind: 'delete', key: m.delete.key ?? '' }, stampMs };
  if (m.incr) return { command: { kind: 'incr', key: m.incr.key ?? '', delta: m.incr.delta ?? 0 }, stampMs };
  return null;
}
