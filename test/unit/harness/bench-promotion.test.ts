// The promotion bench's "able to lose either voter" check (bench-promotion.ts): both voters
// in one term, one leading, the other following it with the command's commit point applied;
// the failover's new term; a teardown failure kept beside finished rounds.
import { describe, expect, it } from 'vitest';
import { failedPromotionBench, leaderOf, newTermAfter, wholeAt, withCleanup } from '../../../src/harness/bench-promotion.js';
import type { MemberView } from '../../../src/harness/process-cluster.js';

const view = (id: string, role: string, term: number, leaderId: string, appliedIndex: number): MemberView => ({ id, role, term, commitIndex: appliedIndex, appliedIndex, leaderId });

describe('wholeAt', () => {
  it('holds when the follower follows the leader in its term and applied the commit point', () => {
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'follower', 3, 'a', 100)], 100)).toBe(true);
    // Either order, either member leading.
    expect(wholeAt([view('a', 'follower', 4, 'p1', 100), view('p1', 'leader', 4, 'p1', 130)], 100)).toBe(true);
  });

  it('does not hold while the promoted member is still a listener, behind, in another term, or following no one', () => {
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'listener', 0, '', 120)], 100)).toBe(false);
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'follower', 3, 'a', 99)], 100)).toBe(false);
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'follower', 2, 'a', 120)], 100)).toBe(false);
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'follower', 3, '', 120)], 100)).toBe(false);
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), view('p1', 'precandidate', 3, 'a', 120)], 100)).toBe(false);
    expect(wholeAt([view('a', 'leader', 3, 'a', 120), null], 100)).toBe(false);
  });
});

describe('leaderOf', () => {
  it('names the voter that leads, the promoted member included: the one the failover check kills', () => {
    // wholeAt accepts the promoted member leading; killing the other (a follower) measured no failover.
    const whole = [view('a', 'follower', 4, 'p1', 100), view('p1', 'leader', 4, 'p1', 130)];
    expect(wholeAt(whole, 100)).toBe(true);
    expect(leaderOf(whole)).toBe('p1');
    expect(leaderOf([view('a', 'leader', 3, 'a', 120), view('p1', 'follower', 3, 'a', 100)])).toBe('a');
    expect(() => leaderOf([view('a', 'follower', 3, 'p1', 120), null])).toThrow(/no leader/);
  });
});

describe('newTermAfter', () => {
  it("accepts a new leader only in a term above the killed leader's at readyMs", () => {
    expect(newTermAfter('a', 4, view('p1', 'leader', 5, 'p1', 130))).toBe(5);
    expect(newTermAfter('a', 4, view('p1', 'leader', 7, 'p1', 130))).toBe(7);
  });

  it('fails the round with the reason when the term did not move or the status is missing', () => {
    expect(() => newTermAfter('a', 4, view('p1', 'leader', 4, 'p1', 130))).toThrow(/p1 reports term 4, not above term 4 in which a led: no new election/);
    expect(() => newTermAfter('a', 4, view('p1', 'leader', 3, 'p1', 130))).toThrow(/not above term 4/);
    expect(() => newTermAfter('a', 4, null)).toThrow(/did not answer its status/);
  });
});

describe('withCleanup', () => {
  it('keeps the finished rounds and records the teardown failure beside them', () => {
    const done = { ...failedPromotionBench('x'), failed: null, lost: 0, acknowledged: 10 };
    expect(withCleanup(done, [])).toBe(done);
    const dirty = withCleanup(done, ['write load: did not finish within 10000 ms', 'client: closed']);
    expect(dirty.failed).toBeNull();
    expect(dirty.acknowledged).toBe(10);
    expect(dirty.cleanupFailed).toBe('write load: did not finish within 10000 ms; client: closed');
  });
});
