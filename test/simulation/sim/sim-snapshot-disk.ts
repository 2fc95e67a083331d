// A simulated node's snapshot directory (DATA/snapshots), as harsh as the real one
// (src/storage/snapshot-store.ts) on a machine that loses power:
//
// - save() and receive() write a temp file, fsync it, rename it to its final name and
//   fsync the directory; each fsync takes the heavy-tailed time of disk-latency.ts. A crash
//   before the file's fsync completed loses it (the temp file is removed at the next open);
//   a crash after the rename but before the directory's fsync completed keeps the rename
//   or not (a seeded coin: the journal may or may not have committed it), and renames and
//   unlinks not yet covered by a directory fsync persist as an ordered prefix.
// - prune() unlinks and fsyncs the directory: an unlink a crash overtakes may come back.
// - A lost disk is a new SimSnapshotDisk.
//
// The disk outlives the processes; each incarnation gets its own SimSnapshotStore
// (SnapshotStorage) bound to its gate: its work (serializer and loader slices, fsync
// completions) reaches it only while it runs, and never after it died. The bytes are the
// real format, written and read by the real code (snapshot-writer, -reader, -loader).
import { createHash } from 'node:crypto';
import { CorruptSnapshotError, UnavailableError } from '../../../src/common/errors.js';
import { describePoint, samePoint, type SnapshotPoint } from '../../../src/common/snapshot-point.js';
import type { StateView } from '../../../src/statemachine/kv-store.js';
import { type LoadedSnapshot, loadSnapshot } from '../../../src/statemachine/snapshot-loader.js';
import { readSnapshot } from '../../../src/statemachine/snapshot-reader.js';
import { writeSnapshot } from '../../../src/statemachine/snapshot-writer.js';
import type { SnapshotStorage } from '../../../src/storage/snapshot-storage.js';
import type { ExpectedSnapshot, SavedSnapshot } from '../../../src/storage/snapshot-store.js';
import type { SimScheduler } from '../sim-scheduler.js';
import { fsyncLatencyMs } from './disk-latency.js';
import type { NodeGate } from './node-gate.js';

interface SimFile {
  readonly saved: SavedSnapshot;
  readonly bytes: Uint8Array;
}

/** A rename (file) or unlink (null) of `name`, not yet covered by a directory fsync. */
interface DirOp {
  readonly seq: number;
  readonly name: string;
  readonly file: SimFile | null;
}

/** What the checker is told: every snapshot a process loaded, and every one it made durable. */
export interface SnapshotObserver {
  loaded(who: string, loaded: LoadedSnapshot): void;
  saved(who: string, point: SnapshotPoint, bytes: Uint8Array): void;
}

export class SimSnapshotDisk {
  /** The directory as the running process sees it. */
  private visible = new Map<string, SimFile>();
  /** What a crash keeps for sure. */
  private durable = new Map<string, SimFile>();
  private pending: DirOp[] = [];
  private seq = 0;
  /** Bumped by crash(): fsyncs started before it complete for nobody. */
  private generation = 0;

  constructor(
    private readonly sched: SimScheduler,
    readonly cluster: string,
  ) {}

  /** Complete snapshots the running process can see, newest first. */
  files(): SimFile[] {
    return [...this.visible.values()].sort((a, b) => b.saved.point.index - a.saved.point.index || b.saved.point.term - a.saved.point.term);
  }

  get(name: string): SimFile | undefined {
    return this.visible.get(name);
  }

  /** The power went: what no directory fsync covered persists as a random prefix (maybe nothing). */
  crash(): void {
    const keep = this.sched.random.nextInt(this.pending.length + 1);
    for (const op of this.pending.slice(0, keep)) this.applyDurably(op);
    this.pending = [];
    this.visible = new Map(this.durable);
    this.generation++;
  }

  /** One fsync: `done` runs when it completed (if no crash came first). */
  fsync(done: () => void): void {
    const generation = this.generation;
    this.sched.schedule(fsyncLatencyMs(this.sched.random), () => {
      if (generation === this.generation) done();
    });
  }

  rename(name: string, file: SimFile): void {
    this.visible.set(name, file);
    this.pending.push({ seq: ++this.seq, name, file });
  }

  unlink(name: string): void {
    if (!this.visible.delete(name)) return;
    this.pending.push({ seq: ++this.seq, name, file: null });
  }

  /** A directory fsync: `done` runs once everything renamed or unlinked before it is durable. */
  fsyncDir(done: () => void): void {
    const upTo = this.seq;
    this.fsync(() => {
      while (this.pending.length > 0 && this.pending[0]!.seq <= upTo) this.applyDurably(this.pending.shift()!);
      done();
    });
  }

  private applyDurably(op: DirOp): void {
    if (op.file) this.durable.set(op.name, op.file);
    else this.durable.delete(op.name);
  }
}

/** The file name the real store gives a snapshot (snapshot-<index>-<term>.snap). */
function fileName(point: SnapshotPoint): string {
  return `snapshot-${point.index}-${point.term}.snap`;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** One incarnation's view of the disk (what the node driver gets as its SnapshotStorage). */
export class SimSnapshotStore implements SnapshotStorage {
  constructor(
    private readonly disk: SimSnapshotDisk,
    private readonly sched: SimScheduler,
    private readonly gate: NodeGate,
    private readonly observer: SnapshotObserver | null,
  ) {}

  /** Gives the event loop back: the next slice runs as its own event, while the process runs. */
  private readonly yieldTurn = (): Promise<void> => new Promise((resolve) => this.sched.schedule(0, () => this.gate.deliver(resolve)));

  private fsync(): Promise<void> {
    return new Promise((resolve) => this.disk.fsync(() => this.gate.deliver(resolve)));
  }

  private fsyncDir(): Promise<void> {
    return new Promise((resolve) => this.disk.fsyncDir(() => this.gate.deliver(resolve)));
  }

  /** The temp file is written and fsynced, then renamed, then the directory is fsynced. */
  private async commit(point: SnapshotPoint, bytes: Uint8Array, sha256: string): Promise<SavedSnapshot> {
    await this.fsync();
    const name = fileName(point);
    const saved: SavedSnapshot = { point, file: `sim:${this.gate.name}:${name}`, sizeBytes: bytes.length, sha256 };
    this.disk.rename(name, { saved, bytes });
    await this.fsyncDir();
    this.observer?.saved(this.gate.name, point, bytes);
    return saved;
  }

  async save(point: SnapshotPoint, view: StateView): Promise<SavedSnapshot> {
    const parts: Uint8Array[] = [];
    const written = await writeSnapshot(view, point, this.disk.cluster, { write: async (b) => void parts.push(Uint8Array.from(b)) }, { yieldTurn: this.yieldTurn });
    return this.commit(point, new Uint8Array(Buffer.concat(parts)), written.sha256);
  }

  async newest(): Promise<SavedSnapshot | null> {
    return this.disk.files()[0]?.saved ?? null;
  }

  private bytesOf(s: SavedSnapshot): Uint8Array {
    const f = this.disk.get(fileName(s.point));
    if (!f || f.saved.sha256 !== s.sha256) throw new UnavailableError(`snapshot ${s.file} is gone (pruned since it was listed?); list the snapshots again`);
    return f.bytes;
  }

  async *chunks(s: SavedSnapshot, chunkBytes: number): AsyncGenerator<Uint8Array> {
    // The real store reads from one open file: a prune meanwhile does not cut it.
    const bytes = this.bytesOf(s);
    for (let at = 0; at < bytes.length; at += chunkBytes) yield bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
  }

  async readRange(s: SavedSnapshot, offset: number, length: number): Promise<Uint8Array> {
    const bytes = this.bytesOf(s);
    return Uint8Array.from(bytes.subarray(offset, Math.min(bytes.length, offset + length)));
  }

  async receive(expected: ExpectedSnapshot, chunks: AsyncIterable<Uint8Array>): Promise<SavedSnapshot> {
    const label = `${expected.source ?? 'received bytes'} for ${fileName(expected.point)}`;
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const c of chunks) {
      if (size + c.length > expected.sizeBytes) throw new CorruptSnapshotError(label, size, `more than the expected ${expected.sizeBytes} bytes`);
      parts.push(Uint8Array.from(c));
      size += c.length;
    }
    if (size !== expected.sizeBytes) throw new CorruptSnapshotError(label, size, `${size} bytes, expected ${expected.sizeBytes}: cut short`);
    const bytes = new Uint8Array(Buffer.concat(parts));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== expected.sha256) throw new CorruptSnapshotError(label, -1, `SHA-256 ${sha256}, expected ${expected.sha256}`);
    const summary = await readSnapshot(label, once(bytes), undefined, { decode: false, yieldTurn: this.yieldTurn });
    const h = summary.header;
    if (h.cluster !== this.disk.cluster) throw new CorruptSnapshotError(label, -1, `it belongs to cluster ${JSON.stringify(h.cluster)}`);
    if (!samePoint(h.point, expected.point)) throw new CorruptSnapshotError(label, -1, `it holds ${describePoint(h.point)}, expected ${describePoint(expected.point)}`);
    return this.commit(expected.point, bytes, sha256);
  }

  async load(s: SavedSnapshot): Promise<LoadedSnapshot> {
    const bytes = this.bytesOf(s);
    const loaded = await loadSnapshot(s.file, once(bytes), { cluster: this.disk.cluster, expectedPoint: s.point, yieldTurn: this.yieldTurn });
    this.observer?.loaded(this.gate.name, loaded);
    return loaded;
  }

  /** What the process starts from: the newest snapshot on the disk, loaded (null: none). */
  async loadNewest(): Promise<{ saved: SavedSnapshot; loaded: LoadedSnapshot } | null> {
    const saved = await this.newest();
    return saved ? { saved, loaded: await this.load(saved) } : null;
  }

  async prune(keep = 2): Promise<void> {
    const old = this.disk.files().slice(keep);
    if (old.length === 0) return;
    for (const f of old) this.disk.unlink(fileName(f.saved.point));
    await this.fsyncDir();
  }
}
