#!/usr/bin/env node
// The duoraft command. The code lives in dist/ (npm run build). It runs the bundle
// (dist/bundle/main.js, scripts/bundle.mjs: the same code in a few files, which starts in
// half the CPU) when the bundle is at least as new as the compiled code it was made from;
// after a bare `tsc` it runs dist/cli/main.js, so a stale bundle is never run.
import { statSync } from 'node:fs';

const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return null;
  }
};
const compiled = mtime('../dist/cli/main.js');
const bundled = mtime('../dist/bundle/main.js');
const entry = bundled !== null && compiled !== null && bundled >= compiled ? '../dist/bundle/main.js' : '../dist/cli/main.js';

import(entry).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('duoraft: not built yet: run `npm ci && npm run build` first\n');
  } else {
    process.stderr.write(`duoraft: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exit(1);
});
