// The timing defaults of issue 12 (notes/timing.md): they keep the lease rule, and a lapsed
// leader stays audible for longer than TCP takes to resend a lost segment twice over.
import { describe, expect, it } from 'vitest';
import { type NodeConfig, coreConfigFor, defaultLimits, defaultTiming, lapseSilenceMs, nodeConfigProblems } from '../../../src/server/node-config.js';

const config = (timing = defaultTiming): NodeConfig => ({ id: 'a', cluster: 'c', advertise: '127.0.0.1:1', timing, limits: defaultLimits });

describe('timing defaults', () => {
  it('keep the lease rule D(1+ρ) < W(1−ρ) and every other rule', () => {
    const t = defaultTiming;
    expect(t.leaseDurationMs * (1 + t.driftBound)).toBeLessThan(t.leaseWindowMs * (1 - t.driftBound));
    expect(nodeConfigProblems(config())).toEqual([]);
  });

  it('the pre-vote timeout stays below the election timeout, so a pre-candidate always gets to its end (review 23)', () => {
    expect(coreConfigFor(config(), 'b', 'c').preVoteTimeoutTicks).toBe(100 / defaultTiming.tickMs);
    // Only the election timeout set (the old defaults' 60 ms): clamped to 5 ticks, no error.
    const short = { ...defaultTiming, electionTimeoutMs: 60 };
    expect(nodeConfigProblems(config(short))).toEqual([]);
    expect(coreConfigFor(config(short), 'b', 'c').preVoteTimeoutTicks).toBe(5);
    expect(coreConfigFor(config({ ...defaultTiming, preVoteTimeoutMs: 5000 }), 'b', 'c').preVoteTimeoutTicks).toBe(14);
  });

  it('a lapsed leader falls silent only after 700 ms (TCP resends a lost segment after 200 ms, a lost resend 400 ms later), or two lease windows where longer', () => {
    expect(lapseSilenceMs(defaultTiming)).toBe(700);
    expect(lapseSilenceMs({ ...defaultTiming, leaseDurationMs: 350, leaseWindowMs: 450 })).toBe(900);
    expect(coreConfigFor(config(), 'b', 'c').lapseSilenceTicks).toBe(700 / defaultTiming.tickMs);
  });

  it('silence is trusted later than a broken connection: the election timeout exceeds the lease window', () => {
    expect(defaultTiming.electionTimeoutMs).toBeGreaterThan(defaultTiming.leaseWindowMs);
  });

  it('a window below what the published duration requires is refused, naming the rule', () => {
    expect(nodeConfigProblems(config({ ...defaultTiming, leaseWindowMs: 55 })).join('; ')).toMatch(/lease rule broken/);
  });
});
