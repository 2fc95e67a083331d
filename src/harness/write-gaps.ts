// Write gaps: every stretch in which no write was acknowledged for at least `minGapMs`,
// as a load's clients saw it. Built on the chaos run's downtime primitive
// (AckTracker.firstWriteAfter, "the first write acknowledged after T"), asked again after
// every acknowledgement: a gap is the time from one acknowledged write to the next.
//
// For `duoraft watch`, which runs a load against a cluster whose faults come from outside
// (docker/chaos/*.sh) and so cannot know when a fault began: the gap starts at the last
// write acknowledged before the fault, which is as close to the fault as the client can see.
import { performance } from 'node:perf_hooks';
import type { AckTracker, WriteAck } from './chaos/ack-tracker.js';

export interface WriteGap {
  /** From the last write acknowledged before the gap to the first one after it. */
  readonly ms: number;
  /** Wall clock (ms since the epoch) of those two acknowledgements, for matching with a fault's time. */
  readonly fromMs: number;
  readonly toMs: number;
  /** The members that acknowledged them (null where the reply does not say). */
  readonly lastBy: string | null;
  readonly nextBy: string | null;
}

/** performance.now() to wall-clock ms: the same clock every process on the machine (and its containers) reads. */
export function wallClockMs(at: number): number {
  return Math.round(performance.timeOrigin + at);
}

export class WriteGapFollower {
  private running = true;
  private last: WriteAck | null = null;
  private longest = 0;
  private count = 0;
  private readonly loop: Promise<void>;
  private cancelWait: () => void = () => undefined;
  private wake: () => void = () => undefined;

  /**
   * @param since performance.now() from which on acknowledgements count (the load's start):
   *   a gap before the first acknowledgement is not reported.
   */
  constructor(
    private readonly acks: AckTracker,
    private readonly minGapMs: number,
    private readonly onGap: (gap: WriteGap) => void,
    since: number = performance.now(),
  ) {
    this.loop = this.follow(since);
  }

  /** The time since the last acknowledged write (0 before the first). */
  sinceLastWriteMs(now: number = performance.now()): number {
    return this.last === null ? 0 : Math.max(0, now - this.last.at);
  }

  /** Gaps reported so far, and the longest of them. */
  stats(): { readonly gaps: number; readonly longestMs: number } {
    return { gaps: this.count, longestMs: Math.round(this.longest) };
  }

  /** Stops following; a gap still open then is not reported (it has no end). */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelWait();
    this.wake();
    await this.loop;
  }

  private async follow(since: number): Promise<void> {
    let after = since;
    while (this.running) {
      // Any write counts: the suspect and the call-time rules of a fault's downtime do not
      // apply, since no fault time is known here.
      const next = this.acks.firstWriteAfter(after, '', () => Number.NEGATIVE_INFINITY);
      this.cancelWait = next.cancel;
      const stopped = new Promise<null>((resolve) => {
        this.wake = () => resolve(null);
      });
      const ack = await Promise.race([next.ack, stopped]);
      next.cancel();
      if (ack === null) break;
      const last = this.last;
      if (last !== null && ack.at - last.at >= this.minGapMs) {
        const ms = ack.at - last.at;
        this.count++;
        this.longest = Math.max(this.longest, ms);
        this.onGap({ ms: Math.round(ms * 10) / 10, fromMs: wallClockMs(last.at), toMs: wallClockMs(ack.at), lastBy: last.by, nextBy: ack.by });
      }
      this.last = ack;
      after = ack.at;
    }
  }
}
