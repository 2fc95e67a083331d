// Replacing a small file so that a crash leaves the old one or the new one, never a mix
// or an empty file: write a temp file, fsync it, rename it over the old one, fsync the
// folder (the rename itself is only durable once the folder is).
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './segment-files.js';

export async function writeFileDurably(file: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(temp, file);
  await fsyncDir(dirname(file));
}
