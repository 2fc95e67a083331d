// Running the real `duoraft` command (bin/duoraft.js, from dist/) for the CLI tests,
// with its output kept as bytes.
import { execFile } from 'node:child_process';
import { expect } from 'vitest';
import { duoraftBin } from '../../src/harness/process-cluster.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stdin?: string | Uint8Array;
  /** Added to the environment; every DUORAFT_* variable of this process is left out. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export function runCli(args: readonly string[], o: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DUORAFT_')) env[k] = v;
  Object.assign(env, o.env ?? {});
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [duoraftBin, ...args],
      { timeout: o.timeoutMs ?? 30_000, maxBuffer: 8 << 20, encoding: 'buffer', env, ...(o.cwd ? { cwd: o.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
    child.stdin?.end(o.stdin ?? '');
  });
}

/** The stderr lines of a run that refused its configuration: exit 2, only CONFIG lines, no stack trace. */
export function configProblems(r: CliRun): string[] {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  for (const line of lines) expect(line).toMatch(/^duoraft: CONFIG: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines.map((l) => l.replace(/^duoraft: CONFIG: /, ''));
}
