// Issue 11, defect 2 and build point 2: peer messages are checked before they touch state.
// Before, one Heartbeat with term 2^53 - 1 crashed the leader ("entry N has term
// 9007199254740992") and left the epoch at a term every later start refused; a term of 999
// was adopted as it came.
import { describe, expect, it } from 'vitest';
import { core, logOf, makeLeader, messagesOf } from './helpers.js';

function leaderOfTerm3(): ReturnType<typeof core> {
  const a = core('a', 'b', { hardState: { term: 2, commit: 2 }, entries: logOf([1, 2]) });
  a.observeEpoch(2, 'b');
  a.observeLease(1);
  makeLeader(a, 3, [], 2);
  return a;
}

describe('peer messages are checked before they touch state (R7)', () => {
  it('a heartbeat with term 2^53 - 1 is refused by the leader: no crash, no new term', () => {
    const a = leaderOfTerm3();
    const r = a.step({ type: 'heartbeat', from: 'b', to: 'a', term: Number.MAX_SAFE_INTEGER, commit: 0, commitTerm: 0 });
    expect(r).toMatch(/more than one above the highest term ZooKeeper vouched for here \(3\)/);
    expect(a.softState()).toEqual({ role: 'leader', term: 3, leaderId: 'a' });
    expect(() => a.ready()).not.toThrow();
  });

  it('an append with term 999 is refused by a follower of term 2', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 0 } });
    const r = b.step({ type: 'append', from: 'a', to: 'b', term: 999, prevLogIndex: 0, prevLogTerm: 0, entries: logOf([999]), leaderCommit: 1 });
    expect(r).toMatch(/term 999/);
    expect(b.softState().term).toBe(2);
    expect(b.commitIndex()).toBe(0);
  });

  it('one term above what is known is taken: the new leader may be faster than the epoch watch', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 0 } });
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 0, commitTerm: 0 })).toBeNull();
    expect(b.softState()).toEqual({ role: 'follower', term: 3, leaderId: 'a' });
  });

  it('a message claiming to lead the term this node leads is refused (it used to trip an invariant)', () => {
    const a = leaderOfTerm3();
    expect(a.step({ type: 'append', from: 'b', to: 'a', term: 3, prevLogIndex: 3, prevLogTerm: 3, entries: [], leaderCommit: 3 })).toMatch(/claims to lead term 3/);
    expect(a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 3, commit: 3, commitTerm: 3 })).toMatch(/claims to lead term 3/);
    expect(a.softState().role).toBe('leader');
  });

  it('a message from anyone but the other voter is refused', () => {
    const b = core('b', 'a');
    expect(b.step({ type: 'heartbeat', from: 'mallory', to: 'b', term: 1, commit: 0, commitTerm: 0 })).toMatch(/not the other voter/);
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'someone-else', term: 1, commit: 0, commitTerm: 0 })).toBe('ignore');
  });

  it('malformed entries are refused whole: wrong indexes, terms going back, unknown types, oversized data', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 0 }, entries: logOf([1, 2]) });
    const base = { type: 'append' as const, from: 'a', to: 'b', term: 2, prevLogIndex: 2, prevLogTerm: 2, leaderCommit: 0 };
    expect(b.step({ ...base, entries: [{ ...logOf([2, 2, 2])[2]!, index: 4 }] })).toMatch(/index 4, expected 3/);
    expect(b.step({ ...base, entries: logOf([1, 2, 1]).slice(2) })).toMatch(/has term 1/);
    expect(b.step({ ...base, entries: [{ ...logOf([2, 2, 2])[2]!, type: 7 as never }] })).toMatch(/unknown type/);
    expect(b.step({ ...base, entries: [{ ...logOf([2, 2, 2])[2]!, data: new Uint8Array((1 << 20) + 1) }] })).toMatch(/bytes/);
    expect(b.step({ ...base, entries: [], prevLogTerm: 3 })).toMatch(/above the message's term/);
    expect(b.step({ ...base, entries: [], prevLogIndex: -1 })).toMatch(/not a non-negative integer/);
    expect(b.status().lastIndex).toBe(2);
  });

  it('a reply acknowledging entries this leader never had is refused (it would corrupt the match)', () => {
    const a = leaderOfTerm3();
    const last = a.status().lastIndex;
    const r = a.step({ type: 'appendReply', from: 'b', to: 'a', term: 3, success: true, matchIndex: last + 100, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: 0 });
    expect(r).toMatch(/beyond this log's last index/);
    expect(a.status().follower?.match ?? 0).toBeLessThanOrEqual(last);
    expect(messagesOf(a.ready(), 'append').length).toBeGreaterThanOrEqual(0);
  });

  it('forged messages cannot ratchet a follower\'s term: a taken term never raises the bound (CI fuzz seed 20261130)', () => {
    // The fuzz suite sent b's follower plausible heartbeats one term up, again and again:
    // term 8 was taken, then 9 (one above 8), so the follower refused the real leader's
    // term-7 heartbeats and the leader dropped the follower's term-9 replies as absurd. The
    // two never spoke again.
    const b = core('b', 'a', { hardState: { term: 7, commit: 0 } });
    b.observeEpoch(7, 'a');
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 8, commit: 0, commitTerm: 0 })).toBeNull();
    expect(b.softState().term).toBe(8);
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 9, commit: 0, commitTerm: 0 })).toMatch(/term 9 is more than one above .* \(7\)/);
    expect(b.step({ type: 'append', from: 'a', to: 'b', term: 9, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 })).toMatch(/term 9/);
    expect(b.softState().term).toBe(8);
    // A pre-vote asks for its sender's term plus one: a sender at 8 asks for 9.
    expect(b.step({ type: 'vote', from: 'a', to: 'b', term: 9, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false })).toBeNull();
    expect(b.step({ type: 'vote', from: 'a', to: 'b', term: 10, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false })).toMatch(/more than two above/);
    // Once ZooKeeper's epoch says 9, term 9 is trusted and 10 may come.
    b.observeEpoch(9, 'a');
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 10, commit: 0, commitTerm: 0 })).toBeNull();
    expect(b.softState()).toEqual({ role: 'follower', term: 10, leaderId: 'a' });
  });

  it('the leader takes the reply of a follower one term up and steps down: the two voters find each other again', () => {
    const a = leaderOfTerm3();
    a.ready();
    // b took term 4 from a forged message and answers a's heartbeats with it.
    expect(a.step({ type: 'heartbeatReply', from: 'b', to: 'a', term: 4, lastIndex: 3, leaderMatch: 0 })).toBeNull();
    expect(a.softState()).toEqual({ role: 'follower', term: 4, leaderId: '' });
  });

  it('a term this node fenced is trusted: its follower may then answer one above it', () => {
    const a = leaderOfTerm3();
    expect(a.step({ type: 'heartbeatReply', from: 'b', to: 'a', term: 5, lastIndex: 3, leaderMatch: 0 })).toMatch(/term 5 is more than one above .* \(3\)/);
    expect(a.softState().role).toBe('leader');
  });

  it('a term taken from a message and saved is not trusted after a restart: the ratchet does not come back that way', () => {
    // b took a forged term 8 (epoch 7) and saved it; restarted, it must not accept 9.
    // The driver passes one below the saved term as trusted (node-driver.ts).
    const b = core('b', 'a', { hardState: { term: 8, commit: 0 }, trustedTerm: 7 });
    b.observeEpoch(7, 'a');
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 9, commit: 0, commitTerm: 0 })).toMatch(/term 9 is more than one above .* \(7\)/);
    expect(b.softState().term).toBe(8);
  });

  it('a sender proven by mutual TLS is bounded by the own term too: a follower without ZooKeeper follows a second fence', () => {
    // b cannot reach ZooKeeper: it saw epoch 3, took term 4 from a's heartbeat; a fenced
    // again (5). Plaintext refuses 5 until the epoch watch catches up; an authenticated a is honest.
    const b = core('b', 'a', { hardState: { term: 3, commit: 0 } });
    b.observeEpoch(3, 'a');
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 4, commit: 0, commitTerm: 0 })).toBeNull();
    const hb5 = { type: 'heartbeat' as const, from: 'a', to: 'b', term: 5, commit: 0, commitTerm: 0 };
    expect(b.step(hb5)).toMatch(/term 5 is more than one above the highest term ZooKeeper vouched for here \(3\)/);
    expect(b.step(hb5, true)).toBeNull();
    expect(b.softState()).toEqual({ role: 'follower', term: 5, leaderId: 'a' });
    expect(b.step({ ...hb5, term: 7 }, true)).toMatch(/term 7 is more than one above the highest term known here \(5\)/);
  });

  it('a granted pre-vote carries the term asked for (own + 1), which may be two above the trusted term', () => {
    const a = core('a', 'b', { hardState: { term: 3, commit: 0 } });
    a.observeEpoch(3, 'b');
    expect(a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 4, commit: 0, commitTerm: 0 })).toBeNull();
    // Granted at own + 1 = 5: taken (not adopted: the term moves only through ZooKeeper).
    expect(a.step({ type: 'voteReply', from: 'b', to: 'a', term: 5, granted: true, preVote: true, reason: '' })).toBeNull();
    expect(a.softState().term).toBe(4);
    // Refused ones, and anything further up, stay bounded.
    expect(a.step({ type: 'voteReply', from: 'b', to: 'a', term: 5, granted: false, preVote: true, reason: 'stale-term' })).toMatch(/term 5/);
    expect(a.step({ type: 'voteReply', from: 'b', to: 'a', term: 6, granted: true, preVote: true, reason: '' })).toMatch(/term 6/);
  });

  it('a leader of a term ZooKeeper has not vouched for moves no commit index; once the epoch shows it, the next message does (fuzz finding 9)', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 0 }, entries: logOf([2]) });
    b.observeEpoch(2, 'a');
    // Forged (or simply early): term 3, entry 2 chained onto ours, commit 2.
    const next = logOf([2, 3])[1]!;
    expect(b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [next], leaderCommit: 2 })).toBeNull();
    expect(b.status().lastIndex).toBe(2);
    expect(b.commitIndex()).toBe(0);
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 2, commitTerm: 3 })).toBeNull();
    expect(b.commitIndex()).toBe(0);
    // The epoch watch: a fenced term 3. What was matched before it counts no more (a forger
    // may have sent it): a heartbeat alone commits nothing, and its reply says so...
    b.observeEpoch(3, 'a');
    b.ready();
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 2, commitTerm: 3 });
    expect(b.commitIndex()).toBe(0);
    expect(messagesOf(b.ready(), 'heartbeatReply')[0]).toMatchObject({ lastIndex: 2, leaderMatch: 0 });
    // ...so the leader probes at its match; the consistency check proves entry 2, and commits.
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 2, prevLogTerm: 3, prevLogChain: b.entryAt(2)!.chain, entries: [], leaderCommit: 2 });
    expect(b.commitIndex()).toBe(2);
  });

  it('a sender proven by mutual TLS moves the commit index at once', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 0 }, entries: logOf([2]) });
    b.observeEpoch(2, 'a');
    const next = logOf([2, 3])[1]!;
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [next], leaderCommit: 2 }, true);
    expect(b.commitIndex()).toBe(2);
  });
});
