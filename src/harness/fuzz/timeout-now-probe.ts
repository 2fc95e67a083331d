// Fuzz finding 5, checked in every peer round: one forged TimeoutNow, alone, before the
// round's other messages. It is as plausible as a forger can make it: the leader's id, its
// term and the lease version ZooKeeper shows (all world-readable), to the follower. The
// follower must not take it for a hand-over, since the lease znode does not say the leader
// relinquished its lease: its log must show no transfer take-over ("taking over" with
// transfer true) in the PROBE_MS after it. Judged from the logs, not from the epoch: a real
// failover (a stall on a loaded machine) may move the epoch in that time, by the ordinary
// path, which waits out the lease window. A real transfer under way (the leader logged
// "transferring leadership" within TRANSFER_LOOKBACK_MS, left over from a client round)
// voids the judgement.
import { open, stat } from 'node:fs/promises';
import { sleep } from '../chaos/time.js';
import type { FuzzContext } from './context.js';
import type { LiveState } from './live-state.js';
import { encodePeerRequest, PeerCaller } from './peer-caller.js';

/** How long the follower's log is watched after the TimeoutNow (a transfer take-over takes a few ms). */
const PROBE_MS = 300;
const CALL_MS = 250;
/** Bound on what is read of a log in one probe. */
const MAX_READ_BYTES = 4 << 20;
/** A transfer the leader started this long before the probe may still be under way (the server gives one 3 s). */
const TRANSFER_LOOKBACK_MS = 5000;
/** How far back the leader's log is read for such a start. */
const LOOKBACK_BYTES = 256 << 10;

export interface ProbeOutcome {
  readonly summary: string;
  /** Set when the follower took the forgery for a hand-over. */
  readonly failure: string | null;
}

interface LogLine {
  readonly msg?: string;
  readonly transfer?: boolean;
  /** ISO time (pino's isoTime). */
  readonly time?: string;
}

async function sizeOf(file: string): Promise<number> {
  return stat(file).then((s) => s.size, () => 0);
}

/** The JSON lines a log gained since `from` (bounded). */
async function linesSince(file: string, from: number): Promise<LogLine[]> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return [];
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(Math.max(0, size - from), MAX_READ_BYTES);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, from);
    const out: LogLine[] = [];
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // A line cut at the read's end: not one we look for.
      }
    }
    return out;
  } finally {
    await handle.close();
  }
}

export async function probeForgedTimeoutNow(ctx: FuzzContext, s: LiveState): Promise<ProbeOutcome | null> {
  const leader = s.leader;
  const follower = s.follower;
  if (!leader || !follower || leader.role !== 'leader') return null;
  const lease = await ctx.zk.exists(ctx.view.paths.lease).catch(() => null);
  if (!lease) return null;
  const followerLog = ctx.cluster.node(follower.id).logFile;
  const leaderLog = ctx.cluster.node(leader.id).logFile;
  const [followerFrom, leaderFrom] = await Promise.all([sizeOf(followerLog), sizeOf(leaderLog)]);
  const sentAt = Date.now();
  const epochOf = (): Promise<number> => ctx.zk.exists(ctx.view.paths.epoch).then((st) => st?.version ?? -1, () => -1);
  const epochBefore = await epochOf();
  const caller = new PeerCaller(follower.address);
  try {
    const body = encodePeerRequest('TimeoutNow', { cluster: s.cluster, from: leader.id, to: follower.id, term: s.term, leaseVersion: lease.version });
    await caller.call('TimeoutNow', body, CALL_MS);
  } finally {
    caller.close();
  }
  await sleep(PROBE_MS);
  const epochAfter = await epochOf();
  const [followerLines, leaderLines] = await Promise.all([linesSince(followerLog, followerFrom), linesSince(leaderLog, Math.max(0, leaderFrom - LOOKBACK_BYTES))]);
  const tookItForHandOver = followerLines.some((l) => l.msg === 'taking over: fencing ZooKeeper' && l.transfer === true);
  const realTransfer = leaderLines.some((l) => l.msg === 'transferring leadership' && Date.parse(l.time ?? '') >= sentAt - TRANSFER_LOOKBACK_MS);
  const unconfirmed = followerLines.filter((l) => l.msg?.startsWith('hand-over not confirmed by ZooKeeper') === true).length;
  const what = `TimeoutNow forged as ${leader.id} (term ${s.term}, lease version ${lease.version}) to ${follower.id}`;
  const summary = `${what}: ${tookItForHandOver ? 'taken as a hand-over' : `${unconfirmed} "not confirmed" warning(s)`}, epoch ${epochAfter === epochBefore ? 'unchanged' : 'moved'} in ${PROBE_MS} ms${realTransfer ? ' (a real transfer was under way)' : ''}`;
  const failure = tookItForHandOver && !realTransfer ? `a ${what} made it take over as in a hand-over, without waiting out the lease window (fuzz finding 5)` : null;
  return { summary, failure };
}
