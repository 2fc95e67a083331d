// The bundle (scripts/bundle.mjs) that bin/duoraft.js runs: npm run build makes it, it is
// the same command line as the compiled code it is made from, and bin/duoraft.js never runs
// it when it is older than that code. Every other integration test runs the bundle through
// bin/duoraft.js (nodes, listeners, the kv commands, chaos, watch, metrics); these checks
// say it is the bundle they ran and that it answers as dist/cli/main.js does.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/harness/package-root.js';

const root = packageRoot(import.meta.url);
const bundleMain = join(root, 'dist', 'bundle', 'main.js');
const compiledMain = join(root, 'dist', 'cli', 'main.js');

function run(entry: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bundled command line', () => {
  it('is built, and is at least as new as the compiled code it is made from', () => {
    expect(statSync(bundleMain).mtimeMs).toBeGreaterThanOrEqual(statSync(compiledMain).mtimeMs);
  });

  it('answers as the compiled code does: help, a usage error, a refused config', () => {
    for (const args of [['--help'], ['put', '--help'], ['node', '--help'], [], ['frobnicate'], ['put'], ['node', '--id', 'a', '--heartbeat-ms', 'soon'], ['config', 'check', '--id', 'a', '--listen', '127.0.0.1:1']]) {
      const fromBundle = run(bundleMain, args);
      const fromDist = run(compiledMain, args);
      expect(fromBundle, args.join(' ')).toEqual(fromDist);
    }
  });

  it('is what bin/duoraft.js runs when it is fresh, and not when dist/cli is newer', () => {
    // A copy of bin/ and dist/ inside the package folder (yaml and testcontainers, left out
    // of the bundle, resolve from node_modules above it), whose compiled entry only throws.
    const dir = mkdtempSync(join(root, 'dist', '.bundle-test-'));
    try {
      cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
      cpSync(join(root, 'dist', 'cli'), join(dir, 'dist', 'cli'), { recursive: true });
      cpSync(join(root, 'dist', 'bundle'), join(dir, 'dist', 'bundle'), { recursive: true });
      // Break the copy's compiled entry: only the bundle can answer.
      const brokenCompiled = join(dir, 'dist', 'cli', 'main.js');
      cpSync(join(root, 'test', 'integration', 'fixtures', 'throwing-entry.js'), brokenCompiled);
      const old = new Date(Date.now() - 60_000);
      utimesSync(brokenCompiled, old, old);
      const fresh = run(join(dir, 'bin', 'duoraft.js'), ['--help']);
      expect(fresh.code).toBe(0);
      expect(fresh.stdout).toContain('duoraft');
      // Now the compiled code is newer than the bundle: bin must run it (and fail with its error).
      const now = new Date(Date.now() + 60_000);
      utimesSync(brokenCompiled, now, now);
      const stale = run(join(dir, 'bin', 'duoraft.js'), ['--help']);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('the compiled entry ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
