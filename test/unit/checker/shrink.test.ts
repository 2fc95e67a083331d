import { describe, expect, it } from 'vitest';
import { shrinkFailing } from '../../../src/harness/checker/shrink.js';

describe('shrinkFailing', () => {
  it('finds a 1-minimal failing subset', () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    const fails = (s: readonly number[]): boolean => s.includes(17) && s.includes(42) && s.includes(150);
    const result = shrinkFailing(items, fails, 1000);
    expect(result.items).toEqual([17, 42, 150]);
    expect(result.minimal).toBe(true);
    expect(result.checks).toBeLessThan(200);
  });

  it('stops at the check allowance with a subset that still fails', () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    const fails = (s: readonly number[]): boolean => s.filter((x) => x % 10 === 0).length >= 15;
    const result = shrinkFailing(items, fails, 5);
    expect(result.checks).toBe(5);
    expect(result.minimal).toBe(false);
    expect(fails(result.items)).toBe(true);
  });
});
