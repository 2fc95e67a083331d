// Whether this machine lets the harness build its network: Linux, root, iproute2's `ip`
// and nftables' `nft`, and the right to create a namespace and load rules into it. The
// answer is one sentence that says what is missing and how to get it, so a test that
// needs namespaces can skip with it and a command can fail with it.
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../common/errors.js';
import { run } from './commands.js';

export type NetnsSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The network-namespace harness cannot run here; the message says why and what to do. */
export class NetnsUnavailableError extends ConfigError {
  constructor(reason: string) {
    super(`network namespaces are not available: ${reason}`);
  }
}

let cached: Promise<NetnsSupport> | undefined;

/** Probes once per process (creates and deletes a namespace of its own). */
export function netnsSupport(): Promise<NetnsSupport> {
  cached ??= probe();
  return cached;
}

/** Throws NetnsUnavailableError unless the harness can run. */
export async function requireNetns(): Promise<void> {
  const s = await netnsSupport();
  if (!s.ok) throw new NetnsUnavailableError(s.reason);
}

async function probe(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `it needs Linux (this is ${process.platform})` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, reason: 'it needs root (ip netns, veth, bridge and nftables)' };
  try {
    await run('ip', ['-V']);
  } catch {
    return { ok: false, reason: 'iproute2 is missing: apt-get install -y iproute2 (or node scripts/setup.mjs --with-netns)' };
  }
  try {
    await run('nft', ['--version']);
  } catch {
    return { ok: false, reason: 'nftables is missing: apt-get install -y nftables (or node scripts/setup.mjs --with-netns)' };
  }
  const ns = `drprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', ns]);
  } catch (err) {
    return { ok: false, reason: `could not create a network namespace (${(err as Error).message})` };
  }
  try {
    await run('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'probe']);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `could not load nftables rules inside a namespace (${(err as Error).message})` };
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
