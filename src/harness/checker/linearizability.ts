// Is a recorded key-value history linearizable? Checks each key on its own with the
// memoized WGL search, and for a failure reports the smallest failing key with its
// operations shrunk to a handful and explained.

import { type Operation, validateHistory } from './history.js';
import { partitionByKey } from './partition.js';
import { searchLinearization } from './wgl-search.js';
import { type Violation, describeViolation } from './violation.js';

export type { Violation } from './violation.js';

/** Enough for typical partitions of tens of thousands of operations; pathological ones answer 'unknown'. */
export const DEFAULT_STEP_BUDGET_PER_KEY = 2_000_000;
export const DEFAULT_MAX_SHRINK_CHECKS = 400;
/** Steps allowed for all the searches of one key's shrinking together. */
export const DEFAULT_MAX_SHRINK_STEPS = 20_000_000;
export const DEFAULT_PARTITIONS_TO_SHRINK = 3;

export interface CheckOptions {
  /** Search steps allowed per key (and per shrink check) before the key counts as unknown. */
  readonly stepBudgetPerKey?: number;
  /** Runs of the search allowed while shrinking one failing key. */
  readonly maxShrinkChecks?: number;
  /** Search steps allowed, over all those runs, while shrinking one failing key. */
  readonly maxShrinkSteps?: number;
  /** How many of the smallest failing keys to shrink before picking the smallest result. */
  readonly partitionsToShrink?: number;
}

export interface CheckResult {
  /** Every key is linearizable. */
  readonly ok: boolean;
  /** Some key ran out of its step budget: neither proved nor refuted (ok is false then). */
  readonly unknown: boolean;
  /** Number of keys checked. */
  readonly partitions: number;
  /** The failing key with the fewest operations after shrinking, if any key failed. */
  readonly violation?: Violation;
  readonly failingKeys: string[];
  readonly unknownKeys: string[];
  /** Search steps over all keys (shrinking not included). */
  readonly steps: number;
  /** The most steps one key took. */
  readonly maxStepsPerKey: number;
}

export function checkLinearizable(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const problems = validateHistory(history);
  if (problems.length > 0) {
    throw new RangeError(`malformed history (${problems.length} problems): ${problems.slice(0, 5).join('; ')}`);
  }
  const budget = options.stepBudgetPerKey ?? DEFAULT_STEP_BUDGET_PER_KEY;
  const partitions = partitionByKey(history);
  const failing: { key: string; ops: Operation[]; steps: number }[] = [];
  const unknownKeys: string[] = [];
  let steps = 0;
  let maxStepsPerKey = 0;
  for (const [key, ops] of partitions) {
    const result = searchLinearization(ops, { budget });
    steps += result.steps;
    maxStepsPerKey = Math.max(maxStepsPerKey, result.steps);
    if (result.verdict === 'violation') failing.push({ key, ops, steps: result.steps });
    else if (result.verdict === 'unknown') unknownKeys.push(key);
  }

  const base = {
    partitions: partitions.size,
    failingKeys: failing.map((f) => f.key),
    unknownKeys,
    steps,
    maxStepsPerKey,
  };
  if (failing.length === 0) return { ...base, ok: unknownKeys.length === 0, unknown: unknownKeys.length > 0 };

  // Shrinking costs many searches, so only the few smallest failing keys get it.
  const candidates = [...failing]
    .sort((a, b) => a.ops.length - b.ops.length || compareStrings(a.key, b.key))
    .slice(0, Math.max(1, options.partitionsToShrink ?? DEFAULT_PARTITIONS_TO_SHRINK));
  let best: Violation | undefined;
  for (const { key, ops, steps: found } of candidates) {
    const violation = describeViolation(key, ops, {
      // A subset rarely needs much more search than the whole; one that does is kept whole.
      budget: Math.min(budget, Math.max(100_000, 4 * found)),
      maxChecks: options.maxShrinkChecks ?? DEFAULT_MAX_SHRINK_CHECKS,
      maxSteps: options.maxShrinkSteps ?? DEFAULT_MAX_SHRINK_STEPS,
    });
    const size = violation.ops.length + violation.context.length;
    if (best === undefined || size < best.ops.length + best.context.length) best = violation;
  }
  return { ...base, ok: false, unknown: unknownKeys.length > 0, violation: best };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
