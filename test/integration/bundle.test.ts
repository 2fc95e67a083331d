// The bundle (scripts/bundle.mjs) that bin/duoraft.js runs: npm run build makes it, it is
// the same command line as the compiled code it is made from, and bin/duoraft.js never runs
// it when any file it was made from is newer. Every other integration test runs the bundle through
// bin/duoraft.js (nodes, listeners, the kv commands, chaos, watch, metrics); these checks
// say it is the bundle they ran and that it answers as dist/cli/main.js does.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/harness/package-root.js';

const root = packageRoot(import.meta.url);
const bundleMain = join(root, 'dist', 'bundle', 'main.js');
const compiledMain = join(root, 'dist', 'cli', 'main.js');

function run(entry: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = root): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 30_000, env, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bundled command line', () => {
  it('is built, and is at least as new as every file it is made from', () => {
    const built = statSync(bundleMain).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(root, 'dist', 'bundle', 'inputs.json'), 'utf8')) as string[];
    expect(inputs).toContain('dist/cli/main.js');
    expect(inputs).toContain('dist/server/node-driver.js');
    expect(inputs).toContain('node_modules/@grpc/grpc-js/package.json');
    for (const rel of inputs) expect(statSync(join(root, rel)).mtimeMs, rel).toBeLessThanOrEqual(built);
  });

  it('answers as the compiled code does: help, usage errors, a refused config, in another language and folder', () => {
    const cases = [['--help'], ['put', '--help'], ['node', '--help'], [], ['frobnicate'], ['put'], ['node', '--id', 'a', '--heartbeat-ms', 'soon'], ['config', 'check', '--id', 'a', '--listen', '127.0.0.1:1']];
    const german = { ...process.env, LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' };
    const elsewhere = mkdtempSync(join(tmpdir(), 'bundle-cwd-'));
    try {
      for (const args of cases) {
        expect(run(bundleMain, args), args.join(' ')).toEqual(run(compiledMain, args));
        expect(run(bundleMain, args, german, elsewhere), `${args.join(' ')} (LANG=de_DE, cwd elsewhere)`).toEqual(run(compiledMain, args, german, elsewhere));
      }
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('is what bin/duoraft.js runs while fresh; any newer input, even one of some 400, sends it to dist/', () => {
    // A copy of bin/ and dist/ (timestamps kept) beside a link to node_modules, whose
    // compiled entry only throws: if bin runs it, it says so.
    const dir = mkdtempSync(join(tmpdir(), 'bundle-bin-'));
    try {
      cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true, preserveTimestamps: true });
      cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true, preserveTimestamps: true, filter: (src) => !src.includes('.bundle-tmp-') });
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
      const brokenCompiled = join(dir, 'dist', 'cli', 'main.js');
      cpSync(join(root, 'test', 'integration', 'fixtures', 'throwing-entry.js'), brokenCompiled);
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(brokenCompiled, old, old);
      const bin = join(dir, 'bin', 'duoraft.js');
      const fresh = run(bin, ['--help']);
      expect(fresh.code).toBe(0);
      expect(fresh.stdout).toContain('duoraft <command>');
      // One compiled file deep in the graph is now newer than the bundle (a tsc --watch edit).
      const later = new Date(Date.now() + 3_600_000);
      utimesSync(join(dir, 'dist', 'server', 'node-driver.js'), later, later);
      const stale = run(bin, ['--help']);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('the compiled entry ran');
      // Chosen by hand, either way.
      expect(run(bin, ['--help'], { ...process.env, DUORAFT_ENTRY: 'bundle' }).code).toBe(0);
      utimesSync(join(dir, 'dist', 'server', 'node-driver.js'), old, old);
      expect(run(bin, ['--help']).code).toBe(0);
      expect(run(bin, ['--help'], { ...process.env, DUORAFT_ENTRY: 'dist' }).stderr).toContain('the compiled entry ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
