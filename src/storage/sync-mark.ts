// The sync mark: a small file beside the segments that says what the last sync made
// durable (the active segment, its size, the last entry index). Recovery compares it
// with what it finds, so it can tell a torn last record (written after the last sync:
// an ordinary crash) from a file that lost synced data (cut short, or a segment gone),
// and say how many entries that was. Without it a WAL cut to half its size looks like
// one torn record.
//
// The mark is rewritten in place after every fsync of the WAL, without an fsync of its
// own (that would double the WAL's fsyncs): so it may lag behind the data after a power
// loss, but it never claims more than was durable, because it is written only once the
// data it describes was fsynced. A mark that fails its checksum (torn) counts as absent.
//
// Format (36 bytes): 8 bytes magic "DRMARK1\n" | u64 LE segment sequence | u64 LE
// segment size in bytes | u64 LE last entry index (0 for an empty log) | u32 LE crc32c
// of the 32 bytes before.
import type { FileHandle } from 'node:fs/promises';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from './crc32c.js';
import { fsyncDir, writeFully } from './segment-files.js';

export const SYNC_MARK_FILE_NAME = 'wal-synced.mark';

export interface SyncMark {
  /** The segment that was active at the last sync. */
  readonly sequence: number;
  /** Its size in bytes after that sync. */
  readonly size: number;
  /** The last entry index of the log after that sync (0 if empty). */
  readonly lastIndex: number;
}

const MAGIC = new TextEncoder().encode('DRMARK1\n');
const MARK_BYTES = MAGIC.length + 3 * 8 + 4;

function writeU64(bytes: Uint8Array, at: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(at, value % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

function readU64(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

export function encodeSyncMark(mark: SyncMark): Uint8Array {
  const bytes = new Uint8Array(MARK_BYTES);
  bytes.set(MAGIC, 0);
  writeU64(bytes, 8, mark.sequence);
  writeU64(bytes, 16, mark.size);
  writeU64(bytes, 24, mark.lastIndex);
  new DataView(bytes.buffer).setUint32(32, crc32c(bytes.subarray(0, 32)), true);
  return bytes;
}

/** The mark in `bytes`, or null if they are not an intact one. */
export function decodeSyncMark(bytes: Uint8Array): SyncMark | null {
  if (bytes.length < MARK_BYTES) return null;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return null;
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(32, true);
  if (crc32c(bytes.subarray(0, 32)) !== stored) return null;
  const mark = { sequence: readU64(bytes, 8), size: readU64(bytes, 16), lastIndex: readU64(bytes, 24) };
  const sane = Number.isSafeInteger(mark.sequence) && mark.sequence >= 1 && Number.isSafeInteger(mark.size) && Number.isSafeInteger(mark.lastIndex);
  return sane ? mark : null;
}

/** The mark of the WAL in `dir`, or null if there is none (an older WAL) or it is not intact. */
export async function readSyncMark(dir: string): Promise<SyncMark | null> {
  try {
    return decodeSyncMark(await readFile(join(dir, SYNC_MARK_FILE_NAME)));
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return null;
    throw err;
  }
}

/** Keeps the mark file open and rewrites it in place. */
export class SyncMarkWriter {
  private constructor(private readonly handle: FileHandle) {}

  /** Opens the mark file of `dir`, creating it (durably) if missing. */
  static async open(dir: string): Promise<SyncMarkWriter> {
    const path = join(dir, SYNC_MARK_FILE_NAME);
    try {
      return new SyncMarkWriter(await open(path, 'r+'));
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
    }
    const handle = await open(path, 'w+');
    await fsyncDir(dir);
    return new SyncMarkWriter(handle);
  }

  /** Writes the mark (no fsync: see the file comment). */
  async write(mark: SyncMark): Promise<void> {
    await writeFully(this.handle, encodeSyncMark(mark), 0);
  }

  /** Writes the mark and fsyncs it: after recovery changed what the WAL holds. */
  async writeDurably(mark: SyncMark): Promise<void> {
    await this.write(mark);
    await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
