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

export async function runSeeds(from: number, count: number, base: Omit<SimOptions, 'seed'> = {}): Promise<SeedReport> {
  const failures: SimResult[] = [];
  let ops = 0;
  let events = 0;
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSimulation({ ...base, seed });
    ops += r.ops.acked + r.ops.unknown;
    events += r.events;
    if (!r.ok) failures.push(r);
  }
  return { runs: count, failures, ops, events };
}

/** A readable account of failures: seed, replay command, first violations. */
export function describeFailures(failures: readonly SimResult[], extra = ''): string {
  return failures
    .map((f) => `seed ${f.seed} (replay: ${replayCommand(f, extra)}):\n  ${f.violations.slice(0, 3).join('\n  ')}`)
    .join('\n');
}
