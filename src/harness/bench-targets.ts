// The issues' targets, judged from one suite run: what `npm run bench` prints last, so
// the README's table can be copied from a single run on the final commit instead of
// being assembled from runs at different hours and loads. Each line names the target,
// what this run measured, and whether it met it; a part that did not run is left out
// (never reported as met).
import type { SuiteResult } from './bench.js';

export interface TargetVerdict {
  readonly issue: number;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const ms = (x: number): string => `${x} ms`;

/** Every target of issues 10, 12 and 13 that this run measured. */
export function judgeTargets(r: SuiteResult): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const add = (issue: number, target: string, measured: string, met: boolean): void => {
    out.push({ issue, target, measured, met });
  };
  if (r.failover) {
    const f = r.failover;
    add(12, `SIGKILL of the leader under 4 writers, ${f.count} failovers: downtime p50 <= 100 ms, p99 <= 150 ms, 0 lost`, `p50 ${ms(f.downtimeMs.p50)}, p99 ${ms(f.downtimeMs.p99)}, ${f.lost} lost`, f.downtimeMs.p50 <= 100 && f.downtimeMs.p99 <= 150 && f.lost === 0);
  }
  if (r.netnsPartitionLeader) {
    const p = r.netnsPartitionLeader;
    add(12, `leader silently cut off from follower and ZooKeeper, ${p.count} times: the follower serves writes within 1 s (p99), 0 lost`, `p99 ${ms(p.downtimeMs.p99)}, ${p.lost} lost`, p.downtimeMs.p99 <= 1000 && p.lost === 0);
  }
  if (r.netnsPartitionVoters) {
    const p = r.netnsPartitionVoters;
    add(12, `voters silently cut off from each other for ${p.seconds} s: at most one change of leader, writes acknowledged`, `${p.leaderChanges} changes, ${p.acknowledged} writes acknowledged, ${p.lost} lost`, p.leaderChanges <= 1 && p.acknowledged > 0 && p.lost === 0);
  }
  if (r.netnsLatencyLoss) {
    const p = r.netnsLatencyLoss;
    add(12, `${p.latencyMs} ± ${p.jitterMs} ms on every link and ${p.lossPercent} % loss for ${p.seconds} s: no false failover`, `${p.falseFailovers} false failovers, ${p.lost} lost (relays at most ${p.relay.maxLateMs} ms late, their event loop held up at most ${p.relay.maxLoopStallMs} ms)`, p.falseFailovers === 0 && p.lost === 0);
  }
  if (r.steady) {
    const p = r.steady;
    add(12, `64 writers for ${p.minutes} min while another process burns a core: no false failover`, `${p.leaderChanges} leader changes, ${p.lost} lost (load average ${p.loadAverage[0]} -> ${p.loadAverage[1]})`, p.leaderChanges === 0 && p.lost === 0);
  }
  if (r.singleWriter && r.zkMultiFloor) {
    const ratio = r.singleWriter.latencyMs.p50 / r.zkMultiFloor.latencyMs.p50;
    add(12, 'one writer: p50 <= 1.5x a bare ZooKeeper multi of the same shape, same run', `${ms(r.singleWriter.latencyMs.p50)} vs ${ms(r.zkMultiFloor.latencyMs.p50)} = ${ratio.toFixed(2)}x`, ratio <= 1.5);
  }
  if (r.writers64 && r.etcd?.writers64) {
    const ratio = r.writers64.opsPerSecond / r.etcd.writers64.opsPerSecond;
    add(12, '64 writers of 256 B: >= 4x etcd writes/s, same run', `${r.writers64.opsPerSecond}/s vs ${r.etcd.writers64.opsPerSecond}/s = ${ratio.toFixed(2)}x`, ratio >= 4);
  }
  const s = r.snapshots;
  if (s?.rebuild) add(10, 'both voters wiped, rebuilt from ZooKeeper (100k keys): start to first write <= 3 s', `max ${s.rebuild.ms.max} ms (p50 ${s.rebuild.ms.p50})`, s.rebuild.ms.max <= 3000);
  if (s?.restart) add(10, `a voter restarted after ${s.restart.historyWrites} writes: caught up <= 2 s`, `max ${s.restart.ms.max} ms (p50 ${s.restart.ms.p50})`, s.restart.ms.max <= 2000);
  if (s?.stall) add(10, 'a snapshot under 64 writers adds <= 20 ms to the write p99', `+${s.stall.addedP99Ms} ms (${s.stall.snapshots} snapshots)`, s.stall.addedP99Ms <= 20);
  if (s?.failover) add(10, 'failover after a long history within 10 % of a fresh one (p50)', `${s.failover.ratioP50}x, ${s.failover.lost} lost`, s.failover.ratioP50 <= 1.1 && s.failover.lost === 0);
  if (r.listeners) {
    const withThree = r.listeners.phases.find((p) => p.listeners === 3);
    const alone = r.listeners.phases.find((p) => p.listeners === 1);
    const lagAt = (phase: typeof alone, depth: number): number | null => phase?.lag.find((l) => l.depth === depth)?.p99 ?? null;
    const d1 = [lagAt(alone, 1), lagAt(withThree, 1)].filter((x): x is number => x !== null);
    const d3 = lagAt(withThree, 3);
    if (d1.length > 0) add(13, `at ${r.listeners.rate} writes/s a depth-1 listener applies within 50 ms of the commit (p99)`, d1.map(ms).join(', '), d1.every((x) => x <= 50));
    if (d3 !== null) add(13, `at ${r.listeners.rate} writes/s a depth-3 listener applies within 150 ms (p99)`, ms(d3), d3 <= 150);
    const none = r.listeners.phases.filter((p) => p.listeners === 0).map((p) => p.leaderCpuMsPerThousandWrites);
    const some = r.listeners.phases.filter((p) => p.listeners > 0).map((p) => p.leaderCpuMsPerThousandWrites);
    if (none.length > 0 && some.length > 0) {
      // "Does not grow": no phase with listeners above the dearest phase without, plus 10 % for noise.
      const limit = Math.max(...none) * 1.1;
      add(13, "the leader's CPU per write does not grow with 1 or 3 listeners", `ms per 1,000 writes: ${r.listeners.phases.map((p) => `${p.listeners}: ${p.leaderCpuMsPerThousandWrites}`).join(', ')}`, some.every((x) => x <= limit));
    }
    const pr = r.listeners.promotion;
    if (pr.rounds.length > 0 || pr.failed !== null) {
      // From the accepted command (the wait for the destroyed voter's session to expire comes before it, and is shown).
      const figures =
        pr.rounds.length > 0
          ? `max ${ms(pr.readyMs.max)} (p50 ${ms(pr.readyMs.p50)}); refused for p50 ${ms(pr.refusedForMs.p50)} before, while the session expired; failover (the leader killed) max ${ms(pr.failoverMs.max)}; ${pr.lost} lost`
          : 'no round completed';
      add(
        13,
        `a listener promoted in place of a destroyed voter: the cluster can lose either voter within 5 s of the command (${pr.rounds.length} rounds, each then losing the voter that leads), 0 lost`,
        // A teardown that failed after the rounds is shown beside them; it does not undo what they measured.
        `${pr.failed === null ? figures : `${figures}; FAILED: ${pr.failed}`}${pr.cleanupFailed === null ? '' : `; cleaning up afterwards failed: ${pr.cleanupFailed}`}`,
        pr.failed === null && pr.readyMs.max <= 5000 && pr.lost === 0,
      );
    }
  }
  return out;
}

/** The verdicts as printable lines. */
export function targetLines(verdicts: readonly TargetVerdict[]): string[] {
  return verdicts.map((v) => `  [${v.met ? 'met' : 'NOT MET'}] issue ${v.issue}: ${v.target}: ${v.measured}`);
}
