// Words for a violation: the operations, how far a linearization got, and why
// nothing could come next. Long lists are cut (a shrunk violation is short; one that
// could not be shrunk in budget may not be).

import { type Operation, isUnknownOutcome } from './history.js';
import { type KeyState, applyKv, outputMatches } from './kv-model.js';
import { formatInput, formatOperation, formatOutput, formatValue } from './format.js';
import { byCallTime } from './partition.js';

const MAX_LISTED = 40;

/**
 * ops: a non-linearizable history of one key (small: the shrunk one), in which the
 * operations with ids in `ignored` have had their outcome ignored (the map gives
 * them as recorded, for display).
 * longest: indexes into ops, the linearizable prefix that placed the most completed operations.
 */
export function explainViolation(
  key: string,
  ops: readonly Operation[],
  ignored: ReadonlyMap<number, Operation>,
  longest: readonly number[],
  originalCount: number,
): string {
  const lines: string[] = [];
  const shrunk = originalCount > ops.length ? ` (shrunk from ${originalCount} operations on this key)` : '';
  lines.push(`key ${JSON.stringify(key)}: no linearization exists for these ${plural(ops.length, 'operation')}${shrunk}:`);
  const sorted = [...ops].sort(byCallTime);
  for (const op of sorted.slice(0, MAX_LISTED)) {
    const recorded = ignored.get(op.id);
    lines.push(
      recorded === undefined
        ? `  ${formatOperation(op)}`
        : `  ${formatOperation(recorded)}   (outcome ignored: it may take effect any time after its call, or never)`,
    );
  }
  if (sorted.length > MAX_LISTED) lines.push(`  ... and ${sorted.length - MAX_LISTED} more`);

  let state: KeyState = null;
  const placed = new Set<number>();
  if (longest.length === 0) {
    lines.push('No operation can take effect first.');
  } else {
    lines.push(`Longest linearizable prefix (${plural(longest.length, 'operation')}):`);
    const shownFrom = Math.max(0, longest.length - MAX_LISTED);
    if (shownFrom > 0) lines.push(`  ... ${shownFrom} earlier operations`);
    longest.forEach((i, position) => {
      const op = at(ops, i);
      state = applyKv(state, op.input).next;
      placed.add(i);
      if (position >= shownFrom) lines.push(`  #${op.id} ${formatInput(op.input)} -> state ${formatValue(state)}`);
    });
  }

  const left = ops.map((op, i) => ({ op, i })).filter(({ i }) => !placed.has(i));
  const completedLeft = left.filter(({ op }) => !isUnknownOutcome(op));
  const deadline = Math.min(...completedLeft.map(({ op }) => op.ret ?? Number.POSITIVE_INFINITY));
  const blocking = completedLeft.find(({ op }) => op.ret === deadline)?.op;
  if (blocking !== undefined) {
    lines.push(
      `Then #${blocking.id} ${formatInput(blocking.input)} must take effect before its response at ${deadline}, ` +
        `with the key ${formatValue(state)}, but no operation invoked by then can come next:`,
    );
  }
  const candidates = left.filter(({ op }) => op.call <= deadline);
  for (const { op } of candidates.slice(0, MAX_LISTED)) {
    lines.push(`  #${op.id} ${formatInput(op.input)}: ${whyNotNext(op, state)}`);
  }
  if (candidates.length > MAX_LISTED) lines.push(`  ... and ${candidates.length - MAX_LISTED} more`);
  return lines.join('\n');
}

function whyNotNext(op: Operation, state: KeyState): string {
  const { next, output } = applyKv(state, op.input);
  if (!isUnknownOutcome(op) && op.output !== null && !outputMatches(output, op.output)) {
    return `would return ${formatOutput(output)}, but the client saw ${formatOutput(op.output)}`;
  }
  return `could run now (key becomes ${formatValue(next)}), but no order of the rest works after it`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function at(ops: readonly Operation[], i: number): Operation {
  const op = ops[i];
  if (op === undefined) throw new RangeError(`no operation at ${i}`);
  return op;
}
