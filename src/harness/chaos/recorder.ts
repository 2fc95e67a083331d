// The history of a chaos run, as the linearizability checker reads it, plus the tallies the
// end-of-run checks need (acknowledged write-once keys, counter deltas). Bounded: after
// `cap` recorded operations it stops recording, and the clients move to keys nobody checks
// (op-mix.ts), so the recorded keys' histories stay complete.
import type { KvInput, KvOutput, Operation } from '../checker/index.js';
import type { OpSpace } from './op-mix.js';

export type Outcome =
  | { readonly type: 'ok'; readonly at: number; readonly output: KvOutput }
  /** It may have taken effect, or may still; or never. */
  | { readonly type: 'unknown'; readonly at: number }
  /** It certainly did not take effect (or it was a read): it leaves the history. */
  | { readonly type: 'failed'; readonly at: number };

export interface CallRecord {
  readonly client: number;
  readonly key: string;
  readonly space: OpSpace;
  readonly call: number;
  readonly input: KvInput;
  readonly outcome: Outcome;
  /**
   * The client retried this write after an attempt with an unknown outcome. Its session
   * makes the retry exactly-once, so it stays one operation; counted for the report.
   */
  readonly retriedAfterUnknown: boolean;
  /** False for calls on unchecked keys (after the cap). */
  readonly recorded: boolean;
}

export interface CounterTally {
  /** Sum of the deltas of acknowledged increments. */
  acked: number;
  /** Sum of the deltas of increments whose outcome is unknown. */
  unknown: number;
}

export interface OpCounts {
  readonly total: number;
  readonly acknowledged: number;
  readonly unknown: number;
  readonly failed: number;
  /** Writes the client retried (exactly-once, in their session) after an attempt with an unknown outcome. */
  readonly retriedAfterUnknownOutcome: number;
  readonly recorded: number;
  /** The history cap was reached: operations after it were not recorded (nor checked). */
  readonly historyCapped: boolean;
}

export class HistoryRecorder {
  private readonly ops: Operation[] = [];
  private nextId = 1;
  private total = 0;
  private acknowledged = 0;
  private unknown = 0;
  private failed = 0;
  private retried = 0;
  private capped = false;
  /** Write-once key -> the value its acknowledged put wrote. */
  private readonly onceAcked = new Map<string, string>();
  private readonly counters = new Map<string, CounterTally>();
  private readonly registers = new Set<string>();

  constructor(private readonly cap: number) {}

  /** Whether new calls are still recorded (calls in flight at the cap still are). */
  recording(): boolean {
    return !this.capped;
  }

  add(r: CallRecord): void {
    this.total++;
    if (r.outcome.type === 'ok') this.acknowledged++;
    else if (r.outcome.type === 'unknown') this.unknown++;
    else this.failed++;
    if (r.retriedAfterUnknown) this.retried++;
    // Acknowledged write-once puts are kept even past the cap (a key and a value each), so
    // the end-of-run read-back covers every acknowledged write of a long soak.
    if (!r.recorded) {
      if (r.space === 'once' && r.input.kind === 'put' && r.outcome.type === 'ok') this.onceAcked.set(r.key, r.input.value);
      return;
    }
    this.tally(r);
    if (r.outcome.type === 'failed') return;
    const base = { client: r.client, key: r.key, call: r.call, input: r.input };
    this.ops.push(
      r.outcome.type === 'ok'
        ? { ...base, id: this.nextId++, ret: r.outcome.at, output: r.outcome.output }
        : { ...base, id: this.nextId++, ret: null, output: null },
    );
    if (this.ops.length >= this.cap) this.capped = true;
  }

  history(): readonly Operation[] {
    return this.ops;
  }

  counts(): OpCounts {
    return {
      total: this.total,
      acknowledged: this.acknowledged,
      unknown: this.unknown,
      failed: this.failed,
      retriedAfterUnknownOutcome: this.retried,
      recorded: this.ops.length,
      historyCapped: this.capped,
    };
  }

  acknowledgedOnceKeys(): ReadonlyMap<string, string> {
    return this.onceAcked;
  }

  counterTallies(): ReadonlyMap<string, CounterTally> {
    return this.counters;
  }

  registerKeys(): readonly string[] {
    return [...this.registers];
  }

  private tally(r: CallRecord): void {
    if (r.space === 'register') this.registers.add(r.key);
    if (r.space === 'once' && r.input.kind === 'put' && r.outcome.type === 'ok') this.onceAcked.set(r.key, r.input.value);
    if (r.space === 'counter') {
      let t = this.counters.get(r.key);
      if (t === undefined) {
        t = { acked: 0, unknown: 0 };
        this.counters.set(r.key, t);
      }
      if (r.input.kind === 'incr' && r.outcome.type !== 'failed') {
        const delta = Number(r.input.delta);
        if (r.outcome.type === 'ok') t.acked += delta;
        else t.unknown += delta;
      }
    }
  }
}
