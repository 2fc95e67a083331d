// Shrinks a failing input (delta debugging): removes items while the rest still fails.
// Generic over the item type; the checker uses it on one key's operations with
// "still not linearizable" as the failure test.

export interface ShrinkResult<T> {
  readonly items: T[];
  /** How many times the failure test ran. */
  readonly checks: number;
  /** False when the check allowance ran out before the result was 1-minimal. */
  readonly minimal: boolean;
}

/**
 * items must fail. First finds a short failing prefix by bisection (a violation
 * usually shows up early, and everything invoked after it is noise), then runs
 * ddmin on it: drop chunks, then single items, while the failure persists.
 * At most maxChecks runs of `fails`.
 */
export function shrinkFailing<T>(
  items: readonly T[],
  fails: (subset: readonly T[]) => boolean,
  maxChecks: number,
): ShrinkResult<T> {
  let checks = 0;
  const test = (subset: readonly T[]): boolean => {
    checks++;
    return fails(subset);
  };

  // Failure is not monotone in the prefix length, but `hi` only ever moves to a
  // prefix that was seen to fail, so the result fails whatever the shape.
  let lo = 1;
  let hi = items.length;
  while (lo < hi && checks < maxChecks) {
    const mid = (lo + hi) >>> 1;
    if (test(items.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  let current = items.slice(0, hi);

  let granularity = 2;
  while (current.length >= 2 && checks < maxChecks) {
    const chunks = split(current, granularity);
    let reduced = false;
    if (granularity > 2) {
      for (const chunk of chunks) {
        if (checks >= maxChecks) break;
        if (test(chunk)) {
          current = chunk;
          granularity = 2;
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      for (let i = 0; i < chunks.length && checks < maxChecks; i++) {
        const complement = chunks.filter((_, j) => j !== i).flat();
        if (test(complement)) {
          current = complement;
          granularity = Math.max(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= current.length) return { items: current, checks, minimal: true };
      granularity = Math.min(granularity * 2, current.length);
    }
  }
  return { items: current, checks, minimal: current.length < 2 };
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const chunks: T[][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const end = start + Math.floor((items.length - start) / (parts - i));
    if (end > start) chunks.push(items.slice(start, end));
    start = end;
  }
  return chunks;
}
