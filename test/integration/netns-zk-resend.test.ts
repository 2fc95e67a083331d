// The cause of the false failover of netns-latency-loss (notes/results.md, "The false
// failover of this run"): a segment on the leader's ZooKeeper connection is lost and so is
// its resend, so the leader hears nothing from ZooKeeper for ~600 ms (Linux resends after
// its minimum RTO, 200 ms, then 400 ms later) while it still reaches its follower. Its
// lease lapses; a lapsed leader must stay audible past that second resend, or its follower
// takes over although only loss happened (TCP_LOSS_RECOVERY_MS, src/server/node-config.ts).
//
// The loss is made deterministic by a silent cut of the leader from ZooKeeper only, longer
// than one RTO and shorter than the second resend: every packet of the first resend falls
// in the cut, the second one (~600 ms after the first loss) gets through. The test asserts
// no change of leader, and, to keep the claim sharp, that the cut (timed inside the leader's
// namespace) was in force longer than the old 300 ms of audibility: a cut too short to matter
// fails it. The leader's lease lapses and renewals (its log) are printed, not asserted: under
// load its lease also lapses before the cut (touches answered later than D), and log lines
// can reach the harness late.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitSettled } from '../../src/harness/chaos/settle.js';
import { LeaderChangeCounter } from '../../src/harness/leader-changes.js';
import { NetnsCluster } from '../../src/harness/netns/index.js';
import type { BriefBlock } from '../../src/harness/netns/firewall.js';
import { STEADY_MESSAGES } from '../../src/harness/steady-log-stats.js';
import { type LocalZooKeeper, startZooKeeper } from '../../src/harness/zk-launcher.js';
import { sleep, uniqueCluster } from './helpers.js';
import { endLoad, finishLoad, netnsSkipReason, netnsTitle, SAFE, safety, startCheckedLoad, writesPerSecond } from './netns-helpers.js';

/** Past the first resend (~200 ms after the first lost segment), before the second (~600 ms). */
const CUT_MS = 400;
/** How long a lapsed leader stayed audible before the fix: the cut must outlast it. */
const OLD_LAPSE_SILENCE_MS = 300;
/** Linux's second resend of a lost segment (200 ms minimum RTO, then 400 ms): the cut must end before it. */
const SECOND_RESEND_MS = 600;
/** Watched after the heal: a follower that took over would have done so well within this. */
const AFTER_HEAL_MS = 3_000;
const RENEWED = 'lease renewed after a lapse';

interface LeaseEvent {
  readonly id: string;
  /** The node's own time stamp of the line (wall clock, ms): lines reach the harness late and in bursts. */
  readonly at: number;
  readonly msg: string;
  readonly lapsedMs?: number;
}

/** The leaders' lease lapses and renewals, from the nodes' JSON log lines. */
function leaseEvents(): { events: LeaseEvent[]; onLine: (id: string, line: string) => void } {
  const events: LeaseEvent[] = [];
  const onLine = (id: string, line: string): void => {
    if (!line.includes('lease')) return;
    let f: unknown;
    try {
      f = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof f !== 'object' || f === null) return;
    const rec = f as Record<string, unknown>;
    const msg = rec['msg'];
    const at = typeof rec['time'] === 'string' ? Date.parse(rec['time']) : Number.NaN;
    if ((msg !== STEADY_MESSAGES.leaseLapsed && msg !== RENEWED) || Number.isNaN(at)) return;
    const lapsedMs = rec['lapsedMs'];
    // Bounded: a lapse and a renewal per cut, a handful from start-up.
    if (events.length < 1000) events.push({ id, at, msg, ...(typeof lapsedMs === 'number' ? { lapsedMs } : {}) });
  };
  return { events, onLine };
}

let zk: LocalZooKeeper | undefined;

beforeAll(async () => {
  if (netnsSkipReason === null) zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describe.skipIf(netnsSkipReason !== null)(netnsTitle('network namespaces: the leader cut from ZooKeeper across two TCP resends'), () => {
  it(`a ${CUT_MS} ms cut (past the old ${OLD_LAPSE_SILENCE_MS} ms of audibility) changes no leader; writes resume, nothing lost, linearizable`, async () => {
    const name = uniqueCluster('ns-resend');
    const { events, onLine } = leaseEvents();
    const nc = await NetnsCluster.start({ zk: zk!.connectString, cluster: name, onLine });
    const counter = await LeaderChangeCounter.open(zk!.connectString, name);
    const load = await startCheckedLoad(zk!.connectString, name, 17);
    let leader = '';
    let leaderAfter = '';
    let changes = -1;
    let cut: BriefBlock | undefined;
    let perSecond: number[] = [];
    try {
      ({ leader } = await waitSettled(nc.cluster, 20_000, 'start-up'));
      await sleep(500);
      load.setGeneration(1);
      const before = await counter.fences();
      cut = await nc.faults.cutFromZkBriefly(leader, CUT_MS);
      const healAt = performance.now();
      await sleep(AFTER_HEAL_MS);
      changes = (await counter.fences()) - before;
      perSecond = writesPerSecond(load.acks.throughput(), load.acks.origin, healAt, healAt + AFTER_HEAL_MS);
      ({ leader: leaderAfter } = await waitSettled(nc.cluster, 30_000, 'after the heal'));
      await finishLoad(load, nc.cluster);
    } finally {
      await endLoad(load);
      await counter.close();
      await nc.stop();
    }
    const v = load.verdict();
    const c = cut!;
    // The lapse in force when the cut was lifted: under load the lease also lapses for a few
    // ms now and then (event-loop stalls), so it may have lapsed just before the cut.
    const ofLeader = events.filter((e) => e.id === leader);
    const lapsed = ofLeader.filter((e) => e.msg === STEADY_MESSAGES.leaseLapsed && e.at <= c.endingAt).at(-1);
    const renewed = lapsed ? ofLeader.find((e) => e.msg === RENEWED && e.at >= lapsed.at) : undefined;
    const rel = (e: LeaseEvent | undefined): string => (e ? `+${e.at - c.startedAt} ms` : 'never');
    process.stdout.write(
      `netns zk resend: leader ${leader} cut from ZooKeeper for ${c.endingAt - c.inForceAt}-${c.endedAt - c.startedAt} ms ` +
        `(in force +${c.inForceAt - c.startedAt}, lifted +${c.endingAt - c.startedAt}..+${c.endedAt - c.startedAt} ms); lease lapsed ${rel(lapsed)}, ` +
        `renewed ${rel(renewed)} (lapsed ${renewed?.lapsedMs ?? '-'} ms); ${changes} leader changes, leader after: ${leaderAfter}; ` +
        `writes per second after the heal ${perSecond.join(' ')}; ${JSON.stringify(safety(v))}\n`,
    );
    // The claim is sharp only if the cut mattered: in force longer than a lapsed leader used
    // to stay audible (the leader hears nothing from ZooKeeper at least that long), and lifted
    // before the second resend, so that one gets through (two resends, not three).
    expect(c.endingAt - c.inForceAt).toBeGreaterThan(OLD_LAPSE_SILENCE_MS);
    expect(c.endedAt - c.startedAt).toBeLessThan(SECOND_RESEND_MS);
    expect(changes).toBe(0);
    expect(leaderAfter).toBe(leader);
    // Writes acknowledged again after the heal, and still by its last second. Not in every
    // second: writes held past the lapse silence are failed (UNKNOWN_OUTCOME) and their
    // clients back off, which on a loaded machine emptied the first second once.
    expect(perSecond.length).toBe(AFTER_HEAL_MS / 1000);
    expect(perSecond.at(-1)).toBeGreaterThan(0);
    expect(safety(v)).toEqual(SAFE);
  });
});
