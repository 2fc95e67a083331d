// Acknowledgements as they arrive: throughput per time bucket, and "the first write
// acknowledged after a fault" for its downtime. Kept apart from the history so downtime is
// measured for every fault, also after the history cap.
import { performance } from 'node:perf_hooks';
import { GapMeter } from './gap-meter.js';

export interface WriteAck {
  /** performance.now() when the acknowledgement arrived. */
  readonly at: number;
  /** performance.now() when the call was made. */
  readonly call: number;
  /** Address of the member that acknowledged it (every write reply says; null for a failed call). */
  readonly by: string | null;
}

interface Waiter {
  readonly accept: (ack: WriteAck) => boolean;
  readonly resolve: (ack: WriteAck) => void;
}

export const BUCKET_MS = 250;

export class AckTracker {
  private readonly buckets: number[] = [];
  private readonly writeBuckets: number[] = [];
  private waiters: Waiter[] = [];
  readonly origin = performance.now();
  /** Every acknowledged write, for the longest write gap of each fault. */
  readonly writeGaps = new GapMeter();

  /** Any acknowledged operation (reads included), for the throughput chart. */
  onAck(at: number, isWrite: boolean): void {
    const b = Math.max(0, Math.floor((at - this.origin) / BUCKET_MS));
    // Bounded by the run's length: one number per bucket.
    while (this.buckets.length <= b) {
      this.buckets.push(0);
      this.writeBuckets.push(0);
    }
    this.buckets[b]!++;
    if (isWrite) this.writeBuckets[b]!++;
  }

  onWriteAck(ack: WriteAck): void {
    this.writeGaps.record(ack.at);
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.accept(ack)) w.resolve(ack);
      else still.push(w);
    }
    this.waiters = still;
  }

  /**
   * The first write acknowledged after `after` that shows writes flow again: a call made
   * after the fault took effect, or one answered by a member other than `suspect` (so an
   * answer the old leader sent just before it died or stalled, still in flight, does not
   * count). `callsFrom` says when the fault took effect (default: `after`); a fault that
   * takes a while to apply (nftables rules) returns Infinity until it has.
   */
  firstWriteAfter(after: number, suspect: string, callsFrom: () => number = () => after): { readonly ack: Promise<WriteAck>; cancel(): void } {
    let waiter: Waiter | undefined;
    const ack = new Promise<WriteAck>((resolve) => {
      waiter = { accept: (a) => a.at > after && (a.call > callsFrom() || (a.by !== null && a.by !== suspect)), resolve };
      this.waiters.push(waiter);
    });
    return {
      ack,
      cancel: () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
      },
    };
  }

  /** Acknowledgements per bucket: t is the bucket's start in seconds since the run began. */
  throughput(): Array<{ t: number; acks: number; writes: number }> {
    return this.buckets.map((acks, i) => ({ t: (i * BUCKET_MS) / 1000, acks, writes: this.writeBuckets[i] ?? 0 }));
  }
}
