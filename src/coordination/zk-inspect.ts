// What a cluster keeps in ZooKeeper, counted: for `duoraft zk inspect` and for the budget
// on ZooKeeper's memory (issue 10, point 8).
//
// Sizes come from stat (dataLength), never from reading a segment's or chunk's data: one
// exists() per znode, a bounded number in flight. wal/ is listed only while it has at most
// maxListedSegments children (its stat says how many, in one call): a longer list would
// exceed what ZooKeeper clients accept in one reply (1 MiB: about 37,000 names). Beyond it,
// or past the deadline, the segments' bytes are estimated from those measured (or from
// the newest few, read along the chain) and the report says so.
import type { Clock } from '../common/clock.js';
import type { ClusterPaths } from './layout.js';
import { parseSnapshotName } from './layout.js';
import { decodeTail, decodeWalHead } from './records.js';
import type { ZkSession, ZkStat } from './zk-api.js';
import { ZkError } from './zk-api.js';
import { readOrNull } from './zk-epoch-multi.js';
import { SegmentWalk } from './zk-segment-walk.js';
import { readSnapshotDir } from './zk-snapshot-list.js';

export type UsageGroup = 'root' | 'epoch' | 'leader' | 'lease' | 'tail' | 'config' | 'members' | 'wal' | 'snapshots' | 'other';

export interface GroupUsage {
  readonly znodes: number;
  readonly dataBytes: number;
  /** Some of the bytes are estimated (see the file comment). */
  readonly estimated: boolean;
}

export interface SnapshotUsage {
  readonly index: number;
  readonly state: 'complete' | 'partial' | 'corrupt';
  /** The directory, its chunks and its manifest. */
  readonly znodes: number;
  readonly dataBytes: number;
  readonly chunks: number;
  /** From the manifest (complete snapshots only). */
  readonly term?: number;
  readonly sizeBytes?: number;
}

/** A ZooKeeper session holding some of the cluster's ephemeral znodes (the leader's, the members'). */
export interface SessionUsage {
  /** The session id, hex. */
  readonly session: string;
  /** Its znodes, relative to the cluster's root ('leader', 'members/a'). */
  readonly znodes: readonly string[];
}

export interface ZkUsage {
  readonly cluster: string;
  readonly groups: Readonly<Record<UsageGroup, GroupUsage>>;
  readonly wal: {
    readonly segments: number;
    /** Data bytes of the segments (plus the wal head's few bytes). */
    readonly dataBytes: number;
    readonly estimated: boolean;
    /** Where the log in ZooKeeper starts, and the tail. */
    readonly firstSegmentIndex: number;
    readonly compactedThroughSnapshot: number;
    readonly tailLastIndex: number;
  };
  readonly snapshots: readonly SnapshotUsage[];
  /** The sessions owning the cluster's ephemeral znodes: one per live voter, normally. */
  readonly sessions: readonly SessionUsage[];
  readonly totalZnodes: number;
  readonly totalDataBytes: number;
  /** What the ZooKeeper budget counts: wal/ and snapshots/ together. */
  readonly budgetBytes: number;
  /** False when the deadline cut the count short (the rest is estimated; see the groups' `estimated`). */
  readonly complete: boolean;
  readonly elapsedMs: number;
}

export interface InspectOptions {
  readonly clock: Clock;
  /** Bound on the whole count (default 10 s): what is left is estimated. */
  readonly deadlineMs?: number;
  /** List wal/ only up to this many segments (default 20,000). */
  readonly maxListedSegments?: number;
  /** exists() calls in flight (default 32). */
  readonly concurrency?: number;
}

const DEFAULT_DEADLINE_MS = 10_000;
const DEFAULT_MAX_LISTED_SEGMENTS = 20_000;
const DEFAULT_CONCURRENCY = 32;
/** Segments read along the chain to estimate sizes when wal/ is not listed. */
const SAMPLE_SEGMENTS = 16;
/** Znodes of an unknown subtree counted at most (a foreign subtree is not ours to walk whole). */
const MAX_OTHER_ZNODES = 1_000;

const KNOWN: ReadonlyMap<string, UsageGroup> = new Map([
  ['epoch', 'epoch'],
  ['leader', 'leader'],
  ['lease', 'lease'],
  ['tail', 'tail'],
  ['config', 'config'],
  ['members', 'members'],
  ['wal', 'wal'],
  ['snapshots', 'snapshots'],
]);

class Tally {
  znodes = 0;
  dataBytes = 0;
  estimated = false;

  add(stat: ZkStat | null): void {
    if (!stat) return;
    this.znodes++;
    this.dataBytes += stat.dataLength;
  }

  usage(): GroupUsage {
    return { znodes: this.znodes, dataBytes: this.dataBytes, estimated: this.estimated };
  }
}

export async function inspectZk(zk: ZkSession, paths: ClusterPaths, o: InspectOptions): Promise<ZkUsage> {
  const started = o.clock.now();
  const deadline = started + (o.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
  const statAll = (list: readonly string[]): Promise<Array<ZkStat | null | undefined>> => statBounded(zk, list, concurrency, () => o.clock.now() >= deadline);
  const groups = new Map<UsageGroup, Tally>();
  const tally = (g: UsageGroup): Tally => {
    let t = groups.get(g);
    if (!t) groups.set(g, (t = new Tally()));
    return t;
  };
  let complete = true;
  const owners = new Map<string, string[]>();
  const owned = (name: string, stat: ZkStat | null | undefined): void => {
    if (!stat?.ephemeralOwner) return;
    const list = owners.get(stat.ephemeralOwner) ?? [];
    list.push(name);
    owners.set(stat.ephemeralOwner, list);
  };

  tally('root').add(await zk.exists(paths.root));
  const children = await zk.getChildren(paths.root);
  const singles = children.filter((c) => KNOWN.has(c) && !['members', 'wal', 'snapshots'].includes(c));
  const singleStats = await statAll(singles.map((c) => `${paths.root}/${c}`));
  singles.forEach((c, k) => {
    tally(KNOWN.get(c)!).add(singleStats[k] ?? null);
    owned(c, singleStats[k]);
  });

  // members/
  if (children.includes('members')) {
    const t = tally('members');
    t.add(await zk.exists(paths.members));
    const names = await zk.getChildren(paths.members).catch(noNodeAsEmpty);
    const stats = await statAll(names.map((n) => paths.member(n)));
    stats.forEach((s, k) => {
      t.add(s ?? null);
      owned(`members/${names[k]!}`, s);
    });
  }

  // wal/
  const wal = tally('wal');
  const walStat = await zk.exists(paths.wal);
  wal.add(walStat);
  const head = decodeWalHead(paths.wal, (await readOrNull(zk, paths.wal))?.data ?? new Uint8Array(0));
  const tail = decodeTail(paths.tail, (await zk.getData(paths.tail)).data);
  const segmentCount = walStat?.numChildren ?? 0;
  let segmentBytes = 0;
  let measured = 0;
  if (segmentCount > 0 && segmentCount <= (o.maxListedSegments ?? DEFAULT_MAX_LISTED_SEGMENTS)) {
    const names = await zk.getChildren(paths.wal).catch(noNodeAsEmpty);
    for (const s of await statAll(names.map((n) => `${paths.wal}/${n}`))) {
      if (s === undefined) complete = false;
      if (s) {
        segmentBytes += s.dataLength;
        measured++;
      }
    }
  }
  if (measured < segmentCount) {
    // Not listed, or cut short: the average of what was measured, else of the newest few.
    let sampleBytes = segmentBytes;
    let sampled = measured;
    if (sampled === 0) ({ bytes: sampleBytes, count: sampled } = await sampleNewestSegments(zk, paths, tail.segmentFirstIndex));
    const average = sampled > 0 ? sampleBytes / sampled : 0;
    segmentBytes += Math.round(average * (segmentCount - measured));
    wal.estimated = true;
  }
  wal.znodes += segmentCount;
  wal.dataBytes += segmentBytes;

  // snapshots/
  const snaps = tally('snapshots');
  snaps.add(await zk.exists(paths.snapshots));
  const snapshots: SnapshotUsage[] = [];
  const dirNames = await zk.getChildren(paths.snapshots).catch(noNodeAsEmpty);
  for (const name of dirNames.sort().reverse()) {
    const index = parseSnapshotName(name);
    const dirPath = `${paths.snapshots}/${name}`;
    if (index === null) {
      const other = await countSubtree(zk, dirPath, MAX_OTHER_ZNODES);
      snaps.znodes += other.znodes;
      snaps.dataBytes += other.dataBytes;
      continue;
    }
    const dir = await readSnapshotDir(zk, paths, index);
    if (!dir) continue;
    const dirStat = await zk.exists(dirPath);
    const kids = await zk.getChildren(dirPath).catch(noNodeAsEmpty);
    const stats = await statAll(kids.map((k) => `${dirPath}/${k}`));
    const t = new Tally();
    t.add(dirStat);
    let chunks = 0;
    kids.forEach((k, i) => {
      const s = stats[i];
      if (s === undefined) t.estimated = true;
      t.add(s ?? null);
      if (s && k.startsWith('chunk-')) chunks++;
    });
    if (t.estimated) complete = false;
    snapshots.push({
      index,
      state: dir.state,
      znodes: t.znodes,
      dataBytes: t.dataBytes,
      chunks,
      ...(dir.state === 'complete' ? { term: dir.manifest.point.term, sizeBytes: dir.manifest.sizeBytes } : {}),
    });
    snaps.znodes += t.znodes;
    snaps.dataBytes += t.dataBytes;
    snaps.estimated ||= t.estimated;
  }

  // Anything else under the root (nothing today): counted, so no bytes hide from the budget.
  for (const c of children.filter((n) => !KNOWN.has(n))) {
    const other = await countSubtree(zk, `${paths.root}/${c}`, MAX_OTHER_ZNODES);
    const t = tally('other');
    t.znodes += other.znodes;
    t.dataBytes += other.dataBytes;
    t.estimated ||= other.truncated;
  }

  const all: UsageGroup[] = ['root', 'epoch', 'leader', 'lease', 'tail', 'config', 'members', 'wal', 'snapshots', 'other'];
  const usage = Object.fromEntries(all.map((g) => [g, (groups.get(g) ?? new Tally()).usage()])) as Record<UsageGroup, GroupUsage>;
  const totalZnodes = all.reduce((n, g) => n + usage[g].znodes, 0);
  const totalDataBytes = all.reduce((n, g) => n + usage[g].dataBytes, 0);
  return {
    cluster: paths.cluster,
    groups: usage,
    wal: {
      segments: segmentCount,
      dataBytes: usage.wal.dataBytes,
      estimated: usage.wal.estimated,
      firstSegmentIndex: head.firstSegmentIndex,
      compactedThroughSnapshot: head.snapshotIndex,
      tailLastIndex: tail.lastIndex,
    },
    snapshots,
    sessions: [...owners].map(([session, znodes]) => ({ session, znodes: znodes.sort() })).sort((a, b) => a.session.localeCompare(b.session)),
    totalZnodes,
    totalDataBytes,
    budgetBytes: usage.wal.dataBytes + usage.snapshots.dataBytes,
    complete,
    elapsedMs: Math.round(o.clock.now() - started),
  };
}

/** exists() of every path, `limit` in flight; undefined for those not reached before the deadline. */
async function statBounded(zk: ZkSession, list: readonly string[], limit: number, pastDeadline: () => boolean): Promise<Array<ZkStat | null | undefined>> {
  const out = new Array<ZkStat | null | undefined>(list.length).fill(undefined);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length && !pastDeadline()) {
      const i = next++;
      out[i] = await zk.exists(list[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
  return out;
}

/** The newest segments' sizes, read back along the chain from the tail's segment. */
async function sampleNewestSegments(zk: ZkSession, paths: ClusterPaths, tailFirst: number): Promise<{ bytes: number; count: number }> {
  const walk = new SegmentWalk(zk, paths);
  let bytes = 0;
  let count = 0;
  let first = tailFirst;
  while (first > 0 && count < SAMPLE_SEGMENTS) {
    const seg = await walk.readSized(first);
    if (!seg) break;
    bytes += seg.bytes;
    count++;
    first = seg.record.prevFirstIndex;
  }
  return { bytes, count };
}

/** Znodes and data bytes of the subtree at path, at most `max` znodes (breadth first). */
async function countSubtree(zk: ZkSession, path: string, max: number): Promise<{ znodes: number; dataBytes: number; truncated: boolean }> {
  const queue = [path];
  let znodes = 0;
  let dataBytes = 0;
  while (queue.length > 0 && znodes < max) {
    const p = queue.shift()!;
    const stat = await zk.exists(p);
    if (!stat) continue;
    znodes++;
    dataBytes += stat.dataLength;
    if (stat.numChildren > 0) for (const c of await zk.getChildren(p).catch(noNodeAsEmpty)) queue.push(`${p}/${c}`);
  }
  return { znodes, dataBytes, truncated: queue.length > 0 };
}

function noNodeAsEmpty(err: unknown): string[] {
  if (err instanceof ZkError && err.code === 'NO_NODE') return [];
  throw err;
}
