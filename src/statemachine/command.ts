// The key-value commands carried in NORMAL log entries (proto/kv.proto), with validation.
import { InvalidArgumentError } from '../common/errors.js';
import { type duoraft, pb } from '../common/proto.js';
import { MAX_KEY_BYTES } from './limits.js';

export type KvCommand =
  | { readonly kind: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'incr'; readonly key: string; readonly delta: number }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: Uint8Array | null; readonly value: Uint8Array }
  | { readonly kind: 'registerSession'; readonly timeoutMs: number; readonly nonce?: Uint8Array }
  | { readonly kind: 'keepAlive' };

/** Exactly-once: which session a write belongs to and where it stands in it. */
export interface WriteContext {
  readonly sessionId: number;
  readonly sequence: number;
  readonly firstOutstanding: number;
}

export interface StampedCommand {
  readonly command: KvCommand;
  /** Log time: the leader's wall clock, made monotonic across leaders. */
  readonly stampMs: number;
  /** Absent for writes outside a session. */
  readonly ctx?: WriteContext;
}

/** Bounds on session timeouts a client may ask for. */
export const MIN_SESSION_TIMEOUT_MS = 1000;
export const MAX_SESSION_TIMEOUT_MS = 3_600_000;

/** Bound on a session registration's nonce. */
export const MAX_SESSION_NONCE_BYTES = 32;

/** Throws InvalidArgumentError for a key or value the store does not accept. */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key must be a non-empty string');
  // Counted, not encoded: every write passes here, and an encoding is a buffer per write.
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidArgumentError(`key is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.includes('\u0000')) throw new InvalidArgumentError('key must not contain NUL');
}

function validateValue(value: Uint8Array, maxValueBytes: number): void {
  if (value.length > maxValueBytes) throw new InvalidArgumentError(`value of ${value.length} bytes is over the limit of ${maxValueBytes} bytes`);
}

export function validateCommand(c: KvCommand, maxValueBytes: number, ctx?: WriteContext): void {
  switch (c.kind) {
    case 'put':
      validateKey(c.key);
      validateValue(c.value, maxValueBytes);
      break;
    case 'delete':
      validateKey(c.key);
      break;
    case 'incr':
      validateKey(c.key);
      if (!Number.isSafeInteger(c.delta)) throw new InvalidArgumentError(`delta ${c.delta} is not an integer in the safe range`);
      break;
    case 'cas':
      validateKey(c.key);
      validateValue(c.value, maxValueBytes);
      if (c.expected) validateValue(c.expected, maxValueBytes);
      break;
    case 'registerSession':
      if (!(Number.isSafeInteger(c.timeoutMs) && c.timeoutMs >= MIN_SESSION_TIMEOUT_MS && c.timeoutMs <= MAX_SESSION_TIMEOUT_MS)) {
        throw new InvalidArgumentError(`session timeout must be ${MIN_SESSION_TIMEOUT_MS}..${MAX_SESSION_TIMEOUT_MS} ms`);
      }
      if (c.nonce && c.nonce.length > MAX_SESSION_NONCE_BYTES) throw new InvalidArgumentError(`a session nonce holds at most ${MAX_SESSION_NONCE_BYTES} bytes`);
      break;
    case 'keepAlive':
      break;
  }
  if (ctx) {
    const ok = [ctx.sessionId, ctx.sequence, ctx.firstOutstanding].every((n) => Number.isSafeInteger(n) && n >= 0);
    // A keep-alive is not deduplicated: it carries only the session.
    const sequenced = c.kind !== 'keepAlive';
    if (!ok || ctx.sessionId === 0 || (sequenced && (ctx.sequence === 0 || ctx.firstOutstanding > ctx.sequence))) {
      throw new InvalidArgumentError('bad write context: session and sequence must be positive, first outstanding at most the sequence');
    }
  }
}

type CommandOp = Pick<duoraft.kv.Command.$Properties, 'put' | 'delete' | 'incr' | 'cas' | 'registerSession' | 'keepAlive'>;

export function encodeCommand(c: KvCommand, stampMs: number, ctx?: WriteContext): Uint8Array {
  switch (c.kind) {
    case 'put':
      return encodeMessage({ put: { key: c.key, value: c.value } }, stampMs, ctx);
    case 'delete':
      return encodeMessage({ delete: { key: c.key } }, stampMs, ctx);
    case 'incr':
      return encodeMessage({ incr: { key: c.key, delta: c.delta } }, stampMs, ctx);
    case 'cas':
      return encodeMessage({ cas: { key: c.key, expected: c.expected ?? new Uint8Array(0), expectAbsent: c.expected === null, value: c.value } }, stampMs, ctx);
    case 'registerSession':
      return encodeMessage({ registerSession: { timeoutMs: c.timeoutMs, clientNonce: c.nonce ?? new Uint8Array(0) } }, stampMs, ctx);
    case 'keepAlive':
      return encodeMessage({ keepAlive: {} }, stampMs, ctx);
  }
}

/**
 * The leader encodes every write here, so the message always has the same fields in the
 * same order: the generated encoder then sees one object shape, where object spreads gave it
 * one per kind and context and its property reads went megamorphic (notes/results.md, CPU
 * per write). A field that is null is not encoded, exactly as one that is absent: the bytes
 * do not change.
 */
function encodeMessage(op: CommandOp, stampMs: number, ctx: WriteContext | undefined): Uint8Array {
  return pb.kv.Command.encode({
    put: op.put ?? null,
    delete: op.delete ?? null,
    incr: op.incr ?? null,
    cas: op.cas ?? null,
    registerSession: op.registerSession ?? null,
    keepAlive: op.keepAlive ?? null,
    stampMs,
    sessionId: ctx ? ctx.sessionId : null,
    sequence: ctx ? ctx.sequence : null,
    firstOutstanding: ctx ? ctx.firstOutstanding : null,
  }).finish();
}

/** Decodes an entry's data; null when it is not a valid command (applied as an error result). */
export function decodeCommand(data: Uint8Array): StampedCommand | null {
  let m: ReturnType<typeof pb.kv.Command.decode>;
  try {
    m = pb.kv.Command.decode(data);
  } catch {
    return null;
  }
  const stampMs = m.stampMs ?? 0;
  const ctx: WriteContext | undefined = m.sessionId
    ? { sessionId: m.sessionId, sequence: m.sequence ?? 0, firstOutstanding: m.firstOutstanding ?? 0 }
    : undefined;
  const withCtx = (command: KvCommand): StampedCommand => (ctx ? { command, stampMs, ctx } : { command, stampMs });
  if (m.put) return withCtx({ kind: 'put', key: m.put.key ?? '', value: m.put.value ?? new Uint8Array(0) });
  if (m.delete) return withCtx({ kind: 'delete', key: m.delete.key ?? '' });
  if (m.incr) return withCtx({ kind: 'incr', key: m.incr.key ?? '', delta: m.incr.delta ?? 0 });
  if (m.cas) {
    return withCtx({
      kind: 'cas',
      key: m.cas.key ?? '',
      expected: m.cas.expectAbsent ? null : (m.cas.expected ?? new Uint8Array(0)),
      value: m.cas.value ?? new Uint8Array(0),
    });
  }
  if (m.registerSession) {
    const nonce = m.registerSession.clientNonce;
    return withCtx({ kind: 'registerSession', timeoutMs: m.registerSession.timeoutMs ?? 0, ...(nonce && nonce.length > 0 ? { nonce } : {}) });
  }
  if (m.keepAlive) return withCtx({ kind: 'keepAlive' });
  return null;
}
