#!/usr/bin/env node
// Bundles the compiled command line (dist/cli/main.js and what it imports, our code and the
// dependencies) into dist/bundle/, which bin/duoraft.js runs when it is up to date.
//
// Why: every duoraft process (a node, a listener, each `duoraft put`) paid about half a
// second of CPU resolving and loading some 400 separate ES and CommonJS modules before doing
// anything; `duoraft --version` took 1.15 s of CPU from dist/ and 0.55 s from the bundle
// (notes/results.md, twelfth session). A node's start is on the failover path of a restarted
// voter, and the test suite starts some hundreds of processes.
//
// The bundle is the same code: no transform beyond joining modules (no minifying, no
// replaced packages). The commands loaded on demand (chaos, bench, demo, fuzz, watch,
// metrics) stay separate chunks, loaded only when used. Left outside: Node's own modules,
// testcontainers (optional, loaded only for --zk-provider testcontainers) and yaml (loaded
// with require() when a config file is read).
import { builtinModules } from 'node:module';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const outDir = join(root, 'dist', 'bundle');

try {
  statSync(entry);
} catch {
  process.stderr.write(`bundle: ${entry} is missing: run tsc first (npm run build does both)\n`);
  process.exit(1);
}

let rolldown;
try {
  ({ rolldown } = await import('rolldown'));
} catch (err) {
  process.stderr.write(`bundle: cannot load rolldown (a dev dependency; run npm ci): ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

const started = Date.now();
rmSync(outDir, { recursive: true, force: true });
const warnings = [];
const bundle = await rolldown({
  input: entry,
  platform: 'node',
  external: [...builtinModules, /^node:/, 'testcontainers', 'yaml'],
  logLevel: 'warn',
  onLog: (level, log) => {
    warnings.push(`${level}: ${log.message}`);
  },
});
await bundle.write({ dir: outDir, format: 'esm', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js', sourcemap: true });
await bundle.close();
for (const w of warnings) process.stderr.write(`bundle: ${w}\n`);
process.stdout.write(`bundle: dist/bundle/main.js in ${Date.now() - started} ms\n`);
