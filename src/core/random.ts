// A seeded pseudo-random source. The core never calls Math.random: the election
// timeout's randomness comes from here, so a seed replays a run exactly.

export interface RandomSource {
  /** An integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/** Mulberry32: small, fast, good enough for timeouts and fault schedules. */
export class SeededRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  nextInt(maxExclusive: number): number {
    if (maxExclusive <= 1) return 0;
    return Math.floor(this.nextFloat() * maxExclusive);
  }
}
