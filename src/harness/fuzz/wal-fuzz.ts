// A stopped node's local WAL, corrupted, then the node restarted. The node is SIGKILLed
// (the follower mostly, the leader sometimes, which makes the follower take over), one to
// three mutations hit its WAL folder, and it is started again. Byte-level damage (bit flips,
// truncation, zeroed ranges, garbage appended, a huge record length) is what checksums
// catch; record-level damage (a whole record duplicated, dropped or swapped, with valid
// checksums) is what only the log's own checks (indexes, the hash chain) can catch; file-level
// damage (a segment deleted, emptied, its header broken, a stray segment, the sync mark
// broken) is what recovery's bookkeeping must notice. Whatever the node decides (recover,
// set the WAL aside and rebuild, or stop with a clear error), the run then requires the
// cluster whole again with nothing acknowledged lost.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FuzzContext, RoundReport } from './context.js';
import type { FuzzRandom } from './fuzz-random.js';
import { mutateBytes } from './mutate.js';
import { concat } from './wire.js';

/** Bytes before the first record of a segment file: magic (7), sequence (8), checksum (4). */
const SEGMENT_HEADER = 19;
/** Bytes before a record's type byte: length and checksum. */
const RECORD_HEADER = 8;

type WalMutation =
  | 'flip'
  | 'truncate'
  | 'zero'
  | 'garbage-tail'
  | 'huge-length'
  | 'record-dup'
  | 'record-drop'
  | 'record-swap'
  | 'delete-segment'
  | 'empty-segment'
  | 'header'
  | 'stray-segment'
  | 'mark';

const WAL_MUTATIONS: ReadonlyArray<readonly [WalMutation, number]> = [
  ['flip', 14],
  ['truncate', 12],
  ['zero', 6],
  ['garbage-tail', 8],
  ['huge-length', 8],
  ['record-dup', 8],
  ['record-drop', 8],
  ['record-swap', 8],
  ['delete-segment', 6],
  ['empty-segment', 4],
  ['header', 4],
  ['stray-segment', 4],
  ['mark', 6],
];

/** [start, end) of each whole record in a segment file. */
function records(b: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = SEGMENT_HEADER;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (at + RECORD_HEADER <= b.length) {
    const len = view.getUint32(at, true);
    const end = at + RECORD_HEADER + len;
    if (len === 0 || end > b.length) break;
    out.push([at, end]);
    at = end;
  }
  return out;
}

async function segmentsOf(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => /^wal-\d{16}\.log$/.test(f)).sort();
}

/** One mutation of the WAL in `dir`; the words say what it did. */
async function mutateWal(r: FuzzRandom, dir: string): Promise<string> {
  const segments = await segmentsOf(dir);
  if (segments.length === 0) return 'no segment to damage';
  const kind = r.weighted(WAL_MUTATIONS);
  // The last segment (the active one) most of the time: it holds the newest entries.
  const name = r.chance(0.7) ? segments[segments.length - 1]! : r.pick(segments);
  const file = join(dir, name);
  const bytes = new Uint8Array(await readFile(file));
  const recs = records(bytes);
  const write = (b: Uint8Array): Promise<void> => writeFile(file, b);
  switch (kind) {
    case 'flip':
    case 'zero': {
      const m = mutateBytes(r, bytes, kind);
      await write(m.bytes);
      return `${name}: ${m.what}`;
    }
    case 'truncate': {
      const at = r.chance(0.5) ? Math.floor(bytes.length / 2) : r.int(bytes.length + 1);
      await write(bytes.slice(0, at));
      return `${name}: truncated to ${at} of ${bytes.length} bytes`;
    }
    case 'garbage-tail': {
      const extra = 1 + r.int(r.chance(0.8) ? 64 : 8192);
      await write(concat([bytes, r.bytes(extra)]));
      return `${name}: ${extra} random bytes appended`;
    }
    case 'huge-length': {
      if (recs.length === 0) return `${name}: no record to give a huge length`;
      const [start] = r.pick(recs);
      const len = r.pick([0xffff_ffff, 64 * 1024 * 1024 + 1, 0x7fff_ffff]);
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(start, len, true);
      await write(bytes);
      return `${name}: record at ${start} claims length ${len}`;
    }
    case 'record-dup':
    case 'record-drop':
    case 'record-swap': {
      if (recs.length < 2) return `${name}: fewer than two records`;
      const k = r.int(recs.length - 1);
      const [s1, e1] = recs[k]!;
      const [s2, e2] = recs[k + 1]!;
      const before = bytes.slice(0, s1);
      const a = bytes.slice(s1, e1);
      const b2 = bytes.slice(s2, e2);
      const after = bytes.slice(e2);
      const parts = kind === 'record-dup' ? [before, a, a, b2, after] : kind === 'record-drop' ? [before, b2, after] : [before, b2, a, after];
      await write(concat(parts));
      return `${name}: record ${k} of ${recs.length} ${kind === 'record-dup' ? 'duplicated' : kind === 'record-drop' ? 'dropped' : 'swapped with the next'} (checksums intact)`;
    }
    case 'delete-segment':
      await rm(file);
      return `${name} deleted (${segments.length} segment(s) before)`;
    case 'empty-segment':
      await write(new Uint8Array(0));
      return `${name} emptied`;
    case 'header': {
      const at = r.int(Math.min(SEGMENT_HEADER, bytes.length));
      bytes[at] = bytes[at]! ^ (1 << r.int(8));
      await write(bytes);
      return `${name}: header byte ${at} flipped`;
    }
    case 'stray-segment': {
      const last = Number(segments[segments.length - 1]!.slice(4, 20));
      const stray = `wal-${String(last + 1 + r.int(3)).padStart(16, '0')}.log`;
      await writeFile(join(dir, stray), r.chance(0.5) ? r.bytes(r.int(512)) : bytes.slice(0, SEGMENT_HEADER));
      return `stray segment ${stray} added`;
    }
    case 'mark': {
      const mark = join(dir, 'wal-synced.mark');
      if (r.chance(0.3)) {
        await rm(mark, { force: true });
        return 'sync mark deleted';
      }
      const m = await readFile(mark).catch(() => null);
      if (!m) return 'no sync mark to damage';
      const mutated = mutateBytes(r, new Uint8Array(m));
      await writeFile(mark, mutated.bytes);
      return `sync mark: ${mutated.what}`;
    }
  }
}

export async function walRound(ctx: FuzzContext): Promise<RoundReport> {
  const r = ctx.rng;
  const statuses = await ctx.cluster.statuses();
  const leader = statuses.find((s) => s.role === 'leader')?.id;
  const follower = ctx.cluster.ids().find((id) => id !== leader);
  const target = r.chance(0.7) && follower ? follower : (leader ?? r.pick(ctx.cluster.ids()));
  const role = target === leader ? 'leader' : 'follower';
  await ctx.cluster.kill(target);
  const dir = join(ctx.cluster.node(target).dataDir, 'wal');
  const what: string[] = [];
  const n = 1 + (r.chance(0.3) ? r.int(3) : 0);
  for (let k = 0; k < n; k++) what.push(await mutateWal(r, dir));
  ctx.cluster.startNode(target);
  return { summary: `${target} (${role}) SIGKILLed, its WAL damaged: ${what.join('; ')}; restarted`, counts: { mutations: n }, oddities: [] };
}
