#!/usr/bin/env node
// Bundles the compiled command line (dist/cli/main.js and what it imports, our code and the
// dependencies) into dist/bundle/, which bin/duoraft.js runs while it is up to date.
//
// Why: every duoraft process (a node, a listener, each `duoraft put`) paid about half a
// second of CPU resolving and loading some 900 separate ES and CommonJS modules before doing
// anything: a voter's start to leader took 0.83 s of CPU from dist/ and 0.47 s from the
// bundle, a `duoraft put` 0.79 s and 0.45 s (`node scripts/start-cpu.mjs`). A node's
// start is on the failover path of a restarted voter, and the test suite starts some
// hundreds of processes.
//
// The bundle is the same code: no transform beyond joining modules (no minifying, no
// replaced packages). The commands loaded on demand (chaos, bench, demo, fuzz, watch,
// metrics) stay separate chunks, loaded only when used. Left outside: Node's own modules,
// testcontainers and yaml (loaded with require() when a config file is read).
//
// dist/bundle/inputs.json lists every file the bundle was made from; bin/duoraft.js runs the
// bundle only when none of them is newer than it (a `tsc --watch` rewriting one file, an
// `npm ci` that changed a dependency), and dist/cli/main.js otherwise.
//
// The build fails on an import the bundler cannot resolve, and on a module that reads
// __dirname or __filename (undefined in an ES module bundle) unless it is one of the known
// ones below, each on a path duoraft never takes.
import { builtinModules } from 'node:module';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const outDir = join(root, 'dist', 'bundle');
const tmpDir = join(root, 'dist', `.bundle-tmp-${process.pid}`);

/**
 * Modules that use __dirname/__filename on paths duoraft does not take: grpc-js's channelz
 * and ORCA services (never registered), pino's transports and the worker thread they run in
 * (duoraft logs to a file descriptor), yargs's locale files (cli.ts turns locale detection
 * off). A new one fails the build, to be looked at.
 */
const KNOWN_DIRNAME_USERS = [
  'node_modules/@grpc/grpc-js/build/src/channelz.js',
  'node_modules/@grpc/grpc-js/build/src/orca.js',
  'node_modules/pino/lib/transport.js',
  'node_modules/thread-stream/index.js',
  'node_modules/yargs/lib/platform-shims/esm.mjs',
];

/**
 * The file whose mtime stands for `rel` in inputs.json: our compiled files themselves, and
 * for a dependency its package.json (npm ci rewrites a package whole), so bin/duoraft.js
 * checks some 350 files rather than 900.
 */
function freshnessWitness(rel) {
  const at = rel.lastIndexOf('node_modules/');
  if (at < 0) return rel;
  const parts = rel.slice(at + 'node_modules/'.length).split('/');
  const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  return `${rel.slice(0, at)}node_modules/${name}/package.json`;
}

const fail = (message) => {
  rmSync(tmpDir, { recursive: true, force: true });
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(1);
};
// eslint-disable-next-line no-control-regex
const plain = (text) => String(text).replace(/\u001b\[[0-9;]*m/g, '');

try {
  statSync(entry);
} catch {
  fail(`${entry} is missing: run tsc first (npm run build does both)`);
}

let rolldown;
try {
  ({ rolldown } = await import('rolldown'));
} catch (err) {
  fail(`cannot load rolldown (a dev dependency; run npm ci): ${err instanceof Error ? err.message : String(err)}`);
}

const started = Date.now();
const unresolved = [];
const bundle = await rolldown({
  input: entry,
  platform: 'node',
  external: [...builtinModules, /^node:/, 'testcontainers', 'yaml'],
  logLevel: 'warn',
  onLog: (level, log) => {
    if (log.code === 'UNRESOLVED_IMPORT') unresolved.push(plain(log.message));
    process.stderr.write(`bundle: ${level}: ${plain(log.message)}\n`);
  },
});
if (unresolved.length > 0) fail(`${unresolved.length} import(s) could not be resolved (see above)`);

rmSync(tmpDir, { recursive: true, force: true });
const { output } = await bundle.write({ dir: tmpDir, format: 'esm', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js', sourcemap: true });
await bundle.close();

const inputs = new Set();
const strays = [];
for (const chunk of output) {
  if (chunk.type !== 'chunk') continue;
  for (const [id, rendered] of Object.entries(chunk.modules)) {
    const rel = relative(root, id);
    if (!rel.startsWith('..') && !id.startsWith('\0')) inputs.add(freshnessWitness(rel));
    if (/\b__(dirname|filename)\b/.test(rendered.code ?? '') && !KNOWN_DIRNAME_USERS.includes(rel)) strays.push(rel);
  }
}
if (strays.length > 0) fail(`module(s) reading __dirname or __filename, undefined in the bundle: ${strays.join(', ')}`);
writeFileSync(join(tmpDir, 'inputs.json'), `${JSON.stringify([...inputs].sort(), null, 0)}\n`);

// Swapped in by rename: a process starting meanwhile finds the old bundle whole, or none
// (then bin/duoraft.js runs dist/cli/main.js), never half of one.
rmSync(outDir, { recursive: true, force: true });
renameSync(tmpDir, outDir);
process.stdout.write(`bundle: dist/bundle/main.js (its inputs: ${inputs.size} files) in ${Date.now() - started} ms\n`);
