// The payloads of snapshot records (proto/snapshot.proto) to and from the state machine's
// own types. Pure. Decoding never throws: it returns the value or why the payload is bad,
// and checks every field it hands on (a snapshot is input like any other).
import { duoraft, pb } from '../common/proto.js';
import { snapshotPointProblem, type SnapshotPoint } from '../common/snapshot-point.js';
import { MAX_SESSION_NONCE_BYTES, MAX_SESSION_TIMEOUT_MS } from './command.js';
import type { KvResult } from './kv-store.js';
import { MAX_RESULTS_PER_SESSION, type SessionImage } from './sessions.js';

/** What the header record says. */
export interface SnapshotHeader {
  readonly point: SnapshotPoint;
  readonly cluster: string;
  readonly lastStampMs: number;
  readonly keyCount: number;
  readonly sessionCount: number;
  readonly expiryCount: number;
}

export interface SnapshotFooter {
  readonly keyCount: number;
  readonly sessionCount: number;
  readonly expiryCount: number;
  readonly recordCount: number;
  readonly bodySha256: Uint8Array;
}

export type Expiry = readonly [sessionId: number, index: number];

const SHA256_BYTES = 32;

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isPositive(n: unknown): n is number {
  return isCount(n) && n >= 1;
}

/** Runs a decoder, turning a protobuf exception into a problem string. */
function tryDecode<T>(what: string, decode: () => T | string): T | string {
  try {
    return decode();
  } catch (err) {
    return `${what} does not decode: ${err instanceof Error ? err.message : String(err)}`;
  }
}

// ---------------------------------------------------------------------------
// Header and footer.

export function encodeHeader(h: SnapshotHeader): Uint8Array {
  return pb.snapshot.Header.encode({
    index: h.point.index,
    term: h.point.term,
    chain: h.point.chain,
    cluster: h.cluster,
    lastStampMs: h.lastStampMs,
    keyCount: h.keyCount,
    sessionCount: h.sessionCount,
    expiryCount: h.expiryCount,
  }).finish();
}

export function decodeHeader(payload: Uint8Array): SnapshotHeader | string {
  return tryDecode('header record', () => {
    const m = pb.snapshot.Header.decode(payload);
    const point: SnapshotPoint = { index: m.index, term: m.term, chain: new Uint8Array(m.chain ?? new Uint8Array(0)) };
    const problem = snapshotPointProblem(point);
    if (problem) return `header: ${problem}`;
    for (const [name, n] of [['last stamp', m.lastStampMs], ['key count', m.keyCount], ['session count', m.sessionCount], ['expiry count', m.expiryCount]] as const) {
      if (!isCount(n)) return `header: ${name} ${String(n)} is not a non-negative safe integer`;
    }
    return {
      point,
      cluster: m.cluster ?? '',
      lastStampMs: m.lastStampMs,
      keyCount: m.keyCount,
      sessionCount: m.sessionCount,
      expiryCount: m.expiryCount,
    };
  });
}

export function encodeFooter(f: SnapshotFooter): Uint8Array {
  return pb.snapshot.Footer.encode({
    keyCount: f.keyCount,
    sessionCount: f.sessionCount,
    expiryCount: f.expiryCount,
    recordCount: f.recordCount,
    bodySha256: f.bodySha256,
  }).finish();
}

export function decodeFooter(payload: Uint8Array): SnapshotFooter | string {
  return tryDecode('footer record', () => {
    const m = pb.snapshot.Footer.decode(payload);
    for (const [name, n] of [['key count', m.keyCount], ['session count', m.sessionCount], ['expiry count', m.expiryCount], ['record count', m.recordCount]] as const) {
      if (!isCount(n)) return `footer: ${name} ${String(n)} is not a non-negative safe integer`;
    }
    const digest = m.bodySha256 ?? new Uint8Array(0);
    if (digest.length !== SHA256_BYTES) return `footer: body digest of ${digest.length} bytes, not ${SHA256_BYTES}`;
    return { keyCount: m.keyCount, sessionCount: m.sessionCount, expiryCount: m.expiryCount, recordCount: m.recordCount, bodySha256: new Uint8Array(digest) };
  });
}

// ---------------------------------------------------------------------------
// Key-value pairs.

export function encodeKeyValues(pairs: ReadonlyArray<readonly [string, Uint8Array]>): Uint8Array {
  return pb.snapshot.KeyValueBatch.encode({ pairs: pairs.map(([key, value]) => ({ key, value })) }).finish();
}

export function decodeKeyValues(payload: Uint8Array): Array<[string, Uint8Array]> | string {
  return tryDecode('key-value record', () => {
    const m = pb.snapshot.KeyValueBatch.decode(payload);
    const out: Array<[string, Uint8Array]> = [];
    for (const p of m.pairs ?? []) {
      const key = p.key ?? '';
      if (key.length === 0) return 'a key-value pair has an empty key';
      // Not copied: the value stays a view into the chunk it was read from (a fresh
      // buffer per chunk, never reused). A chunk lives as long as one of its values does,
      // so a loaded store may hold up to one file's worth of chunks; copying each value
      // instead costs 100,000 small allocations and more GC per 100,000 keys.
      out.push([key, p.value ?? new Uint8Array(0)]);
    }
    return out;
  });
}

// ---------------------------------------------------------------------------
// Results remembered by sessions.

const FailureCode = pb.snapshot.FailureCode;
type FailureName = Extract<KvResult, { ok: false }>['code'];

const FAILURE_TO_PROTO: Record<FailureName, duoraft.snapshot.FailureCode> = {
  not_integer: FailureCode.FAILURE_NOT_INTEGER,
  overflow: FailureCode.FAILURE_OVERFLOW,
  bad_command: FailureCode.FAILURE_BAD_COMMAND,
  session_expired: FailureCode.FAILURE_SESSION_EXPIRED,
  stale_sequence: FailureCode.FAILURE_STALE_SEQUENCE,
};

function failureName(code: duoraft.snapshot.FailureCode | null | undefined): FailureName | null {
  for (const [name, value] of Object.entries(FAILURE_TO_PROTO)) if (value === code) return name as FailureName;
  return null;
}

function encodeResult(r: KvResult): duoraft.snapshot.Result.$Properties {
  if (!r.ok) return { failure: { code: FAILURE_TO_PROTO[r.code], message: r.message } };
  switch (r.kind) {
    case 'put':
      return { put: {} };
    case 'delete':
      return { delete: { deleted: r.deleted } };
    case 'incr':
      return { incr: { value: r.value } };
    case 'cas':
      return { cas: { succeeded: r.succeeded, current: r.current ?? new Uint8Array(0), currentAbsent: r.current === null } };
    case 'session':
      return { session: { sessionId: r.sessionId, timeoutMs: r.timeoutMs } };
    case 'keepAlive':
      return { keepAlive: {} };
    case 'noop':
      return { noop: {} };
  }
}

function decodeResult(m: duoraft.snapshot.Result.$Properties | null | undefined): KvResult | string {
  if (!m) return 'a remembered result is missing';
  if (m.put) return { ok: true, kind: 'put' };
  if (m.delete) return { ok: true, kind: 'delete', deleted: m.delete.deleted === true };
  if (m.incr) {
    const value = m.incr.value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `an incr result ${String(value)} is not a safe integer`;
    return { ok: true, kind: 'incr', value };
  }
  if (m.cas) {
    const current = m.cas.currentAbsent ? null : new Uint8Array(m.cas.current ?? new Uint8Array(0));
    return { ok: true, kind: 'cas', succeeded: m.cas.succeeded === true, current };
  }
  if (m.session) {
    const { sessionId, timeoutMs } = m.session;
    if (!isPositive(sessionId) || !isCount(timeoutMs)) return 'a session result has a bad id or timeout';
    return { ok: true, kind: 'session', sessionId, timeoutMs };
  }
  if (m.keepAlive) return { ok: true, kind: 'keepAlive' };
  if (m.noop) return { ok: true, kind: 'noop' };
  if (m.failure) {
    const code = failureName(m.failure.code);
    if (code === null) return `a failed result has unknown code ${String(m.failure.code)}`;
    return { ok: false, code, message: m.failure.message ?? '' };
  }
  return 'a remembered result holds no outcome';
}

// ---------------------------------------------------------------------------
// Sessions and expiries.

export function encodeSessions(sessions: readonly SessionImage[]): Uint8Array {
  return pb.snapshot.SessionBatch.encode({
    sessions: sessions.map((s) => ({
      id: s.id,
      timeoutMs: s.timeoutMs,
      lastActiveMs: s.lastActive,
      nonce: s.nonce ? Buffer.from(s.nonce, 'hex') : new Uint8Array(0),
      forgottenBelow: s.forgottenBelow,
      results: s.results.map(([sequence, result]) => ({ sequence, result: encodeResult(result) })),
    })),
  }).finish();
}

function decodeSession(m: duoraft.snapshot.Session.$Properties): SessionImage | string {
  const { id, timeoutMs, lastActiveMs, forgottenBelow } = m;
  if (!isPositive(id)) return `a session id ${String(id)} is not a positive safe integer`;
  if (!isPositive(timeoutMs) || timeoutMs > MAX_SESSION_TIMEOUT_MS) return `session ${id}: timeout ${String(timeoutMs)} ms is out of range`;
  if (!isCount(lastActiveMs)) return `session ${id}: last activity ${String(lastActiveMs)} is not a safe integer`;
  if (!isPositive(forgottenBelow)) return `session ${id}: forgotten-below ${String(forgottenBelow)} is not a positive safe integer`;
  const nonce = m.nonce ?? new Uint8Array(0);
  if (nonce.length > MAX_SESSION_NONCE_BYTES) return `session ${id}: nonce of ${nonce.length} bytes`;
  const list = m.results ?? [];
  if (list.length > MAX_RESULTS_PER_SESSION) return `session ${id}: ${list.length} results, more than ${MAX_RESULTS_PER_SESSION}`;
  const results: Array<readonly [number, KvResult]> = [];
  const seen = new Set<number>();
  for (const r of list) {
    const sequence = r.sequence;
    if (!isPositive(sequence) || sequence < forgottenBelow || seen.has(sequence)) {
      return `session ${id}: result sequence ${String(sequence)} is bad, repeated or forgotten`;
    }
    seen.add(sequence);
    const result = decodeResult(r.result);
    if (typeof result === 'string') return `session ${id}, sequence ${sequence}: ${result}`;
    results.push([sequence, result]);
  }
  return { id, timeoutMs, lastActive: lastActiveMs, nonce: Buffer.from(nonce).toString('hex'), forgottenBelow, results };
}

export function decodeSessions(payload: Uint8Array): SessionImage[] | string {
  return tryDecode('session record', () => {
    const m = pb.snapshot.SessionBatch.decode(payload);
    const out: SessionImage[] = [];
    for (const s of m.sessions ?? []) {
      const image = decodeSession(s);
      if (typeof image === 'string') return image;
      out.push(image);
    }
    return out;
  });
}

export function encodeExpiries(expiries: readonly Expiry[]): Uint8Array {
  return pb.snapshot.ExpiryBatch.encode({ expiries: expiries.map(([sessionId, index]) => ({ sessionId, index })) }).finish();
}

export function decodeExpiries(payload: Uint8Array): Expiry[] | string {
  return tryDecode('expiry record', () => {
    const m = pb.snapshot.ExpiryBatch.decode(payload);
    const out: Expiry[] = [];
    for (const e of m.expiries ?? []) {
      if (!isPositive(e.sessionId) || !isPositive(e.index)) return `an expiry (${String(e.sessionId)}, ${String(e.index)}) is not two positive safe integers`;
      out.push([e.sessionId, e.index]);
    }
    return out;
  });
}
