// The bench's apply lag: exact per entry from the listener's applied batches, and nothing
// guessed where polls missed batches.
import { describe, expect, it } from 'vitest';
import { AppliedBatches, applyLags } from '../../../src/harness/apply-lag.js';

describe('apply lag from applied batches', () => {
  it('an entry takes the time of the batch that holds it', () => {
    const b = new AppliedBatches();
    b.add([{ lastIndex: 10, atUs: 1000 }]);
    b.add([{ lastIndex: 10, atUs: 1000 }, { lastIndex: 15, atUs: 3000 }, { lastIndex: 16, atUs: 9000 }]);
    expect(b.appliedAt(11)).toBe(3000);
    expect(b.appliedAt(15)).toBe(3000);
    expect(b.appliedAt(16)).toBe(9000);
    expect(b.appliedAt(17)).toBeNull(); // not applied yet
    // Before the first batch seen, which batch held it is unknown.
    expect(b.appliedAt(10)).toBeNull();
  });

  it('a poll that does not reach back to what was seen leaves a gap: those entries are untraced', () => {
    const b = new AppliedBatches();
    b.add([{ lastIndex: 10, atUs: 1000 }, { lastIndex: 20, atUs: 2000 }]);
    b.add([{ lastIndex: 40, atUs: 8000 }, { lastIndex: 50, atUs: 9000 }]);
    expect(b.appliedAt(15)).toBe(2000);
    expect(b.appliedAt(25)).toBeNull();
    expect(b.appliedAt(40)).toBeNull();
    expect(b.appliedAt(45)).toBe(9000);
  });

  it('lags in ms from the acknowledgement; an apply before the ack counts 0 and is counted', () => {
    const b = new AppliedBatches();
    b.add([{ lastIndex: 0, atUs: 0 }, { lastIndex: 5, atUs: 10_000 }, { lastIndex: 9, atUs: 30_000 }]);
    const r = applyLags(
      [
        { index: 3, atUs: 4_000 },
        { index: 7, atUs: 31_000 },
        { index: 12, atUs: 40_000 },
      ],
      b,
    );
    expect(r.lagsMs).toEqual([6, 0]);
    expect(r.beforeAck).toBe(1);
    expect(r.untraced).toBe(1);
  });
});
