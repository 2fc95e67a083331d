// Runs many seeds and reports each failure with the command that replays it.
import { runSimulation, type SimOptions, type SimResult } from './run.js';

export interface SeedReport {
  readonly runs: number;
  readonly failures: readonly SimResult[];
  readonly ops: number;
  readonly events: number;
  /** Snapshot checks over all runs (a check that never runs proves nothing). */
  readonly snapshotChecks: { loaded: number; saved: number; published: number; compacted: number };
  /** Listener checks over all runs (--mix listeners). */
  readonly listenerChecks: { listeners: number; streams: number; entries: number; fedByVoter: number; fedByListener: number; fedByZooKeeper: number };
}

export function replayCommand(r: Pick<SimResult, 'seed'>, extra = ''): string {
  return `npm run sim -- --seed ${r.seed}${extra}`;
}

/**
 * Runs seeds from..from+count-1. With `untilFailure` (a broken build that must be caught) it
 * stops at the first failing seed; `runs` says how many ran.
 */
export async function runSeeds(from: number, count: number, base: Omit<SimOptions, 'seed'> = {}, untilFailure = false): Promise<SeedReport> {
  const failures: SimResult[] = [];
  let ops = 0;
  let events = 0;
  let runs = 0;
  const snapshotChecks = { loaded: 0, saved: 0, published: 0, compacted: 0 };
  const listenerChecks = { listeners: 0, streams: 0, entries: 0, fedByVoter: 0, fedByListener: 0, fedByZooKeeper: 0 };
  for (let seed = from; seed < from + count; seed++) {
    // An exception thrown out of a run (a node's code threw in an event) fails that seed.
    const r = await runSimulation({ ...base, seed }).catch((err: unknown) => thrown(seed, err));
    runs++;
    ops += r.ops.acked + r.ops.unknown;
    events += r.events;
    for (const k of ['loaded', 'saved', 'published', 'compacted'] as const) snapshotChecks[k] += r.snapshotChecks[k];
    for (const k of ['listeners', 'streams', 'entries', 'fedByVoter', 'fedByListener', 'fedByZooKeeper'] as const) listenerChecks[k] += r.listenerChecks[k];
    if (!r.ok) failures.push(r);
    if (untilFailure && failures.length > 0) break;
  }
  return { runs, failures, ops, events, snapshotChecks, listenerChecks };
}

function thrown(seed: number, err: unknown): SimResult {
  const message = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  return {
    seed,
    ok: false,
    violations: [`exception: ${message}`],
    faults: [],
    events: 0,
    virtualMs: 0,
    ops: { acked: 0, unknown: 0, failed: 0 },
    linearizable: 'unknown',
    leaderTerms: 0,
    zkLocalSessions: false,
    history: [],
    snapshotChecks: { loaded: 0, saved: 0, published: 0, compacted: 0 },
    listenerChecks: { listeners: 0, streams: 0, entries: 0, fedByVoter: 0, fedByListener: 0, fedByZooKeeper: 0 },
  };
}

/** A readable account of failures: seed, replay command, first violations. */
export function describeFailures(failures: readonly SimResult[], extra = ''): string {
  return failures
    .map((f) => `seed ${f.seed} (replay: ${replayCommand(f, extra)}):\n  ${f.violations.slice(0, 3).join('\n  ')}`)
    .join('\n');
}
