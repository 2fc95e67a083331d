import { describe, expect, it } from 'vitest';
import { pb } from '../../../src/common/proto.js';
import { decodeCommand, encodeCommand, type KvCommand, validateKey, type WriteContext } from '../../../src/statemachine/command.js';
import { MAX_KEY_BYTES } from '../../../src/statemachine/limits.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

const commands: readonly KvCommand[] = [
  { kind: 'put', key: 'k', value: bytes('v') },
  { kind: 'put', key: 'empty', value: new Uint8Array(0) },
  { kind: 'delete', key: 'k' },
  { kind: 'incr', key: 'n', delta: -7 },
  { kind: 'cas', key: 'k', expected: bytes('old'), value: bytes('new') },
  { kind: 'cas', key: 'k', expected: null, value: bytes('new') },
  { kind: 'registerSession', timeoutMs: 5000 },
  { kind: 'registerSession', timeoutMs: 5000, nonce: bytes('nonce') },
  { kind: 'keepAlive' },
];
const contexts: ReadonlyArray<WriteContext | undefined> = [undefined, { sessionId: 9, sequence: 4, firstOutstanding: 2 }];

/** The message as the encoder was first written (object spreads): the bytes on disk and on the wire so far. */
function formerMessage(c: KvCommand, stampMs: number, ctx?: WriteContext): Record<string, unknown> {
  const base = { stampMs, ...(ctx ? { sessionId: ctx.sessionId, sequence: ctx.sequence, firstOutstanding: ctx.firstOutstanding } : {}) };
  switch (c.kind) {
    case 'put':
      return { ...base, put: { key: c.key, value: c.value } };
    case 'delete':
      return { ...base, delete: { key: c.key } };
    case 'incr':
      return { ...base, incr: { key: c.key, delta: c.delta } };
    case 'cas':
      return { ...base, cas: { key: c.key, expected: c.expected ?? new Uint8Array(0), expectAbsent: c.expected === null, value: c.value } };
    case 'registerSession':
      return { ...base, registerSession: { timeoutMs: c.timeoutMs, clientNonce: c.nonce ?? new Uint8Array(0) } };
    case 'keepAlive':
      return { ...base, keepAlive: {} };
  }
}

describe('encodeCommand', () => {
  it('writes the same bytes as the former encoding, for every kind, with and without a session', () => {
    for (const c of commands) {
      for (const ctx of contexts) {
        const now = encodeCommand(c, 1_700_000_000_123, ctx);
        const former = pb.kv.Command.encode(formerMessage(c, 1_700_000_000_123, ctx)).finish();
        expect(Buffer.from(now).toString('hex'), `${c.kind} ${ctx ? 'in a session' : 'alone'}`).toBe(Buffer.from(former).toString('hex'));
      }
    }
  });

  it('decodes back to the command, its stamp and its context', () => {
    for (const c of commands) {
      for (const ctx of contexts) {
        const encoded = encodeCommand(c, 42, ctx);
        const back = decodeCommand(encoded);
        expect(back?.command.kind).toBe(c.kind);
        expect(back?.stampMs).toBe(42);
        expect(back?.ctx).toEqual(ctx);
        // Byte fields decode as Buffers: compare the command through its encoding.
        expect(Buffer.from(encodeCommand(back!.command, back!.stampMs, back!.ctx))).toEqual(Buffer.from(encoded));
      }
    }
  });
});

describe('validateKey', () => {
  it('bounds a key by its UTF-8 bytes, not its characters', () => {
    const twoByte = 'é'; // 2 bytes in UTF-8
    expect(() => validateKey(twoByte.repeat(MAX_KEY_BYTES / 2))).not.toThrow();
    expect(() => validateKey(twoByte.repeat(MAX_KEY_BYTES / 2) + 'x')).toThrow(/longer than/);
    // A lone surrogate counts as the 3 bytes of the replacement character it is written as.
    expect(() => validateKey('x'.repeat(MAX_KEY_BYTES - 3) + '\uD800')).not.toThrow();
    expect(() => validateKey('x'.repeat(MAX_KEY_BYTES - 2) + '\uD800')).toThrow(/longer than/);
  });
});
