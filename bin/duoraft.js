#!/usr/bin/env node
// The duoraft command. The code lives in dist/ (npm run build). It runs the bundle
// (dist/bundle/main.js, scripts/bundle.mjs: the same code in a few files, which starts in
// about half the CPU) when no file it was made from (dist/bundle/inputs.json) is newer than
// it, and dist/cli/main.js otherwise, so a stale bundle is never run (after a bare `tsc`, a
// `tsc --watch` rewriting one file, an `npm ci` that changed a dependency).
// DUORAFT_ENTRY=dist or =bundle chooses by hand.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const compiledEntry = '../dist/cli/main.js';
const bundleEntry = '../dist/bundle/main.js';

function bundleIsFresh() {
  try {
    const built = statSync(new URL(bundleEntry, import.meta.url)).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('../dist/bundle/inputs.json', import.meta.url), 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    // Some 350 stat calls (our files, and one package.json per dependency): a few
    // milliseconds, against ~400 saved.
    return inputs.every((rel) => statSync(root + rel).mtimeMs <= built);
  } catch {
    return false; // no bundle, no list, or an input gone: the compiled code
  }
}

const choice = process.env.DUORAFT_ENTRY;
const entry = choice === 'dist' ? compiledEntry : choice === 'bundle' || bundleIsFresh() ? bundleEntry : compiledEntry;

import(entry).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(entry.slice(3))) {
    process.stderr.write('duoraft: not built yet: run `npm ci && npm run build` first\n');
  } else {
    process.stderr.write(`duoraft: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exit(1);
});
