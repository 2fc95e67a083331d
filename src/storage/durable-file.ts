// Replacing a small file so that a crash leaves the old one or the new one, never a mix
// or an empty file: write a temp file, fsync it, rename it over the old one, fsync the
// folder (the rename itself is only durable once the folder is). Writes of one file are
// chained: two at once would share the temp file and one could rename the other's half.
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './segment-files.js';

/** The last write queued per file, while any is under way (bounded by the files written at once). */
const queued = new Map<string, Promise<void>>();

export function writeFileDurably(file: string, bytes: Uint8Array | string): Promise<void> {
  const before = queued.get(file) ?? Promise.resolve();
  const mine = before.then(
    () => writeNow(file, bytes),
    () => writeNow(file, bytes),
  );
  queued.set(file, mine);
  const forget = (): void => {
    if (queued.get(file) === mine) queued.delete(file);
  };
  mine.then(forget, forget);
  return mine;
}

async function writeNow(file: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${file}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(file));
}
