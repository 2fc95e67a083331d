// Znode values corrupted in a real ZooKeeper under a running or restarting cluster: epoch,
// tail, lease, leader, config, members/<id> and segment znodes get garbage ("XXXX", random
// bytes, nothing), bit flips, truncation, field-level mutations of their sealed wrapper or
// segment header (another kind, another format version, a repeated or dropped field, an
// absurd number), or another znode's record. The value stays for a while (under load; with
// "restarting", a node is SIGKILLed, sometimes with its disk wiped, and started against it),
// then it is put back unless a node rewrote it meanwhile (the lease every few ms, the epoch
// on a new term). A corrupt value must be refused (CORRUPT_ZNODE naming it), never
// believed; the run then requires the cluster whole again with nothing acknowledged lost.
import { rm, mkdir } from 'node:fs/promises';
import type { FuzzContext, RoundReport } from './context.js';
import type { FuzzRandom } from './fuzz-random.js';
import { mutate, mutateBytes } from './mutate.js';

type ZnodeKind = 'epoch' | 'tail' | 'lease' | 'leader' | 'config' | 'member' | 'segment';

const KINDS: ReadonlyArray<readonly [ZnodeKind, number]> = [
  ['epoch', 16],
  ['tail', 16],
  ['lease', 12],
  ['leader', 12],
  ['config', 10],
  ['member', 10],
  ['segment', 16],
];

/** How long a corrupt value stays before it is put back (ms). */
const HOLD_MS: readonly [number, number] = [200, 1500];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function pathOf(ctx: FuzzContext, kind: ZnodeKind): Promise<string | null> {
  const p = ctx.view.paths;
  switch (kind) {
    case 'epoch':
    case 'tail':
    case 'lease':
    case 'leader':
    case 'config':
      return p[kind];
    case 'member':
      return p.member(ctx.rng.pick(ctx.cluster.ids()));
    case 'segment': {
      const names = (await ctx.zk.getChildren(p.wal)).filter((n) => n.startsWith('seg-')).sort();
      if (names.length === 0) return null;
      // The newest segment (what a take-over replays) or any older one.
      const name = ctx.rng.chance(0.5) ? names[names.length - 1]! : ctx.rng.pick(names);
      return `${p.wal}/${name}`;
    }
  }
}

/** A corrupt version of `value` (the znode's current bytes); `other` is another znode's value. */
function corrupt(r: FuzzRandom, value: Uint8Array, other: Uint8Array | null): { bytes: Uint8Array; what: string } {
  const choice = r.weighted<'xxxx' | 'random' | 'empty' | 'bytes' | 'fields' | 'other'>([
    ['xxxx', 10],
    ['random', 8],
    ['empty', 6],
    ['bytes', 30],
    ['fields', 36],
    ['other', other ? 10 : 0],
  ]);
  switch (choice) {
    case 'xxxx':
      return { bytes: new TextEncoder().encode('XXXX'), what: '"XXXX"' };
    case 'random': {
      const n = r.int(200);
      return { bytes: r.bytes(n), what: `${n} random bytes` };
    }
    case 'empty':
      return { bytes: new Uint8Array(0), what: 'empty' };
    case 'bytes':
      return mutateBytes(r, value);
    case 'fields':
      return mutate(r, value, { maxFieldBytes: 4096, maxRepeats: 100 });
    case 'other':
      return { bytes: other!, what: "another znode's record" };
  }
}

export async function znodeRound(ctx: FuzzContext): Promise<RoundReport> {
  const r = ctx.rng;
  const kind = r.weighted(KINDS);
  const path = await pathOf(ctx, kind);
  if (!path) return { summary: `no ${kind} znode to corrupt`, counts: {}, oddities: [] };
  let original: { data: Uint8Array; version: number };
  try {
    const got = await ctx.zk.getData(path);
    original = { data: got.data, version: got.stat.version };
  } catch (err) {
    return { summary: `${path} unreadable (${(err as Error).message}); nothing done`, counts: {}, oddities: [] };
  }
  const otherPath = r.pick([ctx.view.paths.epoch, ctx.view.paths.tail, ctx.view.paths.lease, ctx.view.paths.config].filter((p) => p !== path));
  const other = await ctx.zk.getData(otherPath).then((g) => g.data, () => null);
  const bad = corrupt(r, original.data, other);
  const written = await ctx.zk.setData(path, bad.bytes, original.version).catch((err: Error) => err);
  if (written instanceof Error) return { summary: `${path} changed before it could be corrupted (${written.message}); nothing done`, counts: {}, oddities: [] };
  const notes: string[] = [];
  if (r.chance(0.35)) {
    // A node (re)starts against the corrupt value, sometimes with an empty disk.
    const id = r.pick(ctx.cluster.ids());
    const wipe = r.chance(0.4);
    await ctx.cluster.kill(id);
    if (wipe) {
      const dir = ctx.cluster.node(id).dataDir;
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
    }
    ctx.cluster.startNode(id);
    notes.push(`${id} restarted${wipe ? ' with an empty disk' : ''} against it`);
  }
  const hold = r.between(HOLD_MS[0], HOLD_MS[1]);
  await sleep(hold);
  // Put it back, unless a node has written it since (then what it wrote stands).
  const now = await ctx.zk.exists(path).catch(() => null);
  let restored = 'left as the cluster rewrote it';
  if (now && now.version === written.version) {
    const back = await ctx.zk.setData(path, original.data, written.version).catch((err: Error) => err);
    restored = back instanceof Error ? `not restored (${back.message})` : 'restored';
  } else if (!now) restored = 'gone (an ephemeral znode its owner replaced or dropped)';
  return {
    summary: `${path.slice(path.indexOf('/', 9) + 1)} <- ${bad.what} for ${hold} ms${notes.length ? `; ${notes.join('; ')}` : ''}; ${restored}`,
    counts: { [`${kind}:${restored.split(' ')[0]}`]: 1 },
    oddities: [],
  };
}
