// Shrinks a key's non-linearizable history to a few operations that still prove the
// violation, and explains them.
//
// Removing operations can change why a history fails: drop the put of "a" and a read
// of "a" fails merely because nothing wrote "a" any more. So shrinking never removes
// a write outright; it only stops trusting what the client saw of it. A candidate
// core of operations is kept as recorded, every other write is kept with its outcome
// ignored (it may take effect at any time after its call, or never), and reads
// outside the core are dropped. Each step only weakens the history, so a core that
// still fails proves the original fails, for the same reason. (The core then also
// fails on its own: fewer unknown-outcome writes only mean fewer options.)
//
// For the report, the other writes of the values the core observed come along as
// context, with their outcomes ignored, so a reader sees why they do not help.

import { type Operation, isUnknownOutcome } from './history.js';
import { searchLinearization } from './wgl-search.js';
import { shrinkFailing } from './shrink.js';
import { explainViolation } from './explain.js';
import { byCallTime } from './partition.js';

export interface Violation {
  readonly key: string;
  /** The core: operations as recorded, in invocation order. */
  readonly ops: Operation[];
  /**
   * For reference: other writes of the values the core observed, as recorded. The
   * core fails even if every other write on the key took effect at any moment
   * after its call, or never; these are the ones a reader would ask about.
   */
  readonly context: Operation[];
  /** The key's operation count before shrinking. */
  readonly originalOps: number;
  /** False when shrinking ran out of budget: the core still fails, but maybe some of it could go. */
  readonly minimal: boolean;
  readonly explanation: string;
}

export interface ShrinkBudget {
  /** Steps for each search. */
  readonly budget: number;
  /** Searches in all. */
  readonly maxChecks: number;
  /** Steps over all searches. */
  readonly maxSteps: number;
}

/** The operation with its outcome ignored: it may take effect after its call, or never. */
export function asUnknown(op: Operation): Operation {
  return isUnknownOutcome(op) && op.ret === null ? op : { ...op, ret: null, output: null };
}

/** The non-linearizable history a violation stands for: the core, and the context with outcomes ignored. */
export function violationHistory(violation: Pick<Violation, 'ops' | 'context'>): Operation[] {
  return [...violation.ops, ...violation.context.map(asUnknown)].sort(byCallTime);
}

/** ops: one key's non-linearizable history, in invocation order. */
export function describeViolation(key: string, ops: readonly Operation[], limits: ShrinkBudget): Violation {
  const writes = ops.filter((op) => op.input.kind !== 'get');
  let stepsLeft = limits.maxSteps;
  const failsWith = (core: readonly Operation[], ignored: readonly Operation[]): boolean => {
    if (stepsLeft <= 0) return false;
    const history = [...core, ...ignored.map(asUnknown)];
    const result = searchLinearization(history, { budget: Math.min(limits.budget, stepsLeft) });
    stepsLeft -= result.steps;
    return result.verdict === 'violation';
  };

  const core = shrinkFailing(
    ops,
    (candidate) => {
      // A write invoked after every recorded core response cannot affect the core.
      const horizon = Math.max(...candidate.map((op) => (isUnknownOutcome(op) ? Infinity : (op.ret ?? Infinity))));
      const inCore = new Set(candidate);
      return failsWith(
        candidate,
        writes.filter((w) => !inCore.has(w) && w.call <= horizon),
      );
    },
    limits.maxChecks,
  );

  const context = relevantWriters(core.items, writes);
  const ignored = new Map(context.map((op) => [op.id, op]));
  const checked = violationHistory({ ops: core.items, context });
  const final = searchLinearization(checked, { budget: limits.budget, trackLongest: true });
  const longest = final.verdict === 'violation' ? (final.longest ?? []) : [];
  return {
    key,
    ops: core.items,
    context,
    originalOps: ops.length,
    minimal: core.minimal && stepsLeft > 0,
    explanation: explainViolation(key, checked, ignored, longest, ops.length),
  };
}

const WRITERS_PER_VALUE = 2;

/** Up to two writes (outside the core) of each value the core's operations saw, nearest in time first. */
function relevantWriters(core: readonly Operation[], writes: readonly Operation[]): Operation[] {
  const inCore = new Set(core);
  const chosen = new Set<Operation>();
  for (const op of core) {
    for (const value of observedValues(op)) {
      const writers = writes
        .filter((w) => !inCore.has(w) && writtenValue(w) === value)
        .sort((a, b) => Math.abs(a.call - op.call) - Math.abs(b.call - op.call));
      for (const w of writers.slice(0, WRITERS_PER_VALUE)) chosen.add(w);
    }
  }
  return [...chosen].sort(byCallTime);
}

/** The values an operation's recorded outcome says the key held before it. */
function observedValues(op: Operation): string[] {
  const out = isUnknownOutcome(op) ? null : op.output;
  const input = op.input;
  if (out === null) return [];
  if (out.kind === 'get') return out.found ? [out.value] : [];
  if (out.kind === 'cas' && input.kind === 'cas') {
    if (out.ok) return input.expected === null ? [] : [input.expected];
    return out.current === undefined || out.current === null ? [] : [out.current];
  }
  if (out.kind === 'incr' && input.kind === 'incr' && out.error === undefined) {
    return [(BigInt(out.value) - BigInt(input.delta)).toString()];
  }
  return [];
}

/** The value a write leaves when it takes effect, if fixed or recorded. */
function writtenValue(op: Operation): string | null {
  const input = op.input;
  if (input.kind === 'put') return input.value;
  if (input.kind === 'cas') return input.next;
  const out = isUnknownOutcome(op) ? null : op.output;
  if (out?.kind === 'incr' && out.error === undefined) return BigInt(out.value).toString();
  return null;
}
