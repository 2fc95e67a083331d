// The end-of-run checks:
// - lost: an acknowledged write-once put whose key does not hold its value at the end, and
//   acknowledged increments missing from a counter's final value;
// - duplicated: a counter above what its acknowledged plus unknown-outcome increments can
//   explain (some increment was applied more than once);
// - linearizable: the whole recorded history, per key, with the WGL checker.
import { performance } from 'node:perf_hooks';
import { checkLinearizable, type Operation } from '../checker/index.js';
import type { CounterTally } from './recorder.js';

export interface LostDetail {
  /** Acknowledged write-once keys missing or holding another value. */
  readonly writeOnceKeys: number;
  /** Acknowledged increments missing from the counters' final values. */
  readonly counterIncrements: number;
  /** A few of them, for the report. */
  readonly examples: readonly string[];
}

export interface DuplicatedCounter {
  readonly key: string;
  readonly final: number;
  readonly acknowledged: number;
  readonly unknown: number;
}

export interface LinearizabilityOutcome {
  /** Proven: every key has a linearization. */
  readonly linearizable: boolean;
  /** The search budget ran out on some key and no key failed: neither proven nor refuted. */
  readonly unknown: boolean;
  readonly violation?: {
    readonly key: string;
    readonly explanation: string;
    readonly failingKeys: readonly string[];
  };
  readonly partitions: number;
  readonly steps: number;
  readonly unknownKeys: readonly string[];
  readonly ms: number;
}

const MAX_EXAMPLES = 10;

export function countLost(
  acknowledgedOnce: ReadonlyMap<string, string>,
  counters: ReadonlyMap<string, CounterTally>,
  finals: ReadonlyMap<string, string | null>,
): LostDetail {
  const examples: string[] = [];
  let writeOnceKeys = 0;
  for (const [key, value] of acknowledgedOnce) {
    if (!finals.has(key)) continue; // unreadable: reported separately, never guessed
    const found = finals.get(key) ?? null;
    if (found === value) continue;
    writeOnceKeys++;
    if (examples.length < MAX_EXAMPLES) examples.push(`${key}: acknowledged ${JSON.stringify(value)}, found ${found === null ? 'nothing' : JSON.stringify(found)}`);
  }
  let counterIncrements = 0;
  for (const [key, t] of counters) {
    const final = counterValue(finals, key);
    if (final === null || final >= t.acked) continue;
    counterIncrements += t.acked - final;
    if (examples.length < MAX_EXAMPLES) examples.push(`${key}: ${t.acked} increments acknowledged, final value ${final}`);
  }
  return { writeOnceKeys, counterIncrements, examples };
}

/** Counters whose final value exceeds every increment that may have been applied once. */
export function findDuplicated(counters: ReadonlyMap<string, CounterTally>, finals: ReadonlyMap<string, string | null>): DuplicatedCounter[] {
  const out: DuplicatedCounter[] = [];
  for (const [key, t] of counters) {
    const final = counterValue(finals, key);
    if (final !== null && final > t.acked + t.unknown) out.push({ key, final, acknowledged: t.acked, unknown: t.unknown });
  }
  return out;
}

export function checkHistory(history: readonly Operation[]): LinearizabilityOutcome {
  const started = performance.now();
  const r = checkLinearizable(history);
  const ms = Math.round(performance.now() - started);
  const base = { partitions: r.partitions, steps: r.steps, unknownKeys: r.unknownKeys, ms };
  if (r.violation !== undefined) {
    return {
      ...base,
      linearizable: false,
      unknown: false,
      violation: { key: r.violation.key, explanation: r.violation.explanation, failingKeys: r.failingKeys },
    };
  }
  return { ...base, linearizable: r.ok, unknown: r.unknown };
}

/** A counter's final value: absent reads as 0 (incr starts from 0); null when unreadable or not a number. */
function counterValue(finals: ReadonlyMap<string, string | null>, key: string): number | null {
  if (!finals.has(key)) return null;
  const v = finals.get(key) ?? null;
  if (v === null) return 0;
  return /^-?[0-9]+$/.test(v) ? Number(v) : null;
}
