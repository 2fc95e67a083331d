// What the node needs of a snapshot store: the file store in DATA/snapshots
// (snapshot-store.ts) and its in-memory twin for the simulator (memory-snapshot-store.ts)
// both are one.
import type { StateView } from '../statemachine/kv-store.js';
import type { LoadedSnapshot } from '../statemachine/snapshot-loader.js';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { ExpectedSnapshot, SavedSnapshot } from './snapshot-store.js';

export interface SnapshotStorage {
  /** Writes the snapshot of `view` at `point` durably, in slices; always closes the view. */
  save(point: SnapshotPoint, view: StateView): Promise<SavedSnapshot>;
  /** The newest complete, verified snapshot, or null. */
  newest(): Promise<SavedSnapshot | null>;
  /** A snapshot's bytes in chunks of `chunkBytes`, checked against its SHA-256 at the end. */
  chunks(s: SavedSnapshot, chunkBytes: number): AsyncIterable<Uint8Array>;
  /** Bytes [offset, offset + length) of a snapshot (fewer at its end). */
  readRange(s: SavedSnapshot, offset: number, length: number): Promise<Uint8Array>;
  /** Writes a snapshot from incoming chunks; visible only once it verified. */
  receive(expected: ExpectedSnapshot, chunks: AsyncIterable<Uint8Array>): Promise<SavedSnapshot>;
  /** Loads one into a fresh state machine, in slices. */
  load(s: SavedSnapshot): Promise<LoadedSnapshot>;
  /** Keeps the newest `keep`. */
  prune(keep?: number): Promise<unknown>;
}
