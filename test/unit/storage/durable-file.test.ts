// writeFileDurably: a crash leaves the old or the new content; two writes of one file at
// once each land whole, in the order they were asked for (review 15: they shared a temp
// file, and one could rename the other's half).
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileDurably } from '../../../src/storage/durable-file.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('writeFileDurably', () => {
  it('two writes of one file at once: both succeed, the last asked for is what stays, no temp file is left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'duoraft-durable-'));
    const file = join(dir, 'f');
    const long = 'A'.repeat(3000);
    const short = 'B'.repeat(100);
    for (let i = 0; i < 50; i++) {
      const [first, second] = i % 2 === 0 ? [long, short] : [short, long];
      await Promise.all([writeFileDurably(file, first), writeFileDurably(file, second)]);
      expect(await readFile(file, 'utf8')).toBe(second);
    }
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('a write that fails is reported and leaves no temp file behind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'duoraft-durable-'));
    const file = join(dir, 'f');
    // The target is a folder holding a file: the rename over it fails.
    await mkdir(join(file, 'sub'), { recursive: true });
    await expect(writeFileDurably(file, 'new')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['f']);
  });
});
