// What each client does next: a seeded choice over a small key space shared by at most
// CLIENTS_PER_KEY_GROUP clients, so the checker's per-key searches stay small.
//
// Key spaces:
// - registers `reg-g<group>-<k>-f<gen>`: put (values unique per operation), get
//   (linearizable or lease), del, and compare-and-set expecting the value this client
//   last saw there (so it succeeds often enough to matter);
// - counters `ctr-g<group>-<k>-f<gen>`: incr by 1 and get; never put or deleted, so the
//   final value bounds how often increments were applied;
// - write-once keys `once-c<client>-<n>`: one put each, never overwritten or deleted, so
//   every acknowledged one must be found at the end.
// `gen` is the number of faults injected so far: every fault starts new registers and
// counters, so each key's history spans about one fault and stays quick to check.
// After the history cap, keys get an `x-` prefix: load goes on, on keys nobody checks.
import { SeededRandom } from '../../core/random.js';
import { CLIENTS_PER_KEY_GROUP } from './options.js';

export type OpSpace = 'register' | 'counter' | 'once';

export type PlannedOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string; readonly space: 'register' | 'once' }
  | { readonly kind: 'get'; readonly key: string; readonly space: OpSpace; readonly consistency: 'linearizable' | 'lease' }
  | { readonly kind: 'del'; readonly key: string; readonly space: 'register' }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string; readonly space: 'register' }
  | { readonly kind: 'incr'; readonly key: string; readonly delta: number; readonly space: 'counter' };

/** Keys used after the history cap start with this: nobody checks their history. */
export const UNCHECKED_PREFIX = 'x-';

export const REGISTERS_PER_GROUP = 3;
export const COUNTERS_PER_GROUP = 2;

/** Percent weights of each choice; they add up to 100. */
const MIX = [
  ['put-register', 18],
  ['get-register', 20],
  ['lease-get-register', 8],
  ['del-register', 4],
  ['cas-register', 8],
  ['incr-counter', 15],
  ['get-counter', 5],
  ['put-once', 18],
  ['get-once', 5],
] as const;

type Choice = (typeof MIX)[number][0];

export function clientSeed(seed: number, client: number): number {
  return (seed ^ Math.imul(client + 1, 0x9e3779b1)) >>> 0;
}

export class OpChooser {
  private readonly rng: SeededRandom;
  private readonly group: number;
  private n = 0;
  private lastOnce: string | null = null;
  /** The value this client last saw in each register (bounded: registers of the current generation only). */
  private readonly seen = new Map<string, string | null>();
  private seenGen = -1;

  constructor(
    seed: number,
    private readonly client: number,
  ) {
    this.rng = new SeededRandom(clientSeed(seed, client));
    this.group = Math.floor(client / CLIENTS_PER_KEY_GROUP);
  }

  /** The next operation, on keys of generation `gen`; recorded=false moves it to unchecked keys. */
  next(gen: number, recorded: boolean): PlannedOp {
    const n = this.n++;
    if (gen !== this.seenGen) {
      this.seen.clear();
      this.seenGen = gen;
    }
    const x = recorded ? '' : UNCHECKED_PREFIX;
    const choice = this.pick();
    const reg = (): string => `${x}reg-g${this.group}-${this.rng.nextInt(REGISTERS_PER_GROUP)}-f${gen}`;
    const ctr = (): string => `${x}ctr-g${this.group}-${this.rng.nextInt(COUNTERS_PER_GROUP)}-f${gen}`;
    const value = `c${this.client}-${n}`;
    switch (choice) {
      case 'put-register':
        return { kind: 'put', key: reg(), value, space: 'register' };
      case 'get-register':
        return { kind: 'get', key: reg(), space: 'register', consistency: 'linearizable' };
      case 'lease-get-register':
        return { kind: 'get', key: reg(), space: 'register', consistency: 'lease' };
      case 'del-register':
        return { kind: 'del', key: reg(), space: 'register' };
      case 'cas-register': {
        const key = reg();
        return { kind: 'cas', key, expected: this.seen.get(key) ?? null, value, space: 'register' };
      }
      case 'incr-counter':
        return { kind: 'incr', key: ctr(), delta: 1, space: 'counter' };
      case 'get-counter':
        return { kind: 'get', key: ctr(), space: 'counter', consistency: 'linearizable' };
      case 'put-once': {
        const key = `${x}once-c${this.client}-${n}`;
        if (recorded) this.lastOnce = key;
        return { kind: 'put', key, value, space: 'once' };
      }
      case 'get-once':
        // Reads back this client's latest write-once key (durability while faults go on).
        if (this.lastOnce === null || !recorded) return { kind: 'get', key: reg(), space: 'register', consistency: 'linearizable' };
        return { kind: 'get', key: this.lastOnce, space: 'once', consistency: 'linearizable' };
    }
  }

  /** What a call of this client found or left in a register (feeds the next cas's expectation). */
  observe(key: string, value: string | null): void {
    if (key.includes(`-f${this.seenGen}`)) this.seen.set(key, value);
  }

  private pick(): Choice {
    let r = this.rng.nextInt(100);
    for (const [choice, weight] of MIX) {
      if (r < weight) return choice;
      r -= weight;
    }
    return MIX[0][0];
  }
}
