// Serializes a frozen view of the state machine (KvStore.openView) into the snapshot
// format, in slices: each turn of the event loop encodes at most `sliceKeys` pairs or
// about `sliceBytes` bytes, hands the record to the sink, and yields, so applying and
// serving go on while a large state is written. Pure apart from hashing: the bytes go to
// a ByteSink (a file in src/storage/snapshot-files.ts, or memory in tests).
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../common/errors.js';
import { snapshotPointProblem, type SnapshotPoint } from '../common/snapshot-point.js';
import type { StateView } from './kv-store.js';
import { nextTurn } from './next-turn.js';
import { encodeFileHeader, frameHeader, SnapshotRecordType } from './snapshot-format.js';
import { encodeExpiries, encodeFooter, encodeHeader, encodeKeyValues, encodeSessions } from './snapshot-records.js';

export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

export interface SnapshotSliceOptions {
  /** Most key-value pairs encoded per turn of the event loop (one record). Default 1,024. */
  readonly sliceKeys?: number;
  /** About the most bytes of keys and values encoded per turn (one record). Default 256 KiB. */
  readonly sliceBytes?: number;
  /** How a slice gives the event loop back. Default: setImmediate (I/O and timers run between slices). */
  readonly yieldTurn?: () => Promise<void>;
}

export interface SnapshotWritten {
  readonly sizeBytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  readonly sha256: string;
  readonly keyCount: number;
  readonly sessionCount: number;
  readonly expiryCount: number;
}

export const DEFAULT_SLICE_KEYS = 1024;
export const DEFAULT_SLICE_BYTES = 256 * 1024;
/** Sessions per record: each may hold up to 4,096 results, so fewer, and bounded by results. */
const SLICE_SESSIONS = 256;
const SLICE_SESSION_RESULTS = 4096;
/** Per-pair overhead counted against sliceBytes (framing, field tags), so tiny pairs still end a slice. */
const PAIR_OVERHEAD_BYTES = 8;

export function sliceOptionsProblem(o: SnapshotSliceOptions): string | null {
  for (const [name, n] of [['sliceKeys', o.sliceKeys], ['sliceBytes', o.sliceBytes]] as const) {
    if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1)) return `${name} must be a positive integer, got ${n}`;
  }
  return null;
}

/**
 * Writes the snapshot of `view` at `point` to `sink`, in slices. Always closes the view
 * (when done, or on failure). `point.index` must be the view's index: the caller knows the
 * term and chain of that entry.
 *
 * @throws InvalidArgumentError for a bad point, cluster or slice option (nothing written)
 * @throws Error if the view did not hand out what it counted (a bug: the output is unusable)
 */
export async function writeSnapshot(
  view: StateView,
  point: SnapshotPoint,
  cluster: string,
  sink: ByteSink,
  options: SnapshotSliceOptions = {},
): Promise<SnapshotWritten> {
  try {
    const problem = snapshotPointProblem(point) ?? sliceOptionsProblem(options);
    if (problem) throw new InvalidArgumentError(problem);
    if (point.index !== view.index) {
      throw new InvalidArgumentError(`snapshot point index ${point.index} is not the view's applied index ${view.index}`);
    }
    return await writeSlices(view, point, cluster, sink, options);
  } finally {
    view.close();
  }
}

async function writeSlices(view: StateView, point: SnapshotPoint, cluster: string, sink: ByteSink, options: SnapshotSliceOptions): Promise<SnapshotWritten> {
  const sliceKeys = options.sliceKeys ?? DEFAULT_SLICE_KEYS;
  const sliceBytes = options.sliceBytes ?? DEFAULT_SLICE_BYTES;
  const yieldTurn = options.yieldTurn ?? nextTurn;
  const hash = createHash('sha256');
  let size = 0;
  let records = 0;
  const emit = async (bytes: Uint8Array): Promise<void> => {
    hash.update(bytes);
    size += bytes.length;
    await sink.write(bytes);
  };
  const record = async (type: SnapshotRecordType, payload: Uint8Array): Promise<void> => {
    records++;
    await emit(frameHeader(type, payload));
    await emit(payload);
  };

  const expiries = view.sessions.expiries;
  const counts = { keyCount: view.keyCount, sessionCount: view.sessions.sessionCount, expiryCount: expiries.length };
  await emit(encodeFileHeader());
  await record(SnapshotRecordType.Header, encodeHeader({ point, cluster, lastStampMs: view.lastStampMs, ...counts }));

  let keys = 0;
  for (;;) {
    let bytes = 0;
    const pairs = view.keys.take(sliceKeys, (key, value) => {
      // key.length counts UTF-16 units, not bytes: close enough for a slice bound.
      bytes += key.length + value.length + PAIR_OVERHEAD_BYTES;
      return bytes < sliceBytes;
    });
    if (pairs.length === 0) break;
    keys += pairs.length;
    await record(SnapshotRecordType.KeyValues, encodeKeyValues(pairs));
    await yieldTurn();
  }

  let sessions = 0;
  for (;;) {
    let results = 0;
    const batch = view.sessions.sessions.take(SLICE_SESSIONS, (_, image) => {
      results += image.results.length + 1;
      return results < SLICE_SESSION_RESULTS;
    });
    if (batch.length === 0) break;
    sessions += batch.length;
    await record(SnapshotRecordType.Sessions, encodeSessions(batch.map(([, image]) => image)));
    await yieldTurn();
  }

  if (expiries.length > 0) await record(SnapshotRecordType.Expiries, encodeExpiries(expiries));

  if (keys !== counts.keyCount || sessions !== counts.sessionCount) {
    throw new Error(`snapshot view handed out ${keys} keys and ${sessions} sessions, but held ${counts.keyCount} and ${counts.sessionCount}`);
  }
  const bodySha256 = new Uint8Array(hash.copy().digest());
  const footer = encodeFooter({ ...counts, recordCount: records, bodySha256 });
  await emit(frameHeader(SnapshotRecordType.Footer, footer));
  await emit(footer);
  return { sizeBytes: size, sha256: hash.digest('hex'), ...counts };
}
