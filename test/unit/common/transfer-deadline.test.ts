import { describe, expect, it } from 'vitest';
import {
  TRANSFER_ANSWER_ROOM_MIN_MS,
  TRANSFER_ATTEMPT_TIMEOUT_MS,
  TRANSFER_MIN_MS,
  TRANSFER_MIN_REQUEST_MS,
  TRANSFER_TIMEOUT_MS,
  transferBudget,
} from '../../../src/common/transfer-deadline.js';

describe('transferBudget: the leader fits its transfer within the caller deadline', () => {
  it('without a deadline, or with a long one, the leader takes its whole 5 s', () => {
    expect(transferBudget(Infinity)).toEqual({ start: true, timeoutMs: TRANSFER_TIMEOUT_MS });
    expect(transferBudget(Number.NaN)).toEqual({ start: true, timeoutMs: TRANSFER_TIMEOUT_MS });
    // The client's attempt of 7 s (its default 10 s deadline barely spent) changes nothing.
    expect(transferBudget(TRANSFER_ATTEMPT_TIMEOUT_MS)).toEqual({ start: true, timeoutMs: TRANSFER_TIMEOUT_MS });
    expect(transferBudget(60_000)).toEqual({ start: true, timeoutMs: TRANSFER_TIMEOUT_MS });
  });

  it('a short deadline keeps the minimum room for the answer', () => {
    expect(transferBudget(3000)).toEqual({ start: true, timeoutMs: 3000 - TRANSFER_ANSWER_ROOM_MIN_MS });
    expect(transferBudget(2000.9)).toEqual({ start: true, timeoutMs: 1250 });
  });

  it('a longer one keeps a fifth of it, and never more than 5 s', () => {
    expect(transferBudget(5000)).toEqual({ start: true, timeoutMs: 4000 });
    expect(transferBudget(6000)).toEqual({ start: true, timeoutMs: 4800 });
    expect(transferBudget(6250)).toEqual({ start: true, timeoutMs: 5000 });
    expect(transferBudget(6300)).toEqual({ start: true, timeoutMs: 5000 });
  });

  it('always leaves the answer its room, and grows with the deadline', () => {
    let previous = 0;
    for (let left = TRANSFER_MIN_REQUEST_MS; left <= 20_000; left += 37) {
      const b = transferBudget(left);
      if (!b.start) throw new Error(`${left} ms refused`);
      expect(left - b.timeoutMs).toBeGreaterThanOrEqual(TRANSFER_ANSWER_ROOM_MIN_MS);
      expect(b.timeoutMs).toBeGreaterThanOrEqual(previous);
      expect(b.timeoutMs).toBeLessThanOrEqual(TRANSFER_TIMEOUT_MS);
      previous = b.timeoutMs;
    }
  });

  it('below the shortest request it does not start, and says how long it needs', () => {
    expect(TRANSFER_MIN_REQUEST_MS).toBe(TRANSFER_MIN_MS + TRANSFER_ANSWER_ROOM_MIN_MS);
    expect(transferBudget(TRANSFER_MIN_REQUEST_MS)).toEqual({ start: true, timeoutMs: TRANSFER_MIN_MS });
    for (const left of [TRANSFER_MIN_REQUEST_MS - 1, 1000, 1, 0, -50]) {
      expect(transferBudget(left)).toEqual({ start: false, neededMs: TRANSFER_MIN_REQUEST_MS });
    }
  });
});
