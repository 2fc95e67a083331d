// The upstreams a listener may use, kept in its data folder (DATA/listener-upstreams.json)
// so that a restarted listener can find an upstream before (or without) reading members/
// in ZooKeeper: the members it saw (id and address), newest first, at most MAX_UPSTREAMS.
// Written like the identity file: temp file, fsync, rename, directory fsync. A damaged file
// is reported and ignored (the list is a hint; ZooKeeper's members/ is the truth).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { isValidMemberId } from '../../coordination/layout.js';
import { parseHostPort } from '../../common/host-port.js';
import { writeFileDurably } from '../../storage/durable-file.js';

export const UPSTREAM_LIST_FILE = 'listener-upstreams.json';
export const MAX_UPSTREAMS = 64;

export interface KnownUpstream {
  readonly id: string;
  readonly address: string;
}

export function upstreamListPath(dataDir: string): string {
  return join(dataDir, UPSTREAM_LIST_FILE);
}

/** The list on record (empty when there is none or it does not parse). */
export async function readUpstreamList(dataDir: string, logger: Logger): Promise<KnownUpstream[]> {
  const file = upstreamListPath(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const list = (parsed as { upstreams?: unknown }).upstreams;
    if (!Array.isArray(list)) throw new Error('no upstreams array');
    const out: KnownUpstream[] = [];
    for (const u of list.slice(0, MAX_UPSTREAMS)) {
      const id = (u as { id?: unknown }).id;
      const address = (u as { address?: unknown }).address;
      if (typeof id !== 'string' || typeof address !== 'string' || !isValidMemberId(id) || 'problem' in parseHostPort(address)) throw new Error(`bad entry ${JSON.stringify(u)}`);
      out.push({ id, address });
    }
    return out;
  } catch (err) {
    logger.warn({ file, err: (err as Error).message }, 'the listener\'s list of upstreams does not parse; ignoring it (members/ in ZooKeeper is read instead)');
    return [];
  }
}

/** Merges what was seen now with the list (newest first, one entry per id, bounded). */
export function mergeUpstreams(seen: readonly KnownUpstream[], known: readonly KnownUpstream[]): KnownUpstream[] {
  const out: KnownUpstream[] = [];
  const ids = new Set<string>();
  for (const u of [...seen, ...known]) {
    if (ids.has(u.id)) continue;
    ids.add(u.id);
    out.push(u);
    if (out.length >= MAX_UPSTREAMS) break;
  }
  return out;
}

export function sameUpstreams(a: readonly KnownUpstream[], b: readonly KnownUpstream[]): boolean {
  return a.length === b.length && a.every((u, i) => u.id === b[i]?.id && u.address === b[i]?.address);
}

/** Records the list durably (temp file, fsync, rename, directory fsync). */
export async function writeUpstreamList(dataDir: string, upstreams: readonly KnownUpstream[]): Promise<void> {
  await writeFileDurably(upstreamListPath(dataDir), JSON.stringify({ version: 1, upstreams: upstreams.slice(0, MAX_UPSTREAMS) }, null, 1));
}
