// The in-memory twin of the local snapshot store, for the deterministic simulator and unit
// tests: the same format (written and read by the same code), kept in a map. A snapshot is
// "durable" once save() or receive() resolved, as a renamed and fsynced file is; a crash
// keeps the store, a lost disk is a new store.
import { createHash } from 'node:crypto';
import { CorruptSnapshotError, InvalidArgumentError } from '../common/errors.js';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { StateView } from '../statemachine/kv-store.js';
import { type LoadedSnapshot, loadSnapshot } from '../statemachine/snapshot-loader.js';
import { readSnapshot } from '../statemachine/snapshot-reader.js';
import { writeSnapshot } from '../statemachine/snapshot-writer.js';
import type { SnapshotStorage } from './snapshot-storage.js';
import type { ExpectedSnapshot, SavedSnapshot } from './snapshot-store.js';

export interface MemorySnapshotStoreOptions {
  readonly cluster: string;
  /** How a slice gives the event loop back (the simulator passes its own). Default: a resolved promise. */
  readonly yieldTurn?: () => Promise<void>;
}

const resolved = (): Promise<void> => Promise.resolve();

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export class MemorySnapshotStore implements SnapshotStorage {
  private readonly files = new Map<number, { readonly saved: SavedSnapshot; readonly bytes: Uint8Array }>();
  private readonly yieldTurn: () => Promise<void>;

  constructor(private readonly o: MemorySnapshotStoreOptions) {
    this.yieldTurn = o.yieldTurn ?? resolved;
  }

  async save(point: SnapshotPoint, view: StateView): Promise<SavedSnapshot> {
    const parts: Uint8Array[] = [];
    const written = await writeSnapshot(view, point, this.o.cluster, { write: async (b) => void parts.push(Uint8Array.from(b)) }, { yieldTurn: this.yieldTurn });
    const bytes = Buffer.concat(parts);
    return this.keep(point, new Uint8Array(bytes), written.sha256);
  }

  async newest(): Promise<SavedSnapshot | null> {
    let best: SavedSnapshot | null = null;
    for (const { saved } of this.files.values()) if (!best || saved.point.index > best.point.index) best = saved;
    return best;
  }

  async *chunks(s: SavedSnapshot, chunkBytes: number): AsyncGenerator<Uint8Array> {
    const f = this.files.get(s.point.index);
    if (!f) throw new CorruptSnapshotError(s.file, 0, 'no longer held');
    for (let at = 0; at < f.bytes.length; at += chunkBytes) yield f.bytes.subarray(at, Math.min(f.bytes.length, at + chunkBytes));
  }

  async readRange(s: SavedSnapshot, offset: number, length: number): Promise<Uint8Array> {
    const f = this.files.get(s.point.index);
    if (!f) throw new CorruptSnapshotError(s.file, 0, 'no longer held');
    return Uint8Array.from(f.bytes.subarray(offset, Math.min(f.bytes.length, offset + length)));
  }

  async receive(expected: ExpectedSnapshot, chunks: AsyncIterable<Uint8Array>): Promise<SavedSnapshot> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const c of chunks) {
      size += c.length;
      if (size > expected.sizeBytes) throw new InvalidArgumentError(`more than the ${expected.sizeBytes} bytes expected from ${expected.source ?? 'the sender'}`);
      parts.push(Uint8Array.from(c));
    }
    const bytes = new Uint8Array(Buffer.concat(parts));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (size !== expected.sizeBytes || sha256 !== expected.sha256) {
      throw new InvalidArgumentError(`the snapshot from ${expected.source ?? 'the sender'} is not the one announced (${size} bytes, SHA-256 ${sha256})`);
    }
    await readSnapshot(`memory:${expected.point.index}`, once(bytes), undefined, { yieldTurn: this.yieldTurn });
    return this.keep(expected.point, bytes, sha256);
  }

  load(s: SavedSnapshot): Promise<LoadedSnapshot> {
    const f = this.files.get(s.point.index);
    if (!f) return Promise.reject(new CorruptSnapshotError(s.file, 0, 'no longer held'));
    return loadSnapshot(s.file, once(f.bytes), { cluster: this.o.cluster, expectedPoint: s.point, yieldTurn: this.yieldTurn });
  }

  async prune(keep = 2): Promise<void> {
    const indexes = [...this.files.keys()].sort((a, b) => b - a);
    for (const index of indexes.slice(keep)) this.files.delete(index);
  }

  private keep(point: SnapshotPoint, bytes: Uint8Array, sha256: string): SavedSnapshot {
    const saved: SavedSnapshot = { point, file: `memory:${point.index}`, sizeBytes: bytes.length, sha256 };
    this.files.set(point.index, { saved, bytes });
    return saved;
  }
}
