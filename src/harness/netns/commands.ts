// Running `ip` and `nft` for the network-namespace harness: every call bounded in time,
// its failure an error that names the command and quotes what it printed.
import { execFile, execFileSync } from 'node:child_process';

/** No ip or nft call of ours takes anywhere near this long; a hung one is killed. */
const COMMAND_TIMEOUT_MS = 10_000;

export class NetCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command} failed: ${stderr.trim() || 'no output'}`);
    this.name = 'NetCommandError';
  }
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].join(' ');
}

/** Runs cmd with args (stdin: `input`, when given); resolves with stdout. */
export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new NetCommandError(describe(cmd, args), `${stderr}${stderr ? '' : err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Synchronous, errors ignored: for clean-up from a process 'exit' hook, where nothing async runs. */
export function runSyncQuietly(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
  } catch {
    // best effort: the resource may already be gone
  }
}

/** `ip netns exec NS nft -f -` with the script on stdin: one atomic nftables transaction. */
export function nftIn(ns: string, script: string): Promise<string> {
  return run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], script);
}
