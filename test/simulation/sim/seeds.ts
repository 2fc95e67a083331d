// Runs many seeds and reports each failure with the command that replays it.
import { runSimulation, type SimOptions, type SimResult } from './run.js';

export interface SeedReport {
  readonly runs: number;
  readonly failures: readonly SimResult[];
  readonly ops: number;
  readonly events: number;
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
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSimulation({ ...base, seed });
    runs++;
    ops += r.ops.acked + r.ops.unknown;
    events += r.events;
    if (!r.ok) failures.push(r);
    if (untilFailure && failures.length > 0) break;
  }
  return { runs, failures, ops, events };
}

/** A readable account of failures: seed, replay command, first violations. */
export function describeFailures(failures: readonly SimResult[], extra = ''): string {
  return failures
    .map((f) => `seed ${f.seed} (replay: ${replayCommand(f, extra)}):\n  ${f.violations.slice(0, 3).join('\n  ')}`)
    .join('\n');
}
