// The listener's record of its recent applies is bounded and kept in order.
import { describe, expect, it } from 'vitest';
import { ApplyTrace } from '../../../../src/server/listener/apply-trace.js';

describe('ApplyTrace', () => {
  it('keeps the last `capacity` batches, oldest first, with the time each was applied', () => {
    let t = 0;
    const trace = new ApplyTrace(() => (t += 10), 3);
    trace.note(5);
    expect(trace.recent()).toEqual([{ lastIndex: 5, atUs: 10 }]);
    for (const i of [7, 9, 12, 20]) trace.note(i);
    expect(trace.recent()).toEqual([
      { lastIndex: 9, atUs: 30 },
      { lastIndex: 12, atUs: 40 },
      { lastIndex: 20, atUs: 50 },
    ]);
  });
});
