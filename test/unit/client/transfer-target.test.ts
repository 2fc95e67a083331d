// The voter a transfer names when its caller names none: the one that does not lead, or a
// refusal that says what to do (never an empty target, which would mean "whoever does not
// lead" again by the time a retry arrives).
import { describe, expect, it } from 'vitest';
import { otherVoter } from '../../../src/client/transfer-target.js';

describe('otherVoter', () => {
  it('names the voter that does not lead', () => {
    expect(otherVoter(['a', 'b'], 'a')).toBe('b');
    expect(otherVoter(['a', 'b'], 'b')).toBe('a');
  });

  it('a single voter: UNAVAILABLE, nobody to hand over to', () => {
    expect(() => otherVoter(['a'], 'a')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', message: expect.stringContaining('no other voter') }));
  });

  it('a leader that is not among the voters: UNAVAILABLE, and name the target', () => {
    expect(() => otherVoter(['a', 'b'], 'c')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', message: expect.stringContaining('--to') }));
  });
});
