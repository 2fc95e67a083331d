// The apply lag of a listener, from what the bench saw: when the client had each write
// acknowledged, and the listener's own record of when it applied each batch (its recent
// applies, polled; server/listener/apply-trace.ts). Both times are on the machine's monotonic
// clock, so they compare across processes.
//
// The record is a ring: polls far enough apart can miss batches. An entry is only measured
// when the batch that holds it is known exactly (the batch before it was seen too); entries
// in a stretch no poll covered are counted as untraced, never guessed.

export interface TracedBatch {
  readonly lastIndex: number;
  readonly atUs: number;
}

/** Collects the batches of successive polls, noting where polls missed some. */
export class AppliedBatches {
  /** Batches seen, by last index ascending. */
  private readonly batches: TracedBatch[] = [];
  /** Index ranges (from, to] whose batches are not all known. */
  private readonly gaps: Array<{ after: number; to: number }> = [];

  /** Adds one poll's batches (oldest first). */
  add(polled: readonly TracedBatch[]): void {
    const known = this.batches[this.batches.length - 1];
    const fresh = polled.filter((b) => !known || b.lastIndex > known.lastIndex);
    if (fresh.length === 0) return;
    // The poll overlaps what is known when it still holds the newest batch seen before (or
    // an older one): then nothing between was missed.
    const overlaps = !known || polled.some((b) => b.lastIndex <= known.lastIndex);
    if (!overlaps) this.gaps.push({ after: known.lastIndex, to: fresh[0]!.lastIndex });
    else if (!known) this.gaps.push({ after: Number.NEGATIVE_INFINITY, to: fresh[0]!.lastIndex });
    this.batches.push(...fresh);
  }

  /** When the entry at `index` was applied, in microseconds; null when not known exactly (not applied yet, or in a gap). */
  appliedAt(index: number): number | null {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.batches[mid]!.lastIndex < index) lo = mid + 1;
      else hi = mid;
    }
    const b = this.batches[lo];
    if (!b) return null;
    if (this.gaps.some((g) => index > g.after && index <= g.to)) return null;
    return b.atUs;
  }
}

export interface LagSamples {
  /** Milliseconds from acknowledgement to apply, one per measured write. */
  readonly lagsMs: number[];
  /** Writes whose apply time is not known exactly (a gap between polls) or that were never applied. */
  readonly untraced: number;
  /** Writes the listener applied before the client saw the acknowledgement (counted as 0). */
  readonly beforeAck: number;
}

export function applyLags(acks: ReadonlyArray<{ readonly index: number; readonly atUs: number }>, applied: AppliedBatches): LagSamples {
  const lagsMs: number[] = [];
  let untraced = 0;
  let beforeAck = 0;
  for (const a of acks) {
    const at = applied.appliedAt(a.index);
    if (at === null) {
      untraced++;
      continue;
    }
    const ms = (at - a.atUs) / 1000;
    if (ms < 0) beforeAck++;
    lagsMs.push(Math.max(0, ms));
  }
  return { lagsMs, untraced, beforeAck };
}
