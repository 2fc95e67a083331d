// The commit gate's own rules (src/core/commit-gate.ts), without a whole core: which leader
// is vouched for, when a follower's commit index is held, and when vouching releases a hold.
// The gate inside RaftCore is tested in commit-gate.test.ts.
import { describe, expect, it } from 'vitest';
import { CommitGate, type FollowedLeader } from '../../../src/core/commit-gate.js';

const following = (leaderId: string, term: number, authenticated = false): FollowedLeader => ({ leaderId, term, authenticated });

describe('CommitGate', () => {
  it('vouches for older terms, and for the trusted term from any sender while its leader is unknown', () => {
    const gate = new CommitGate('b', 4);
    expect(gate.vouchedFor(3, false, 'a')).toBe(true);
    expect(gate.vouchedFor(4, false, 'a')).toBe(true);
    expect(gate.vouchedFor(4, false, 'x')).toBe(true);
    expect(gate.vouchedFor(5, false, 'a')).toBe(false);
    expect(gate.vouchedFor(5, true, 'a')).toBe(true);
  });

  it('vouches for the trusted term only from the leader the epoch named (review 16)', () => {
    const gate = new CommitGate('b', 4);
    expect(gate.vouch(5, 'a', null)).toBe(false);
    expect(gate.trustedTerm).toBe(5);
    expect(gate.trustedLeader).toBe('a');
    expect(gate.vouchedFor(5, false, 'a')).toBe(true);
    expect(gate.vouchedFor(5, false, 'x')).toBe(false);
    expect(gate.vouchedFor(5, true, 'x')).toBe(true);
  });

  it('vouches for nothing unauthenticated while the epoch names this node, older terms included (review 18)', () => {
    const gate = new CommitGate('b', 4);
    gate.vouch(5, 'b', null);
    expect(gate.vouchedFor(5, false, 'a')).toBe(false);
    expect(gate.vouchedFor(3, false, 'a')).toBe(false);
    expect(gate.vouchedFor(3, true, 'a')).toBe(true);
    const leader = new CommitGate('b', 4);
    leader.leads(6);
    expect(leader.trustedTerm).toBe(6);
    expect(leader.trustedLeader).toBe('b');
    expect(leader.vouchedFor(2, false, 'a')).toBe(false);
  });

  it('a term led below the trusted one moves nothing', () => {
    const gate = new CommitGate('b', 7);
    gate.vouch(7, 'a', null);
    gate.leads(6);
    expect(gate.trustedTerm).toBe(7);
    expect(gate.trustedLeader).toBe('a');
  });

  it('never goes back: an older term, or the trusted term once its leader is known, changes nothing', () => {
    const gate = new CommitGate('b', 4);
    gate.vouch(6, 'a', null);
    expect(gate.vouch(5, 'x', null)).toBe(false);
    expect(gate.vouch(6, 'x', null)).toBe(false);
    expect([gate.trustedTerm, gate.trustedLeader]).toEqual([6, 'a']);
    // A restored term (leader unknown) takes the leader the epoch names for it.
    const restarted = new CommitGate('b', 6);
    restarted.vouch(6, 'a', null);
    expect(restarted.trustedLeader).toBe('a');
  });

  it("holds a follower's commit index for a leader not vouched for; never for itself, no leader, or while leading", () => {
    const gate = new CommitGate('b', 4);
    expect(gate.holds(following('a', 5))).toBe(true);
    expect(gate.holds(following('a', 5, true))).toBe(false);
    expect(gate.holds(following('a', 4))).toBe(false);
    expect(gate.holds(following('', 5))).toBe(false);
    expect(gate.holds(following('b', 5))).toBe(false);
    expect(gate.holds(null)).toBe(false);
  });

  it('vouch says when it released a hold, and only then', () => {
    const gate = new CommitGate('b', 4);
    const f = following('a', 5);
    // The epoch names another leader for the term: still held, nothing released.
    expect(gate.vouch(5, 'x', f)).toBe(false);
    expect(gate.holds(f)).toBe(true);
    const g = new CommitGate('b', 4);
    expect(g.vouch(5, 'a', f)).toBe(true);
    expect(g.holds(f)).toBe(false);
    // Not held before: nothing to release.
    expect(g.vouch(6, 'a', following('a', 5))).toBe(false);
  });
});
