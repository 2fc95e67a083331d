// The longest stretch without an acknowledged write, inside a window (one fault: from its
// injection until the cluster is whole again). Constant memory: it keeps the last event
// and the longest gap so far, never the events themselves.

export class GapMeter {
  private window: { readonly start: number; last: number; longest: number } | null = null;
  private count = 0;

  /** An acknowledged write at `at` (performance.now()). */
  record(at: number): void {
    this.count += 1;
    const w = this.window;
    if (w === null || at < w.start) return;
    w.longest = Math.max(w.longest, at - w.last);
    w.last = Math.max(w.last, at);
  }

  /** Starts a window at `at`: the first gap runs from there to the first write. */
  open(at: number): void {
    this.window = { start: at, last: at, longest: 0 };
  }

  /** Ends the window at `at`; the longest gap in it, the stretch after the last write included. */
  close(at: number): number {
    const w = this.window;
    this.window = null;
    if (w === null) return 0;
    return Math.round(Math.max(w.longest, at - w.last) * 10) / 10;
  }

  /** Writes recorded in all (windows or not). */
  get recorded(): number {
    return this.count;
  }
}
