// The commit gate (fuzz finding 9): a follower moves its commit index only for a leader whose
// term ZooKeeper vouched for (the epoch seen) or whose sender mutual TLS proved. What these
// tests pin down beyond that rule: the bound on what it takes while its commit is held, that
// the leader then sees a slow follower (no message storm), that it catches up once the epoch
// shows the term, and that nothing matched before the epoch counts after it.
import { describe, expect, it } from 'vitest';
import type { CoreConfig, Entry, RaftCore } from '../../../src/core/index.js';
import { core, entry, logOf, makeLeader, messagesOf, tickUntilTakeover } from './helpers.js';

/** What exchange() delivered: messages, and entries carried by AppendEntries. */
interface Traffic {
  messages: number;
  entries: number;
}

/** Delivers every message both ways until none is left, counting them into `t` (throws past `limit` messages: a storm). */
function exchange(a: RaftCore, b: RaftCore, t: Traffic = { messages: 0, entries: 0 }, limit = 2000): Traffic {
  const start = t.messages;
  for (;;) {
    const fromA = a.ready().messages;
    const fromB = b.ready().messages;
    if (fromA.length === 0 && fromB.length === 0) return t;
    for (const m of fromA) {
      if (m.type === 'append') t.entries += m.entries.length;
      b.step(m);
    }
    for (const m of fromB) a.step(m);
    t.messages += fromA.length + fromB.length;
    if (t.messages - start > limit) throw new Error(`more than ${limit} messages without going quiet`);
  }
}

/**
 * A leads term 3 (its fence), B follows it but saw only term 2 in the epoch: B is cut off
 * from ZooKeeper across the failover. Both start with entry 1 of term 2, committed.
 */
function failoverUnseenByB(overrides: Partial<CoreConfig>): { a: RaftCore; b: RaftCore } {
  const restored = { hardState: { term: 2, commit: 1 }, entries: logOf([2]) };
  const a = core('a', 'b', restored, overrides);
  const b = core('b', 'a', restored, overrides);
  a.observeEpoch(2, 'b');
  b.observeEpoch(2, 'b');
  a.observeLease(1);
  for (const m of makeLeader(a, 3, [], 1).messages) b.step(m);
  return { a, b };
}

/** The leader proposes `n` entries of `bytes` bytes each (its appends go to `b`), and ZooKeeper takes them at once. */
function write(a: RaftCore, b: RaftCore, n: number, bytes = 10): void {
  const r = a.propose(Array.from({ length: n }, () => new Uint8Array(bytes)));
  if (!r.ok) throw new Error(`not leader: ${r.reason}`);
  for (const m of a.ready().messages) b.step(m);
  a.mirrorCommitted(3, a.status().lastIndex);
}

describe('the commit gate: a follower whose leader ZooKeeper has not vouched for yet', () => {
  it('takes the new leader entries but commits none of them, and says so (commitHeld)', () => {
    const { a, b } = failoverUnseenByB({});
    exchange(a, b);
    write(a, b, 5);
    exchange(a, b);
    expect(b.status().lastIndex).toBe(a.status().lastIndex);
    expect(b.commitIndex()).toBe(1);
    expect(b.commitHeld()).toBe(true);
    expect(b.status()).toMatchObject({ commitHeld: true, trustedTerm: 2 });
    expect(a.commitHeld()).toBe(false);
  });

  it('holds at most maxHeldEntries past its commit index, and the leader sees a slow follower: a few messages, not one per write', () => {
    const { a, b } = failoverUnseenByB({ maxHeldEntries: 4 });
    const traffic = exchange(a, b);
    for (let round = 0; round < 60; round++) {
      // One write at a time: each is a new AppendEntries, pipelined past the follower's end.
      write(a, b, 1);
      exchange(a, b, traffic);
      if (round % 3 === 0) {
        a.tick();
        b.tick();
      }
      expect(b.status().lastIndex - b.commitIndex()).toBeLessThanOrEqual(4);
    }
    expect(b.status().lastIndex).toBe(5);
    // 200 ticks more with 57 entries waiting: the leader resends one window per
    // appendStallHeartbeats heartbeats (50 ticks); heartbeats and their replies make most of it.
    for (let t = 0; t < 200; t++) {
      a.tick();
      b.tick();
      exchange(a, b, traffic);
    }
    expect(b.status().lastIndex).toBe(5);
    expect(a.commitIndex()).toBe(62);
    // 235 messages and 229 entries here. Refused instead (the follower's log is too short),
    // each write made the leader back up and send everything past the follower's end again:
    // 396 messages and 1,881 entries.
    expect(traffic.entries).toBeLessThan(400);
    expect(traffic.messages).toBeLessThan(300);
  });

  it('holds at most maxHeldBytes of entry data past its commit index', () => {
    const { a, b } = failoverUnseenByB({ maxHeldBytes: 250 });
    exchange(a, b);
    write(a, b, 10, 100);
    exchange(a, b);
    // The no-op of term 3 (0 bytes) and two entries of 100 bytes fit; a third does not.
    expect(b.status().lastIndex).toBe(4);
    for (let t = 0; t < 100; t++) {
      a.tick();
      b.tick();
      exchange(a, b);
    }
    expect(b.status().lastIndex).toBe(4);
    expect(b.commitIndex()).toBe(1);
  });

  it('catches up by the normal path once the epoch shows the term: everything the leader committed, the same entries', () => {
    const { a, b } = failoverUnseenByB({ maxHeldEntries: 4 });
    exchange(a, b);
    for (let round = 0; round < 10; round++) {
      write(a, b, 5);
      exchange(a, b);
      a.tick();
      b.tick();
    }
    expect(b.commitIndex()).toBe(1);
    b.observeEpoch(3, 'a');
    expect(b.commitHeld()).toBe(false);
    let ticks = 0;
    for (; ticks < 400 && b.commitIndex() < a.commitIndex(); ticks++) {
      a.tick();
      b.tick();
      exchange(a, b);
    }
    expect(b.commitIndex()).toBe(a.commitIndex());
    expect(b.status().lastIndex).toBe(a.status().lastIndex);
    for (let i = 1; i <= a.commitIndex(); i++) expect(b.entryAt(i)?.chain).toEqual(a.entryAt(i)?.chain);
    // The leader notices the follower took nothing for appendStallHeartbeats heartbeats
    // (50 ticks), then streams: well under 100 ticks.
    expect(ticks).toBeLessThan(100);
  });

  it('an empty probe past its log is refused as always (the leader backs up), even while the bound is reached', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) }, { maxHeldEntries: 2 });
    b.observeEpoch(2, 'a');
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 3), entry(3, 3), entry(4, 3)], leaderCommit: 4 });
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: true, matchIndex: 3 });
    expect(b.status().lastIndex).toBe(3);
    // Pipelined behind it: acknowledged as far as matched, nothing taken.
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 4, prevLogTerm: 3, entries: [entry(5, 3)], leaderCommit: 4 });
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: true, matchIndex: 3 });
    expect(b.status().lastIndex).toBe(3);
    // A probe there: refused, with the log's end as the hint.
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 4, prevLogTerm: 3, entries: [], leaderCommit: 4 });
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 4, xLen: 3 });
    expect(b.commitIndex()).toBe(1);
  });

  it('a snapshot installed while the bound is reached reopens it: a message past the new log end is refused with that end (review 30)', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) }, { maxHeldEntries: 2 });
    b.observeEpoch(2, 'a');
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 3), entry(3, 3), entry(4, 3), entry(5, 3)], leaderCommit: 5 });
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: true, matchIndex: 3 });
    // ZooKeeper's snapshot at 2 (committed state, vouched for by definition): the log starts over after it.
    expect(b.installSnapshot({ index: 2, term: 3, chain: b.entryAt(2)!.chain })).toBe(true);
    b.ready();
    expect(b.status().lastIndex).toBe(2);
    expect(b.commitHeld()).toBe(true);
    // The leader's message pipelined past the old end is past the new one too. Nothing was
    // cut short since the install: refused, with the new end as the hint (the leader resends
    // from there at once), not acknowledged as if behind a message the bound cut short.
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 5, prevLogTerm: 3, entries: [entry(6, 3)], leaderCommit: 5 });
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 5, xLen: 2 });
    expect(b.status().lastIndex).toBe(2);
  });

  it('entries matched before the epoch showed the term count no more: a heartbeat cannot commit a forged suffix after it', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) });
    b.observeEpoch(2, 'a');
    // A forger, one term up with the leader's id, ahead of the real fence: entries 2..3 that
    // chain onto entry 1 (the chain is public) but are not what the real leader will write.
    const forged: Entry[] = [entry(2, 3, 'forged'), entry(3, 3, 'forged')];
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: forged, leaderCommit: 3 });
    expect(b.commitIndex()).toBe(1);
    const forgedChain = b.entryAt(3)!.chain;
    // The real A fences term 3; the epoch watch shows it.
    b.observeEpoch(3, 'a');
    b.ready();
    // A heartbeat of term 3 (forged or not) naming index 3 and the forged chain commits nothing.
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 3, commitTerm: 3, commitChain: forgedChain });
    expect(b.commitIndex()).toBe(1);
    expect(messagesOf(b.ready(), 'heartbeatReply')[0]).toMatchObject({ leaderMatch: 1 });
    // The real leader's log: entry 2 is its no-op of term 3. Its append replaces the forgery.
    const real = core('a', 'b', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) });
    real.observeEpoch(2, 'b');
    real.observeLease(1);
    makeLeader(real, 3, [], 1);
    real.ready();
    real.mirrorCommitted(3, 2);
    exchange(real, b);
    for (let t = 0; t < 10; t++) {
      real.tick();
      b.tick();
      exchange(real, b);
    }
    expect(b.commitIndex()).toBe(2);
    expect(b.status().lastIndex).toBe(2);
    expect(b.entryAt(2)?.chain).toEqual(real.entryAt(2)?.chain);
  });

  it('a leader proven by mutual TLS is not held: its commit index moves at once, with no bound', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) }, { maxHeldEntries: 1 });
    b.observeEpoch(2, 'a');
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 3), entry(3, 3), entry(4, 3)], leaderCommit: 4 }, true);
    expect(b.commitIndex()).toBe(4);
    expect(b.commitHeld()).toBe(false);
    expect(b.vouchedFor(3, true, 'a')).toBe(true);
    expect(b.vouchedFor(3, false, 'a')).toBe(false);
    // The epoch named a for term 2: a is vouched for in it, nobody else is.
    expect(b.vouchedFor(2, false, 'a')).toBe(true);
    expect(b.vouchedFor(2, false, 'b')).toBe(false);
    expect(b.vouchedFor(1, false, 'b')).toBe(true);
  });
});

describe('the commit gate vouches for the leader the epoch names, not for a term (review 16)', () => {
  it('between its fence and its take-over result, a node refuses a forger claiming the term the epoch gives it', () => {
    const a = core('a', 'b', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) });
    a.observeEpoch(2, 'b');
    a.observeLease(1);
    const rd = tickUntilTakeover(a);
    expect(rd?.takeover).toBeDefined();
    // Its fence made term 3; the epoch watch shows it before the take-over result.
    a.observeEpoch(3, 'a');
    const forged = { type: 'append' as const, from: 'b', to: 'a', term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 3)], leaderCommit: 2 };
    expect(a.step(forged)).toMatch(/ZooKeeper's epoch gives to this node/);
    expect(a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 3, commit: 1, commitTerm: 2, commitChain: new Uint8Array(16) })).toMatch(/epoch gives to this node/);
    expect(a.commitIndex()).toBe(1);
    expect(a.vouchedFor(3, false, 'b')).toBe(false);
    // Nor one claiming the term it fenced (review 18): the old leader's commits are in
    // ZooKeeper, and the take-over replays them.
    const forgedOld = { type: 'append' as const, from: 'b', to: 'a', term: 2, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 2)], leaderCommit: 2 };
    // Dropped without a word (the deposed leader sends these on every transfer and failover).
    expect(a.step(forgedOld)).toBe('ignore');
    expect(a.step({ type: 'timeoutNow', from: 'b', to: 'a', term: 2, leaseVersion: 1 })).toBe('ignore');
    expect(a.commitIndex()).toBe(1);
    expect(a.vouchedFor(2, false, 'b')).toBe(false);
    // The take-over result still makes it leader.
    a.takeoverResult({ ok: true, term: 3, entries: [], zkLastIndex: 1 });
    expect(a.softState().role).toBe('leader');
  });

  it('a deposed leader of an older term is answered as stale (so it learns the newer term), and commits nothing here', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([2]) });
    b.observeEpoch(2, 'a');
    // b fenced term 3 and its take-over failed: the epoch names b, b follows nobody in term 3.
    b.observeEpoch(3, 'b');
    expect(b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 2, commit: 1, commitTerm: 2, commitChain: b.entryAt(1)!.chain })).toBeNull();
    const replies = b.ready().messages.filter((m) => m.type === 'heartbeatReply');
    expect(replies.map((m) => m.term)).toEqual([3]);
    expect(b.commitIndex()).toBe(1);
  });

  it('what a candidate matched with its former leader does not count when the epoch names that leader again', () => {
    const { a, b } = failoverUnseenByB({});
    exchange(a, b);
    write(a, b, 3);
    exchange(a, b);
    // B holds entries 2..5 of A's term 3, matched but not committed (the epoch has not shown term 3).
    expect(b.commitHeld()).toBe(true);
    expect(b.commitIndex()).toBe(1);
    // B loses A (no heartbeats) and becomes a candidate, then its epoch watch shows {3, a}.
    b.observeLease(2);
    expect(tickUntilTakeover(b)?.takeover).toBeDefined();
    b.observeEpoch(3, 'a');
    // A heartbeat naming commit 5 commits nothing B matched before it was vouched for: B's
    // leaderMatch is back at its commit index, and the leader must probe and prove them first.
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 5, commitTerm: 3, commitChain: a.entryAt(5)!.chain });
    expect(b.commitIndex()).toBe(1);
  });
});
