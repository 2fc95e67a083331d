// Snapshot files on disk: their names, the temp-file sink they are written through, and
// reading one back in chunks.
//
// A snapshot is written under a temporary name, fsynced, renamed to its final name and
// the directory fsynced: a final name always holds a complete file (a crash leaves at most
// a temp file, which the store removes when it opens). Final names carry the point's index
// and term, zero-padded, so a listing sorts by age without opening anything.
import { open, type FileHandle } from 'node:fs/promises';
import type { SnapshotPoint } from '../common/snapshot-point.js';
import type { ByteSink } from '../statemachine/snapshot-writer.js';
import { writeFully } from './segment-files.js';

const SNAPSHOT_NAME = /^snapshot-(\d{20})-(\d{20})\.snap$/;
const TEMP_SUFFIX = '.tmp';
/** A file that failed its checks keeps its name with this suffix, for inspection. */
export const SET_ASIDE_SUFFIX = '.corrupt';

export function snapshotFileName(point: Pick<SnapshotPoint, 'index' | 'term'>): string {
  return `snapshot-${String(point.index).padStart(20, '0')}-${String(point.term).padStart(20, '0')}.snap`;
}

/** The index and term in a snapshot file name, or null if the name is not one. */
export function parseSnapshotFileName(name: string): { index: number; term: number } | null {
  const match = SNAPSHOT_NAME.exec(name);
  if (!match?.[1] || !match[2]) return null;
  const index = Number(match[1]);
  const term = Number(match[2]);
  if (!Number.isSafeInteger(index) || index < 1 || !Number.isSafeInteger(term) || term < 1) return null;
  return { index, term };
}

let tempCounter = 0;

/** A fresh temporary name for a file that becomes `finalName`. */
export function tempSnapshotFileName(finalName: string): string {
  tempCounter = (tempCounter + 1) % 1_000_000;
  return `${finalName}.${process.pid}-${tempCounter}${TEMP_SUFFIX}`;
}

/** A snapshot being written (or received) when the process stopped. */
export function isTempSnapshotFileName(name: string): boolean {
  return name.startsWith('snapshot-') && name.endsWith(TEMP_SUFFIX);
}

export function isSetAsideFileName(name: string): boolean {
  return name.startsWith('snapshot-') && name.endsWith(SET_ASIDE_SUFFIX);
}

/**
 * Writes to a file, gathering small writes into one of up to `bufferBytes`: a snapshot is
 * written as many small records, and one write per record would cost a system call each.
 */
export class FileSink implements ByteSink {
  private readonly buffer: Uint8Array;
  private used = 0;
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    bufferBytes = 1024 * 1024,
  ) {
    this.buffer = new Uint8Array(bufferBytes);
  }

  /** Bytes handed to write() so far. */
  get written(): number {
    return this.position + this.used;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length >= this.buffer.length) {
      await writeFully(this.handle, bytes, this.position);
      this.position += bytes.length;
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    // write() awaits this, so nothing refills the buffer while the file write reads it.
    await writeFully(this.handle, this.buffer.subarray(0, this.used), this.position);
    this.position += this.used;
    this.used = 0;
  }
}

/**
 * The file's bytes as chunks of exactly `chunkBytes` (the last may be shorter), each a
 * fresh buffer the consumer may keep. Reads through `handle` if given (and leaves it
 * open), else opens and closes `path`.
 */
export async function* readFileChunks(path: string, chunkBytes: number, handle?: FileHandle): AsyncGenerator<Uint8Array> {
  const own = handle === undefined;
  const h = handle ?? (await open(path, 'r'));
  try {
    let position = 0;
    for (;;) {
      const chunk = new Uint8Array(chunkBytes);
      let filled = 0;
      while (filled < chunkBytes) {
        const { bytesRead } = await h.read(chunk, filled, chunkBytes - filled, position);
        if (bytesRead === 0) break;
        filled += bytesRead;
        position += bytesRead;
      }
      if (filled > 0) yield filled === chunkBytes ? chunk : chunk.subarray(0, filled);
      if (filled < chunkBytes) return;
    }
  } finally {
    if (own) await h.close();
  }
}
