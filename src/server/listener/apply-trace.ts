// When a listener applied its recent batches: the last index of each and the time, on a
// clock every process of the machine shares (CLOCK_MONOTONIC through process.hrtime). The
// bench compares these times with when the client saw each write acknowledged, so the apply
// lag it reports is the listener's own apply time, not the time a status poll happened to
// notice it. Bounded: a ring of the last `capacity` batches; `duoraft status` does not show it.

export interface AppliedBatch {
  readonly lastIndex: number;
  /** Microseconds on the machine's monotonic clock. */
  readonly atUs: number;
}

export const APPLY_TRACE_BATCHES = 256;

/** The machine's monotonic clock in microseconds (the same in every process of this machine). */
export function machineMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export class ApplyTrace {
  private readonly ring: AppliedBatch[] = [];
  private next = 0;

  constructor(
    private readonly now: () => number = machineMicros,
    private readonly capacity: number = APPLY_TRACE_BATCHES,
  ) {}

  /** A batch ending at `lastIndex` was applied just now. */
  note(lastIndex: number): void {
    const b = { lastIndex, atUs: this.now() };
    if (this.ring.length < this.capacity) this.ring.push(b);
    else this.ring[this.next] = b;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The batches held, oldest first. */
  recent(): AppliedBatch[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
