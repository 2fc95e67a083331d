// A leadership transfer's own states (src/core/leader-transfer.ts), without a whole core: it
// hands over once the follower is caught up, and only once; it is given up after its bound
// of steps, or without a follower, and then says whether the lease must be taken back; it
// can be called off only before TimeoutNow went. The transfer inside RaftCore is tested in
// raft.test.ts.
import { describe, expect, it } from 'vitest';
import { LeaderTransfer } from '../../../src/core/leader-transfer.js';

describe('LeaderTransfer', () => {
  it('waits until the follower is caught up, then hands over once', () => {
    const t = new LeaderTransfer(10);
    expect(t.start()).toBe(true);
    expect(t.start()).toBe(false);
    expect(t.step(true, false)).toBe('wait');
    expect(t.step(true, true)).toBe('hand-over');
    expect(t.step(true, true)).toBe('wait');
    expect(t.transferring).toBe(true);
  });

  it('gives up after its bound of steps: keeps the lease when nothing was handed over, takes it back when it was', () => {
    const early = new LeaderTransfer(3);
    early.start();
    expect([early.step(true, false), early.step(true, false), early.step(true, false), early.step(true, false)]).toEqual(['wait', 'wait', 'wait', 'given-up']);
    expect(early.transferring).toBe(false);

    const late = new LeaderTransfer(3);
    late.start();
    expect(late.step(true, true)).toBe('hand-over');
    late.step(true, true);
    late.step(true, true);
    expect(late.step(true, true)).toBe('take-lease-back');
    expect(late.transferring).toBe(false);
  });

  it('gives up at once without a follower', () => {
    const t = new LeaderTransfer(100);
    t.start();
    expect(t.step(false, false)).toBe('given-up');
    expect(t.transferring).toBe(false);
  });

  it('is called off only before TimeoutNow went', () => {
    const before = new LeaderTransfer(100);
    before.start();
    before.step(true, false);
    before.abort();
    expect(before.transferring).toBe(false);

    const after = new LeaderTransfer(100);
    after.start();
    after.step(true, true);
    after.abort();
    expect(after.transferring).toBe(true);
  });

  it('end() says whether the lease was handed over; reset() and a new start() forget everything', () => {
    const t = new LeaderTransfer(100);
    expect(t.end()).toBe(false);
    t.start();
    expect(t.end()).toBe(false);
    t.start();
    t.step(true, true);
    expect(t.end()).toBe(true);
    expect(t.transferring).toBe(false);
    t.start();
    t.step(true, true);
    t.reset();
    expect(t.transferring).toBe(false);
    expect(t.end()).toBe(false);
    // A new transfer counts its steps from zero.
    const counted = new LeaderTransfer(2);
    counted.start();
    counted.step(true, false);
    counted.step(true, false);
    counted.reset();
    counted.start();
    expect(counted.step(true, false)).toBe('wait');
  });
});
