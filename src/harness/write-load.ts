// A closed-loop write load: N writers, each putting its own keys one after another, that
// records every acknowledgement (key, time, which member acknowledged it). The demo, the
// benchmark and the chaos run measure failover downtime from it: the time from a fault
// to the first write a NEW leader acknowledges, as the client sees it.
import { performance } from 'node:perf_hooks';
import type { DuoraftClient } from '../client/client.js';

export interface Ack {
  readonly key: string;
  readonly value: string;
  /** performance.now() when the acknowledgement arrived. */
  readonly at: number;
  readonly latencyMs: number;
  /** Address of the member that acknowledged it. */
  readonly by: string;
}

export interface WriteLoadOptions {
  readonly writers: number;
  readonly valueBytes: number;
  readonly prefix: string;
  /** Bound on acknowledgements kept in memory (the oldest are counted, then dropped). */
  readonly maxKeptAcks?: number;
  /** Keep only every n-th acknowledgement (default 1: all): a long load's sample, in bounded memory. */
  readonly keepEvery?: number;
  /**
   * Each writer cycles over this many keys of its own (default: a new key for every write).
   * The state then stays bounded however long the load runs; lastAckedPerKey() says which
   * write of each key was acknowledged last.
   */
  readonly keysPerWriter?: number;
}

interface Waiter {
  readonly after: number;
  readonly accept: (ack: Ack) => boolean;
  readonly resolve: (ack: Ack) => void;
}

export class WriteLoad {
  private running = false;
  private readonly acks: Ack[] = [];
  private ackCount = 0;
  private readonly errors: string[] = [];
  private errorCount = 0;
  private loops: Promise<void>[] = [];
  private waiters: Waiter[] = [];
  private readonly padding: string;
  /** With keysPerWriter: key -> the writer's sequence number n of its last acknowledged write. */
  private readonly lastAcked = new Map<string, number>();

  constructor(
    private readonly client: DuoraftClient,
    private readonly o: WriteLoadOptions,
  ) {
    this.padding = 'x'.repeat(Math.max(0, o.valueBytes - 24));
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.o.writers }, (_, w) => this.loop(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const w of this.waiters) w.resolve({ key: '', value: '', at: Number.NaN, latencyMs: Number.NaN, by: '' });
    this.waiters = [];
  }

  acknowledged(): number {
    return this.ackCount;
  }

  errorTotal(): number {
    return this.errorCount;
  }

  /** The acknowledgements kept (all of them unless keepEvery samples them or maxKeptAcks cut the oldest). */
  kept(): readonly Ack[] {
    return this.acks;
  }

  /**
   * With keysPerWriter: each key's last acknowledged write, as the writer's sequence number n
   * (its value starts `w:n:`). A later write of the key may have committed too (one that
   * failed with an unknown outcome), so a read may find a higher n, never a lower one.
   */
  lastAckedPerKey(): ReadonlyMap<string, number> {
    return this.lastAcked;
  }

  recentErrors(): readonly string[] {
    return this.errors.slice(-10);
  }

  /** The first acknowledgement after `after` (performance.now()) that `accept` takes. */
  firstAckAfter(after: number, accept: (ack: Ack) => boolean = () => true): Promise<Ack> {
    // Acks are in arrival order: walk back over those after `after`, keep the earliest match.
    let first: Ack | undefined;
    for (let j = this.acks.length - 1; j >= 0 && this.acks[j]!.at > after; j--) {
      if (accept(this.acks[j]!)) first = this.acks[j];
    }
    if (first) return Promise.resolve(first);
    return new Promise((resolve) => this.waiters.push({ after, accept, resolve }));
  }

  private async loop(w: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const key = `${this.o.prefix}-${w}-${this.o.keysPerWriter === undefined ? n : n % this.o.keysPerWriter}`;
      const value = `${w}:${n}:${this.padding}`;
      const started = performance.now();
      try {
        const r = await this.client.put(key, value);
        const at = performance.now();
        if (this.o.keysPerWriter !== undefined) this.lastAcked.set(key, n);
        this.record({ key, value, at, latencyMs: at - started, by: r.by });
      } catch (err) {
        this.errorCount++;
        this.errors.push(`${key}: ${(err as Error).message}`);
        if (this.errors.length > 100) this.errors.shift();
      }
    }
  }

  private record(ack: Ack): void {
    this.ackCount++;
    if (this.ackCount % (this.o.keepEvery ?? 1) === 0) this.acks.push(ack);
    const max = this.o.maxKeptAcks ?? Number.POSITIVE_INFINITY;
    if (this.acks.length > max) this.acks.shift();
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const wt of this.waiters) {
      if (ack.at > wt.after && wt.accept(ack)) wt.resolve(ack);
      else still.push(wt);
    }
    this.waiters = still;
  }
}

/** Bound on the reads in flight while the acknowledged writes are read back. */
const READ_BACK_CONCURRENCY = 8;

/**
 * Acknowledged writes of a load (those it kept) that a linearizable read does not find
 * with their value: the benches' "lost". A few reads at once, each write read once.
 */
export async function countLost(c: DuoraftClient, load: WriteLoad): Promise<number> {
  const acks = load.kept();
  let next = 0;
  let lost = 0;
  const reader = async (): Promise<void> => {
    while (next < acks.length) {
      const a = acks[next++]!;
      const r = await c.get(a.key);
      if (!r.found || new TextDecoder().decode(r.value) !== a.value) lost++;
    }
  };
  await Promise.all(Array.from({ length: READ_BACK_CONCURRENCY }, reader));
  return lost;
}
