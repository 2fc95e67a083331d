// How late the relays delivered what they carried, beyond the delay they were told to add.
//
// The relays stand in for `tc netem`, which runs in the kernel and is never held up by a
// busy machine; a relay is a user-space process, and a stall of its event loop (CPU
// starvation, GC) would hold up every link at once: a network freeze that no fault asked
// for. A bench that counts false failovers must be able to tell such a freeze from what it
// injected, so every chunk's lateness (time written minus time due) is recorded here, with
// the wall-clock time of the worst ones, to be read beside the nodes' logs. A stall also
// holds bytes in the kernel before the relay reads them, which no chunk's lateness shows
// (a chunk is due `delay` after it is read), so the relay process's event loop is timed
// too (`loopGap`).

/** The worst late deliveries kept, worst first. */
export const WORST_KEPT = 5;
/** Lateness from which a delivery counts as a stall of the relay. */
export const STALL_MS = 50;

export interface LateDelivery {
  /** Wall-clock time of the delivery (ms since the epoch, as pino's `time`). */
  readonly at: number;
  readonly lateMs: number;
  readonly relay: string;
}

export interface RelayLatenessStats {
  /** Chunks delivered. */
  readonly chunks: number;
  readonly maxLateMs: number;
  /** The longest the relay process's event loop was held up (beyond its timer's period). */
  readonly maxLoopStallMs: number;
  /** Event-loop stalls of STALL_MS or more. */
  readonly loopStalls: number;
  /** Chunks delivered STALL_MS or more after they were due. */
  readonly stalledChunks: number;
  readonly worst: readonly LateDelivery[];
}

export class RelayLateness {
  private chunks = 0;
  private maxLateMs = 0;
  private stalledChunks = 0;
  private maxLoopStallMs = 0;
  private loopStalls = 0;
  private worst: LateDelivery[] = [];

  /** One chunk went out `lateMs` after it was due. */
  record(relay: string, lateMs: number, wallNow: number): void {
    this.chunks++;
    if (lateMs > this.maxLateMs) this.maxLateMs = lateMs;
    if (lateMs < STALL_MS) return;
    this.stalledChunks++;
    this.keepWorst(relay, lateMs, wallNow);
  }

  /** The event loop's timer fired `lateMs` after it was due. */
  loopGap(lateMs: number, wallNow: number): void {
    if (lateMs > this.maxLoopStallMs) this.maxLoopStallMs = lateMs;
    if (lateMs < STALL_MS) return;
    this.loopStalls++;
    this.keepWorst('event loop', lateMs, wallNow);
  }

  private keepWorst(relay: string, lateMs: number, wallNow: number): void {
    // One stall delays many chunks at once; keep only the worst per 100 ms of wall time.
    const near = this.worst.findIndex((w) => Math.abs(w.at - wallNow) < 100);
    if (near >= 0) {
      if (this.worst[near]!.lateMs >= lateMs) return;
      this.worst.splice(near, 1);
    }
    this.worst.push({ at: wallNow, lateMs: Math.round(lateMs * 10) / 10, relay });
    this.worst.sort((a, b) => b.lateMs - a.lateMs);
    if (this.worst.length > WORST_KEPT) this.worst.length = WORST_KEPT;
  }

  stats(): RelayLatenessStats {
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    return {
      chunks: this.chunks,
      maxLateMs: round(this.maxLateMs),
      stalledChunks: this.stalledChunks,
      maxLoopStallMs: round(this.maxLoopStallMs),
      loopStalls: this.loopStalls,
      worst: [...this.worst],
    };
  }
}
