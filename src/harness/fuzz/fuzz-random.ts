// The fuzz suite's only source of randomness: a seeded stream with the helpers generators
// need. Every round gets a stream of its own, derived from the run's seed and the round's
// number, so a round's inputs do not depend on how many draws the rounds before it made
// (a replay with --rounds K regenerates rounds 1..K exactly).
import { SeededRandom } from '../../core/random.js';

export class FuzzRandom {
  private readonly rng: SeededRandom;

  constructor(readonly seed: number) {
    this.rng = new SeededRandom(seed);
  }

  /** The seed of round `round` of a run with seed `runSeed`. */
  static roundSeed(runSeed: number, round: number): number {
    // A 32-bit mix (splitmix-like), so neighbouring rounds get unrelated streams.
    let x = (runSeed ^ Math.imul(round, 0x9e3779b1)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.rng.nextInt(n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.rng.nextInt(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.rng.nextFloat() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.rng.nextInt(items.length)]!;
  }

  /** Picks by weight: [[item, weight], ...]. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((s, [, w]) => s + w, 0);
    let r = this.rng.nextFloat() * total;
    for (const [item, w] of choices) {
      r -= w;
      if (r < 0) return item;
    }
    return choices[choices.length - 1]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.nextUint32() & 0xff;
    return out;
  }

  /** A 64-bit unsigned value, as a bigint. */
  u64(): bigint {
    return (BigInt(this.rng.nextUint32()) << 32n) | BigInt(this.rng.nextUint32());
  }

  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }
}
