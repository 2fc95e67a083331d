// Segment files on disk: their names, their atomic creation, and directory fsyncs.
//
// Names carry a zero-padded sequence so that a directory listing sorts in write
// order. A new segment is written under a temporary name, fsynced and renamed, so a
// crash never leaves a segment with a half-written header behind.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSegmentHeader } from './wal-record.js';

const SEGMENT_NAME = /^wal-(\d{16})\.log$/;
const TEMP_SEGMENT_NAME = /^wal-\d{16}\.log\.tmp$/;

export function segmentFileName(sequence: number): string {
  return `wal-${String(sequence).padStart(16, '0')}.log`;
}

/** The sequence of a segment file name, or null if the name is not one. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (!match?.[1]) return null;
  const sequence = Number(match[1]);
  return Number.isSafeInteger(sequence) && sequence >= 1 ? sequence : null;
}

/** A segment being created when the process stopped. */
export function isTempSegmentFileName(name: string): boolean {
  return TEMP_SEGMENT_NAME.test(name);
}

/** Makes creations, renames and deletions in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position`; a single write may be partial. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Creates segment `sequence` in `dir`, holding only its header, durably (file and
 * directory fsynced). Returns a handle open for reading and writing.
 */
export async function createSegmentFile(dir: string, sequence: number): Promise<{ path: string; handle: FileHandle }> {
  const path = join(dir, segmentFileName(sequence));
  const tempPath = `${path}.tmp`;
  const temp = await open(tempPath, 'w');
  try {
    await writeFully(temp, encodeSegmentHeader(sequence), 0);
    await temp.sync();
  } catch (err) {
    await temp.close();
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
  await temp.close();
  await rename(tempPath, path);
  await fsyncDir(dir);
  return { path, handle: await open(path, 'r+') };
}
