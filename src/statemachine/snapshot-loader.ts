// Loads a snapshot into a fresh KvStore, in slices (one chunk of the source per turn of
// the event loop). The store is built privately and handed out only after the whole file
// has been checked: a corrupt file never leaves half of itself in a store anyone uses.
import { CorruptSnapshotError } from '../common/errors.js';
import { describePoint, samePoint, type SnapshotPoint } from '../common/snapshot-point.js';
import { KvStore } from './kv-store.js';
import { EXPIRY_HISTORY, SessionTable } from './sessions.js';
import { readSnapshot, type SnapshotRecord, type SnapshotSummary } from './snapshot-reader.js';

export interface SnapshotLoadOptions {
  /** Refuse a snapshot of another cluster. */
  readonly cluster?: string;
  /** Refuse a snapshot that is not of this point (the file name's, or the manifest's). */
  readonly expectedPoint?: SnapshotPoint;
  readonly yieldTurn?: () => Promise<void>;
}

export interface LoadedSnapshot {
  readonly point: SnapshotPoint;
  /** Applied index = point.index; lastStampMs, keys and sessions as the snapshot holds them. */
  readonly store: KvStore;
  readonly summary: SnapshotSummary;
}

/**
 * Reads, checks and loads the snapshot in `chunks` (`name` names it in errors).
 *
 * @throws CorruptSnapshotError naming `name` if anything about it is wrong, including a
 *   point or cluster other than the expected ones
 */
export async function loadSnapshot(name: string, chunks: AsyncIterable<Uint8Array>, options: SnapshotLoadOptions = {}): Promise<LoadedSnapshot> {
  const data = new Map<string, Uint8Array>();
  const sessions = new SessionTable();
  let expiries = 0;
  const onRecord = (record: SnapshotRecord, offset: number): void => {
    const bad = (reason: string): CorruptSnapshotError => new CorruptSnapshotError(name, offset, reason);
    switch (record.kind) {
      case 'header': {
        const { point, cluster } = record.header;
        if (options.cluster !== undefined && cluster !== options.cluster) {
          throw bad(`it belongs to cluster ${JSON.stringify(cluster)}, not ${JSON.stringify(options.cluster)}`);
        }
        if (options.expectedPoint && !samePoint(point, options.expectedPoint)) {
          throw bad(`it holds ${describePoint(point)}, expected ${describePoint(options.expectedPoint)} (or another chain value)`);
        }
        return;
      }
      case 'keyValues':
        for (const [key, value] of record.pairs) {
          if (data.has(key)) throw bad(`key ${JSON.stringify(key)} appears twice`);
          data.set(key, value);
        }
        return;
      case 'sessions':
        for (const image of record.sessions) {
          if (sessions.get(image.id)) throw bad(`session ${image.id} appears twice`);
          sessions.restoreSession(image);
        }
        return;
      case 'expiries':
        expiries += record.expiries.length;
        if (expiries > EXPIRY_HISTORY) throw bad(`more than ${EXPIRY_HISTORY} remembered expiries`);
        for (const [id, index] of record.expiries) sessions.restoreExpiry(id, index);
        return;
    }
  };
  const summary = await readSnapshot(name, chunks, onRecord, options.yieldTurn ? { yieldTurn: options.yieldTurn } : {});
  const { point, lastStampMs } = summary.header;
  const store = KvStore.restore({ data, sessions, appliedIndex: point.index, lastStampMs });
  return { point, store, summary };
}
