// The duoraft package's folder, found from where the running code lives: src/harness under
// vitest, dist/harness after tsc, dist/bundle in the bundle (scripts/bundle.mjs), or an
// installed copy under node_modules. A fixed number of '..' from import.meta.url was right
// for the first two only.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bound on the folders climbed: the package is a few levels above any of its files. */
const MAX_LEVELS = 8;

/** The nearest folder at or above `fromUrl`'s holding duoraft's package.json. */
export function packageRoot(fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (let i = 0; i < MAX_LEVELS; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isDuoraftManifest(manifest)) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find duoraft's package.json above ${fileURLToPath(fromUrl)}`);
}

function isDuoraftManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'duoraft';
  } catch {
    return false;
  }
}
