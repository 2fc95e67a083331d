// Unit tests of the pure core, named after the rule each one checks. "§5.x" refers to
// the Raft paper; "duoraft" rules come from notes/safety.md (ZooKeeper is the commit point
// and the witness).
import { describe, expect, it } from 'vitest';
import { EntryType, RaftCore, SeededRandom, defaultCoreTicks } from '../../../src/core/index.js';
import type { AppendEntries, CoreConfig, Message } from '../../../src/core/index.js';
import { config, core, entries, entry, logOf, makeLeader, messagesOf, testGenesis, tickN, tickUntilTakeover } from './helpers.js';

describe('election (duoraft: pre-vote, lease window, fence)', () => {
  it('a follower that hears no leader for its election timeout sends a pre-vote for term+1', () => {
    const a = core('a', 'b', { hardState: { term: 3, commit: 0 } });
    let votes: ReturnType<typeof messagesOf<'vote'>> = [];
    for (let t = 0; t < 20 && votes.length === 0; t++) {
      a.tick();
      votes = messagesOf(a.ready(), 'vote');
    }
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ from: 'a', to: 'b', term: 4, preVote: true });
    expect(a.softState().role).toBe('precandidate');
    expect(a.softState().term).toBe(3); // a pre-vote never changes the term
  });

  it('the election timeout is randomized in [min, 2*min) ticks', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const a = core('a', 'b', {}, {}, seed);
      let t = 0;
      while (a.softState().role === 'follower' && t < 100) {
        a.tick();
        t++;
      }
      expect(t).toBeGreaterThanOrEqual(10);
      expect(t).toBeLessThan(20);
      seen.add(t);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('asks for a take-over only after the lease window passes with no lease change', () => {
    const a = core('a', 'b');
    a.observeLease(7);
    let requested = -1;
    for (let t = 1; t <= 100 && requested < 0; t++) {
      a.tick();
      const rd = a.ready();
      for (const m of messagesOf(rd, 'vote')) a.step({ type: 'unreachable', from: m.to, to: 'a', term: 0 });
      if (rd.takeover) requested = t;
      if (t === 12) a.observeLease(8); // the leader is alive: the window restarts
      if (a.ready().takeover) requested = t;
    }
    // Window of 13 ticks (+1 for tick granularity) counted from the change seen at tick 12.
    expect(requested).toBeGreaterThanOrEqual(12 + 14);
    expect(a.softState().role).toBe('candidate');
  });

  it('from silence alone it waits for the lease to be quiet for silenceLeaseWindowTicks; on a broken connection only for the lease window', () => {
    const cfg = { leaseWindowTicks: 6, silenceLeaseWindowTicks: 15, electionTimeoutTicks: 10 };
    /** Ticks from the lease observation at tick 0 until the core asks for a take-over. */
    function ticksToTakeover(evidence: boolean): number {
      const a = core('a', 'b', {}, cfg);
      a.observeEpoch(1, 'b');
      a.observeLease(7);
      if (evidence) a.suspectLeader();
      for (let t = 1; t <= 100; t++) {
        a.tick();
        const rd = a.ready();
        for (const m of messagesOf(rd, 'vote')) a.step({ type: 'unreachable', from: m.to, to: 'a', term: 0 });
        if (rd.takeover || a.ready().takeover) return t;
      }
      return -1;
    }
    expect(ticksToTakeover(true)).toBe(6 + 1);
    expect(ticksToTakeover(false)).toBe(15 + 1);
  });

  it('hearing the leader again clears the evidence: a later suspicion from silence waits the longer window', () => {
    const a = core('a', 'b', {}, { leaseWindowTicks: 6, silenceLeaseWindowTicks: 40, electionTimeoutTicks: 10 });
    a.observeEpoch(1, 'b');
    a.suspectLeader();
    expect(a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, commitTerm: 0, commitChain: testGenesis })).toBeNull();
    a.ready();
    a.observeLease(7);
    let requested = -1;
    for (let t = 1; t <= 100 && requested < 0; t++) {
      a.tick();
      const rd = a.ready();
      for (const m of messagesOf(rd, 'vote')) a.step({ type: 'unreachable', from: m.to, to: 'a', term: 0 });
      if (rd.takeover || a.ready().takeover) requested = t;
    }
    expect(requested).toBe(40 + 1);
  });

  it('the take-over request carries the lease version to check and the commit index to replay from', () => {
    const a = core('a', 'b', { hardState: { term: 2, commit: 2 }, entries: logOf([1, 2, 2]) });
    a.observeLease(5);
    const rd = tickUntilTakeover(a);
    expect(rd?.takeover).toEqual({ term: 2, leaseVersion: 5, commit: 2, transfer: false });
  });

  it('does not ask for a take-over while ZooKeeper is unreachable', () => {
    const a = core('a', 'b');
    a.setZkConnected(false);
    expect(tickUntilTakeover(a, 100)).toBeUndefined();
    a.setZkConnected(true);
    expect(tickUntilTakeover(a, 100)?.takeover).toBeDefined();
  });

  it('a successful fence makes the node leader of the fenced term with a no-op to mirror', () => {
    const a = core('a', 'b');
    const rd = makeLeader(a, 1);
    expect(a.softState()).toEqual({ role: 'leader', term: 1, leaderId: 'a' });
    expect(rd.toMirror).toHaveLength(1);
    expect(rd.toMirror[0]).toMatchObject({ index: 1, term: 1, type: EntryType.Noop });
    expect(rd.entries.map((e) => e.index)).toEqual([1]);
    expect(messagesOf(rd, 'append').length + messagesOf(rd, 'heartbeat').length).toBeGreaterThan(0);
  });

  it('a failed fence returns the node to follower in the epoch it read', () => {
    const a = core('a', 'b');
    expect(tickUntilTakeover(a)).toBeDefined();
    a.takeoverResult({ ok: false, epochTerm: 4, epochLeader: 'b', reason: 'epoch moved' });
    expect(a.softState()).toEqual({ role: 'follower', term: 4, leaderId: 'b' });
  });

  it('a live leader rejects a pre-vote, and the rejected node stays a follower of it', () => {
    const b = core('b', 'a');
    makeLeader(b, 1);
    const a = core('a', 'b');
    const votes = tickN(a, 20).flatMap((rd) => messagesOf(rd, 'vote'));
    b.step(votes[0]!);
    const reply = messagesOf(b.ready(), 'voteReply')[0]!;
    expect(reply).toMatchObject({ granted: false, reason: 'is-leader', term: 1 });
    a.step(reply);
    expect(a.softState()).toEqual({ role: 'follower', term: 1, leaderId: 'b' });
  });

  it('a follower that heard its leader recently rejects a pre-vote (leader stickiness)', () => {
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    b.ready();
    b.step({ type: 'vote', from: 'a', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false });
    expect(messagesOf(b.ready(), 'voteReply')[0]).toMatchObject({ granted: false, reason: 'leader-alive' });
  });

  it('an unreachable peer counts as no objection', () => {
    const a = core('a', 'b');
    expect(tickUntilTakeover(a)?.takeover).toBeDefined();
  });

  it('a pre-vote without an answer times out as no objection (the peer may be paused)', () => {
    const a = core('a', 'b');
    let asked = false;
    for (let t = 0; t < 100 && !asked; t++) {
      a.tick();
      asked = a.ready().takeover !== undefined;
    }
    expect(asked).toBe(true);
  });
});

describe('election restriction (§5.4.1, against the committed prefix)', () => {
  const voteFrom = (lastLogIndex: number, lastLogTerm: number) =>
    ({ type: 'vote', from: 'a', to: 'b', term: 9, lastLogIndex, lastLogTerm, preVote: true, transfer: false }) as const;

  it('rejects a candidate whose log lacks an entry we know is committed', () => {
    const b = core('b', 'a', { hardState: { term: 3, commit: 4 }, entries: logOf([1, 1, 2, 3, 3]) });
    b.observeEpoch(8, ''); // the candidate's term comes from the epoch
    b.step(voteFrom(3, 2));
    expect(messagesOf(b.ready(), 'voteReply')[0]).toMatchObject({ granted: false, reason: 'log-behind' });
  });

  it('grants a candidate that holds every committed entry even if it lacks our uncommitted ones', () => {
    const b = core('b', 'a', { hardState: { term: 3, commit: 3 }, entries: logOf([1, 1, 2, 3, 3]) });
    b.observeEpoch(8, ''); // the candidate's term comes from the epoch
    b.step(voteFrom(3, 2));
    expect(messagesOf(b.ready(), 'voteReply')[0]).toMatchObject({ granted: true, term: 9 });
  });

  it('grants a candidate with a higher last term even if its log is shorter', () => {
    const b = core('b', 'a', { hardState: { term: 3, commit: 5 }, entries: logOf([1, 1, 2, 3, 3]) });
    b.observeEpoch(8, ''); // the candidate's term comes from the epoch
    b.step(voteFrom(2, 4));
    expect(messagesOf(b.ready(), 'voteReply')[0]).toMatchObject({ granted: true });
  });

  it('rejects a pre-vote for a term that is not above ours', () => {
    const b = core('b', 'a', { hardState: { term: 9, commit: 0 } });
    b.step(voteFrom(0, 0));
    expect(messagesOf(b.ready(), 'voteReply')[0]).toMatchObject({ granted: false, reason: 'stale-term', term: 9 });
  });

  it('the node that rejected for log-behind campaigns itself right away', () => {
    const b = core('b', 'a', { hardState: { term: 3, commit: 4 }, entries: logOf([1, 1, 2, 3, 3]) });
    b.observeEpoch(8, ''); // the candidate's term comes from the epoch
    b.step(voteFrom(3, 2));
    b.ready();
    b.tick();
    expect(b.softState().role).toBe('precandidate');
  });
});

describe('log matching and conflict truncation (§5.3)', () => {
  function append(prevLogIndex: number, prevLogTerm: number, es: ReturnType<typeof entries>, leaderCommit = 0, term = 3): AppendEntries {
    return { type: 'append', from: 'a', to: 'b', term, prevLogIndex, prevLogTerm, entries: es, leaderCommit };
  }

  it('accepts entries whose previous entry matches, and replies with the match index', () => {
    const b = core('b', 'a', { entries: logOf([1, 1]) });
    b.observeEpoch(2, '');
    b.step(append(2, 1, entries([3, 3], [4, 3])));
    const rd = b.ready();
    expect(messagesOf(rd, 'appendReply')[0]).toMatchObject({ success: true, matchIndex: 4 });
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[3, 3], [4, 3]]);
    expect(rd.truncateFrom).toBeUndefined();
  });

  it('rejects entries whose previous entry is missing or differs', () => {
    const b = core('b', 'a', { entries: logOf([1, 1]) });
    b.observeEpoch(2, '');
    b.step(append(2, 2, entries([3, 3])));
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 2 });
    b.step(append(5, 3, entries([6, 3])));
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 5 });
  });

  it('truncates a conflicting suffix and appends the leader entries, with a truncation mark for the WAL', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 2 }, entries: logOf([1, 1, 2, 2, 2]) });
    b.step(append(2, 1, entries([3, 2], [4, 3])));
    const rd = b.ready();
    expect(rd.truncateFrom).toBe(4);
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[4, 3]]);
    expect(b.status().lastIndex).toBe(4);
    expect(b.entryAt(4)?.term).toBe(3);
    expect(b.entryAt(5)).toBeUndefined();
  });

  it('keeps entries that already match and does not truncate on a duplicate or reordered append', () => {
    const b = core('b', 'a', { entries: logOf([1, 1, 3, 3]) });
    b.observeEpoch(2, '');
    b.step(append(1, 1, entries([2, 1])));
    const rd = b.ready();
    expect(rd.truncateFrom).toBeUndefined();
    expect(rd.entries).toEqual([]);
    expect(b.status().lastIndex).toBe(4);
  });

  it('commits up to min(leaderCommit, last new entry)', () => {
    const b = core('b', 'a', { entries: logOf([1, 1, 9, 9]) });
    b.observeEpoch(3, 'a');
    b.step(append(2, 1, [], 4));
    const rd = b.ready();
    // Entries 3 and 4 were not confirmed by this message: they may be a stale leader's.
    expect(b.status().commit).toBe(2);
    expect(rd.committed.map((e) => e.index)).toEqual([1, 2]);
  });

  it('never overwrites a committed entry: appends before the commit index are trimmed', () => {
    const b = core('b', 'a', { hardState: { term: 3, commit: 3 }, entries: logOf([1, 2, 3]) });
    b.step(append(1, 1, entries([2, 2], [3, 3], [4, 3]), 4));
    const rd = b.ready();
    expect(messagesOf(rd, 'appendReply')[0]).toMatchObject({ success: true, matchIndex: 4 });
    expect(b.status().lastIndex).toBe(4);
    expect(rd.truncateFrom).toBeUndefined();
  });
});

describe('fast backup with XTerm, XIndex, XLen', () => {
  // The leader's log in every case: terms [1,1,1,4,4,5,5,6,6,6] (the 6.824 example).
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];

  function leaderWith(terms: number[]) {
    const l = core('a', 'b', { hardState: { term: 6, commit: terms.length }, entries: logOf(terms) });
    const rd = makeLeader(l, 7, [], terms.length);
    return { leader: l, first: rd.messages };
  }

  /** Runs the probe exchange until the follower accepts; returns the distinct prevLogIndex values probed, in order. */
  function probe({ leader, first }: { leader: RaftCore; first: readonly Message[] }, follower: RaftCore): number[] {
    const prevs: number[] = [];
    let pending = first.slice();
    for (let round = 0; round < 20 && pending.length > 0; round++) {
      const next = [];
      for (const m of pending) {
        if (m.type === 'append' && !prevs.includes(m.prevLogIndex)) prevs.push(m.prevLogIndex);
        follower.step(m);
      }
      for (const r of follower.ready().messages) leader.step(r);
      next.push(...leader.ready().messages);
      pending = next;
      if (follower.status().lastIndex === leader.status().lastIndex && pending.every((m) => m.type !== 'append' || m.entries.length === 0)) break;
    }
    return prevs;
  }

  it('case 1: the leader does not have XTerm: next = XIndex', () => {
    const leader = leaderWith(leaderTerms);
    // Follower terms [1,1,1,2,2,2]: term 2 never existed on the leader.
    const follower = core('b', 'a', { hardState: { term: 2, commit: 3 }, entries: logOf([1, 1, 1, 2, 2, 2]) });
    follower.observeEpoch(6, '');
    const prevs = probe(leader, follower);
    // Probe at prev 10 (too short: XLen 6 -> next 7), prev 6 conflicts with XTerm 2,
    // which the leader lacks -> next = XIndex 4, prev 3 matches.
    expect(prevs).toEqual([10, 6, 3]);
    expect(follower.status().lastIndex).toBe(11);
    expect(follower.entryAt(4)?.term).toBe(4);
  });

  it('case 2: the leader has XTerm: next = its last entry of XTerm + 1', () => {
    const leader = leaderWith(leaderTerms);
    // Follower has term 4 at 4..7; the leader's last term-4 entry is 5.
    const follower = core('b', 'a', { hardState: { term: 4, commit: 3 }, entries: logOf([1, 1, 1, 4, 4, 4, 4]) });
    follower.observeEpoch(6, '');
    const prevs = probe(leader, follower);
    // prev 10 too short (XLen 7 -> next 8); prev 7 has XTerm 4 from XIndex 4; the
    // leader's last term-4 entry is 5 -> next 6, prev 5 matches.
    expect(prevs).toEqual([10, 7, 5]);
    expect(follower.entryAt(6)?.term).toBe(5);
    expect(follower.status().lastIndex).toBe(11);
  });

  it('case 3: the follower log is too short: next = XLen + 1', () => {
    const leader = leaderWith(leaderTerms);
    const follower = core('b', 'a', { hardState: { term: 4, commit: 3 }, entries: logOf([1, 1, 1, 4]) });
    follower.observeEpoch(6, '');
    const prevs = probe(leader, follower);
    expect(prevs).toEqual([10, 4]);
    expect(follower.status().lastIndex).toBe(11);
  });

  it('the follower reports XTerm, XIndex and XLen', () => {
    const f = core('b', 'a', { entries: logOf([1, 1, 1, 2, 2, 2]) });
    f.observeEpoch(6, '');
    f.step({ type: 'append', from: 'a', to: 'b', term: 7, prevLogIndex: 5, prevLogTerm: 4, entries: [], leaderCommit: 0 });
    expect(messagesOf(f.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 5, xTerm: 2, xIndex: 4, xLen: 6 });
    f.step({ type: 'append', from: 'a', to: 'b', term: 7, prevLogIndex: 9, prevLogTerm: 4, entries: [], leaderCommit: 0 });
    expect(messagesOf(f.ready(), 'appendReply')[0]).toMatchObject({ success: false, rejectedIndex: 9, xTerm: 0, xLen: 6 });
  });
});

describe('stepping down on a higher term (§5.1)', () => {
  it('a leader that sees a higher term becomes follower, reports the loss and drops its un-mirrored suffix', () => {
    const a = core('a', 'b');
    makeLeader(a, 1);
    a.mirrorCommitted(1, 1);
    expect(a.propose([new Uint8Array([1]), new Uint8Array([2])])).toEqual({ ok: true, firstIndex: 2, term: 1 });
    const rd = a.ready();
    expect(rd.toMirror.map((e) => e.index)).toEqual([2, 3]);
    a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 2, commit: 0, commitTerm: 0 });
    const after = a.ready();
    expect(a.softState()).toEqual({ role: 'follower', term: 2, leaderId: 'b' });
    expect(after.leadershipLost).toMatchObject({ term: 1, commit: 1, sentToMirror: 3 });
    expect(after.truncateFrom).toBe(2);
    expect(a.status().lastIndex).toBe(1);
  });

  it('a follower adopts a higher term from an append and records its leader', () => {
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.observeEpoch(4, 'x'); // the epoch watch saw term 4; the leader of 5 is faster
    b.step({ type: 'append', from: 'a', to: 'b', term: 5, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 });
    expect(b.softState()).toEqual({ role: 'follower', term: 5, leaderId: 'a' });
    expect(b.ready().hardState).toMatchObject({ term: 5 });
  });

  it('a message from a lower term is answered with our term and changes nothing', () => {
    const b = core('b', 'a', { hardState: { term: 5, commit: 0 } });
    b.step({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 3)], leaderCommit: 1 });
    const rd = b.ready();
    expect(messagesOf(rd, 'appendReply')[0]).toMatchObject({ success: false, term: 5 });
    expect(b.status().lastIndex).toBe(0);
    expect(b.softState().term).toBe(5);
  });

  it('the epoch watch deposes a leader that was fenced while it was paused', () => {
    const a = core('a', 'b');
    makeLeader(a, 1);
    a.observeEpoch(2, 'b');
    expect(a.softState()).toEqual({ role: 'follower', term: 2, leaderId: 'b' });
    expect(a.ready().leadershipLost?.reason).toMatch(/term 2/);
  });

  it('a failed mirror (fenced) makes the leader step down; a stale term is ignored', () => {
    const a = core('a', 'b');
    makeLeader(a, 3);
    a.mirrorFenced(2);
    expect(a.softState().role).toBe('leader');
    a.mirrorFenced(3);
    expect(a.softState().role).toBe('follower');
    expect(a.ready().leadershipLost?.reason).toBe('fenced in ZooKeeper');
  });
});

describe('lapsed lease (ZooKeeper slow or unreachable)', () => {
  const silence = defaultCoreTicks.lapseSilenceTicks;

  function lapsedLeader() {
    const a = core('a', 'b');
    const b = core('b', 'a');
    b.observeEpoch(3, 'a');
    for (const m of makeLeader(a, 3).messages) expect(b.step(m)).toBeNull();
    for (const r of b.ready().messages) a.step(r);
    a.ready();
    a.leaseExpired(3);
    return { a, b };
  }

  /** Ticks both for n ticks, delivering a's messages to b (b's answers are dropped); returns how many a sent. */
  function run(a: RaftCore, b: RaftCore, n: number): number {
    let sent = 0;
    for (let t = 0; t < n; t++) {
      a.tick();
      for (const m of a.ready().messages) {
        sent++;
        b.step(m);
      }
      b.tick();
      b.ready();
    }
    return sent;
  }

  it('keeps its term and takes writes (the epoch check in ZooKeeper decides them) until it falls silent, then refuses them', () => {
    const { a } = lapsedLeader();
    expect(a.softState().role).toBe('leader');
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: true });
    expect(messagesOf(a.ready(), 'append')).toHaveLength(1);
    tickN(a, silence);
    expect(a.softState().role).toBe('leader');
    expect(a.propose([new Uint8Array([2])])).toMatchObject({ ok: false, reason: 'lease-lapsed' });
  });

  it('keeps heartbeating for lapseSilenceTicks, so a lapse from one lost packet to ZooKeeper does not start an election', () => {
    const { a, b } = lapsedLeader();
    expect(silence).toBeGreaterThan(2 * defaultCoreTicks.electionTimeoutTicks);
    expect(run(a, b, silence - 1)).toBeGreaterThan(0);
    expect(b.softState()).toMatchObject({ role: 'follower', leaderId: 'a' });
    a.step({ type: 'vote', from: 'b', to: 'a', term: 4, lastLogIndex: 1, lastLogTerm: 3, preVote: true, transfer: false });
    expect(messagesOf(a.ready(), 'voteReply')[0]).toMatchObject({ granted: false, reason: 'is-leader' });
  });

  it('then falls silent, so the follower times out and can take over', () => {
    const { a, b } = lapsedLeader();
    run(a, b, silence);
    expect(run(a, b, 3 * defaultCoreTicks.electionTimeoutTicks)).toBe(0);
    expect(b.softState().role).not.toBe('follower');
  });

  it('a ZooKeeper that is slow, not unreachable (touches land, too late to renew): never falls silent, keeps taking writes', () => {
    const { a, b } = lapsedLeader();
    for (let round = 0; round < 3; round++) {
      expect(run(a, b, silence - 1)).toBeGreaterThan(0);
      a.leaseTouchLanded(3);
    }
    expect(a.propose([new Uint8Array([7])])).toMatchObject({ ok: true });
    expect(b.softState()).toMatchObject({ role: 'follower', leaderId: 'a' });
    // A touch of another term does not count.
    a.leaseTouchLanded(2);
    run(a, b, silence);
    expect(a.propose([new Uint8Array([8])])).toMatchObject({ ok: false, reason: 'lease-lapsed' });
  });

  it('once silent, no longer objects to a pre-vote', () => {
    const { a } = lapsedLeader();
    tickN(a, silence);
    a.step({ type: 'vote', from: 'b', to: 'a', term: 4, lastLogIndex: 1, lastLogTerm: 3, preVote: true, transfer: false });
    expect(messagesOf(a.ready(), 'voteReply')[0]).toMatchObject({ granted: true });
  });

  it('a second expiry while lapsed does not restart the count', () => {
    const { a } = lapsedLeader();
    tickN(a, silence - 1);
    a.leaseExpired(3);
    const after = tickN(a, 2 * defaultCoreTicks.heartbeatTicks);
    expect(after.flatMap((rd) => messagesOf(rd, 'heartbeat'))).toHaveLength(0);
  });

  it('resumes when a renewal succeeds', () => {
    const { a } = lapsedLeader();
    a.leaseRenewed(3);
    a.tick();
    expect(messagesOf(a.ready(), 'heartbeat')).toHaveLength(1);
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: true });
    expect(messagesOf(a.ready(), 'append')).toHaveLength(1);
  });

  it('an expiry for another term is ignored', () => {
    const a = core('a', 'b');
    makeLeader(a, 3);
    a.leaseExpired(2);
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: true });
  });
});

describe('commit only through the commit point (duoraft)', () => {
  it('follower acknowledgements never advance the leader commit index', () => {
    const a = core('a', 'b');
    const first = makeLeader(a, 1);
    a.propose([new Uint8Array([1])]);
    const second = a.ready();
    const b = core('b', 'a');
    let pending = [...first.messages, ...second.messages];
    for (let round = 0; round < 5 && pending.length > 0; round++) {
      for (const m of pending) b.step(m);
      for (const r of b.ready().messages) a.step(r);
      pending = a.ready().messages.slice();
    }
    expect(a.status().follower?.match).toBe(2);
    expect(a.status().commit).toBe(0);
    expect(a.ready().committed).toEqual([]);
  });

  it('mirrorCommitted advances the commit index and hands out committed entries in order', () => {
    const a = core('a', 'b');
    makeLeader(a, 1);
    a.propose([new Uint8Array([1]), new Uint8Array([2])]);
    a.ready();
    a.mirrorCommitted(1, 2);
    expect(a.ready().committed.map((e) => e.index)).toEqual([1, 2]);
    a.mirrorCommitted(1, 3);
    expect(a.ready().committed.map((e) => e.index)).toEqual([3]);
    expect(a.committedInCurrentTerm()).toBe(true);
  });

  it('refuses an acknowledgement for entries never handed to the mirror', () => {
    const a = core('a', 'b');
    makeLeader(a, 1);
    a.propose([new Uint8Array([1])]);
    expect(() => a.mirrorCommitted(1, 2)).toThrow(/invariant/);
  });

  it('an acknowledgement for another term is ignored', () => {
    const a = core('a', 'b');
    makeLeader(a, 2);
    a.mirrorCommitted(1, 1);
    expect(a.status().commit).toBe(0);
  });

  it('a follower commits only what its leader (or ZooKeeper) says is committed', () => {
    const b = core('b', 'a');
    b.observeEpoch(1, 'a');
    b.step({ type: 'append', from: 'a', to: 'b', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: entries([1, 1], [2, 1], [3, 1]), leaderCommit: 1 });
    expect(b.ready().committed.map((e) => e.index)).toEqual([1]);
    b.committedFromZk(entries([2, 1]), 2);
    expect(b.ready().committed.map((e) => e.index)).toEqual([2]);
  });
});

describe('take-over replay (duoraft: fence, then replay ZooKeeper)', () => {
  it('merges ZooKeeper entries, drops local entries past its tail, then appends the no-op', () => {
    // Local log: 1..5 where 4,5 (term 2) were never committed; ZooKeeper holds 1..4 with 4 of term 3.
    const a = core('a', 'b', { hardState: { term: 3, commit: 2 }, entries: logOf([1, 1, 2, 2, 2]) });
    const rd = tickUntilTakeover(a);
    expect(rd?.takeover?.commit).toBe(2);
    a.takeoverResult({ ok: true, term: 4, entries: entries([3, 2], [4, 3]), zkLastIndex: 4 });
    const out = a.ready();
    expect(a.softState()).toMatchObject({ role: 'leader', term: 4 });
    expect([1, 2, 3, 4, 5].map((i) => a.entryAt(i)?.term)).toEqual([1, 1, 2, 3, 4]);
    expect(out.truncateFrom).toBe(4);
    expect(out.committed.map((e) => e.index)).toEqual([3, 4]); // 1..2 were applied before
    expect(out.toMirror.map((e) => [e.index, e.term, e.type])).toEqual([[5, 4, EntryType.Noop]]);
  });

  it('a take-over result for a term below ours is ignored', () => {
    const a = core('a', 'b');
    tickUntilTakeover(a);
    a.observeEpoch(5, 'b');
    a.takeoverResult({ ok: true, term: 3, entries: [], zkLastIndex: 0 });
    expect(a.softState()).toEqual({ role: 'follower', term: 5, leaderId: 'b' });
  });
});

describe('follower catch-up from ZooKeeper (L2: link cut, lease alive)', () => {
  it('commits entries read from ZooKeeper and keeps the leader entries after them', () => {
    const b = core('b', 'a', { hardState: { term: 1, commit: 1 }, entries: logOf([1, 1, 1]) });
    expect(b.ready().committed.map((e) => e.index)).toEqual([1]);
    b.committedFromZk(entries([2, 1], [3, 1], [4, 1]), 4);
    const rd = b.ready();
    expect(rd.committed.map((e) => e.index)).toEqual([2, 3, 4]);
    expect(b.status().lastIndex).toBe(4);
  });

  it('replaces a stale uncommitted suffix that conflicts with ZooKeeper', () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 1 }, entries: logOf([1, 1, 1]) });
    b.committedFromZk(entries([2, 2]), 2);
    const rd = b.ready();
    expect(rd.truncateFrom).toBe(2);
    expect(b.entryAt(2)?.term).toBe(2);
    expect(b.entryAt(3)).toBeUndefined();
  });

  it('stays a pre-candidate (no take-over) while the lease keeps changing', () => {
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    for (let t = 0; t < 200; t++) {
      if (t % 2 === 0) b.observeLease(t);
      b.tick();
      const rd = b.ready();
      for (const m of messagesOf(rd, 'vote')) b.step({ type: 'unreachable', from: m.to, to: 'b', term: 0 });
      expect(rd.takeover).toBeUndefined();
    }
    expect(b.softState().role).toBe('precandidate');
  });
});

/** Leader a (with these overrides) and follower b, after the probe round: a replicates to b. */
function replicatingPair(overrides: Partial<CoreConfig>): { a: RaftCore; b: RaftCore } {
  const a = new RaftCore(config('a', 'b', overrides), new SeededRandom(1));
  const b = core('b', 'a');
  b.observeEpoch(1, 'a');
  for (const m of makeLeader(a, 1).messages) b.step(m);
  for (const r of b.ready().messages) a.step(r);
  a.ready();
  expect(a.status().follower).toMatchObject({ state: 'replicate', match: 1 });
  return { a, b };
}

/** Appends a sends while five one-byte entries are proposed one by one and nothing is answered. */
function appendsForFiveSmallProposals(a: RaftCore): number {
  let appends = 0;
  for (let k = 0; k < 5; k++) {
    a.propose([new Uint8Array([k])]);
    appends += messagesOf(a.ready(), 'append').length;
  }
  return appends;
}

describe('leader replication: which appends the leader waits on (Awaited)', () => {
  it('a trickle of small appends is not awaited, even when it fills the window by count', () => {
    const { a } = replicatingPair({ maxInflightAppends: 2 });
    const sent: boolean[] = [];
    for (let k = 0; k < 2; k++) {
      a.propose([new Uint8Array([k])]);
      for (const m of messagesOf(a.ready(), 'append')) sent.push(m.awaited === true);
    }
    expect(sent).toEqual([false, false]);
  });

  it('an append that fills the window with bytes is awaited (the follower is far behind), and its reply says so', () => {
    const { a } = replicatingPair({ maxInflightAppends: 8, maxAppendBytes: 100, maxInflightBytes: 100 });
    const flags: boolean[] = [];
    for (let k = 0; k < 2; k++) {
      a.propose([new Uint8Array(60)]);
      for (const m of messagesOf(a.ready(), 'append')) flags.push(m.awaited === true);
    }
    // 60 bytes in flight leave room; 120 fill the window.
    expect(flags).toEqual([false, true]);
    const { a: a2, b: b2 } = replicatingPair({ maxInflightAppends: 8, maxAppendBytes: 100, maxInflightBytes: 100 });
    a2.propose([new Uint8Array(100)]);
    const m = messagesOf(a2.ready(), 'append')[0]!;
    expect(m.awaited).toBe(true);
    b2.step({ ...m, rpcId: 5 });
    expect(messagesOf(b2.ready(), 'appendReply')[0]).toMatchObject({ success: true, rpcId: 5, awaited: true });
  });

  it('a probe is awaited', () => {
    const { a } = replicatingPair({});
    a.step({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    a.ready();
    a.step({ type: 'heartbeatReply', from: 'b', to: 'a', term: 1, lastIndex: 1, leaderMatch: 1 });
    const probes = messagesOf(a.ready(), 'append');
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ entries: [], awaited: true });
  });

  it('a transfer sends an awaited heartbeat at once when the follower has not answered for everything, and the reply carries it', () => {
    const { a, b } = replicatingPair({});
    a.mirrorCommitted(1, 1);
    a.propose([new Uint8Array([1])]);
    const append = messagesOf(a.ready(), 'append')[0]!;
    expect(append.awaited).toBeUndefined();
    expect(a.transferLeadership()).toBe(true);
    const hb = messagesOf(a.ready(), 'heartbeat');
    expect(hb).toHaveLength(1);
    expect(hb[0]!.awaited).toBe(true);
    b.step(append);
    b.ready();
    b.step({ ...hb[0]!, rpcId: 9 });
    expect(messagesOf(b.ready(), 'heartbeatReply')[0]).toMatchObject({ rpcId: 9, awaited: true });
  });

  it('a heartbeat carries the commit index up to what was sent, before the follower answers for it (review 24)', () => {
    const { a, b } = replicatingPair({});
    a.mirrorCommitted(1, 1);
    a.propose([new Uint8Array([7])]);
    const append = messagesOf(a.ready(), 'append')[0]!;
    a.mirrorCommitted(1, 2); // ZooKeeper holds entry 2; the follower has not answered for it
    expect(a.status().follower).toMatchObject({ match: 1 });
    const hb = tickN(a, 4).flatMap((rd) => messagesOf(rd, 'heartbeat'));
    expect(hb.length).toBeGreaterThan(0);
    expect(hb[hb.length - 1]!.commit).toBe(2);
    // The follower that holds entry 2 commits it from the heartbeat, its reply still held.
    b.step(append);
    b.ready();
    b.step(hb[hb.length - 1]!);
    expect(b.status().commit).toBe(2);
  });

  it('a heartbeat outside a transfer is not awaited', () => {
    const { a } = replicatingPair({});
    const hbs = tickN(a, 6).flatMap((rd) => messagesOf(rd, 'heartbeat'));
    expect(hbs.length).toBeGreaterThan(0);
    expect(hbs.every((h) => h.awaited === undefined)).toBe(true);
  });
});

describe('leader replication', () => {
  it('pipelines appends up to the in-flight bound once the follower matches', () => {
    const { a } = replicatingPair({ maxInflightAppends: 2 });
    expect(appendsForFiveSmallProposals(a)).toBe(2);
  });

  it('bounds the entry bytes in flight: large messages go one at a time, small ones still pipeline', () => {
    const { a, b } = replicatingPair({ maxInflightAppends: 8, maxAppendBytes: 100, maxInflightBytes: 100 });
    // Ten 60-byte entries: each message holds one (two would pass 100 bytes), and a
    // message in flight of 60 bytes leaves room for a second, then the bound is reached.
    a.propose(Array.from({ length: 10 }, () => new Uint8Array(60)));
    const first = messagesOf(a.ready(), 'append');
    expect(first.map((m) => m.entries.length)).toEqual([1, 1]);
    // Nothing more until a reply frees the bytes; then exactly as many as fit again.
    a.tick();
    expect(messagesOf(a.ready(), 'append')).toHaveLength(0);
    b.step(first[0]!);
    for (const r of b.ready().messages) if (r.type === 'appendReply') a.step(r);
    const next = messagesOf(a.ready(), 'append');
    expect(next).toHaveLength(1);
    expect(next[0]!.entries[0]!.index).toBe(first[1]!.entries[0]!.index + 1);
    // Small entries pipeline up to the message bound while their bytes fit.
    expect(appendsForFiveSmallProposals(replicatingPair({ maxInflightAppends: 3, maxAppendBytes: 100, maxInflightBytes: 100 }).a)).toBe(3);
  });

  it('a lost append is resent once the follower shows no progress for appendStallHeartbeats heartbeats, not before', () => {
    const cfg = config('a', 'b');
    const a = new RaftCore(cfg, new SeededRandom(1));
    const b = core('b', 'a');
    for (const m of makeLeader(a, 1).messages) b.step(m);
    for (const r of b.ready().messages) a.step(r);
    a.ready();
    a.propose([new Uint8Array([9])]);
    expect(messagesOf(a.ready(), 'append')).toHaveLength(1); // dropped on the floor
    let heartbeats = 0;
    let resentAfter = -1;
    const bound = (cfg.appendStallHeartbeats + 3) * cfg.heartbeatTicks;
    for (let t = 0; t < bound && resentAfter < 0; t++) {
      a.tick();
      for (const m of a.ready().messages) {
        if (m.type === 'heartbeat') heartbeats++;
        if (m.type === 'append' && m.entries.some((e) => e.index === 2)) resentAfter = heartbeats;
        b.step(m);
      }
      for (const r of b.ready().messages) a.step(r);
    }
    // A slow follower is not reset early (it would never catch up from far behind) ...
    expect(resentAfter).toBeGreaterThanOrEqual(cfg.appendStallHeartbeats);
    // ... and a lost append is still resent in bounded time.
    expect(resentAfter).toBeLessThanOrEqual(cfg.appendStallHeartbeats + 2);
  });
});

describe('an unreachable follower', () => {
  it('is not re-sent to at once; the next heartbeat reply resumes probing', () => {
    const a = core('a', 'b');
    const b = core('b', 'a');
    for (const m of makeLeader(a, 1).messages) b.step(m);
    for (const m of b.ready().messages) a.step(m);
    a.ready();
    a.propose([new Uint8Array([1])]);
    expect(messagesOf(a.ready(), 'append')).toHaveLength(1);
    a.step({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    expect(a.ready().messages).toEqual([]);
    a.propose([new Uint8Array([2])]);
    expect(messagesOf(a.ready(), 'append')).toHaveLength(0);
    // Heartbeats go on; an answer to one shows the peer is back.
    a.tick();
    a.tick();
    const hb = messagesOf(a.ready(), 'heartbeat');
    expect(hb).toHaveLength(1);
    b.step(hb[0]!);
    for (const m of b.ready().messages) a.step(m);
    expect(messagesOf(a.ready(), 'append').length).toBeGreaterThan(0);
  });
});

describe('a follower that lost its log', () => {
  it('is re-probed from its end when a heartbeat shows it holds less than it acknowledged', () => {
    const a = core('a', 'b');
    let b = core('b', 'a');
    const deliver = (rounds: number): void => {
      for (let r = 0; r < rounds; r++) {
        a.tick();
        for (const m of a.ready().messages) b.step(m);
        for (const m of b.ready().messages) a.step(m);
      }
    };
    b.observeEpoch(1, 'a');
    for (const m of makeLeader(a, 1).messages) b.step(m);
    for (const m of b.ready().messages) a.step(m);
    a.propose([new Uint8Array([1]), new Uint8Array([2])]);
    for (const m of a.ready().messages) b.step(m);
    for (const m of b.ready().messages) a.step(m);
    a.mirrorCommitted(1, 3);
    deliver(6);
    expect(a.status().follower?.match).toBe(3);
    expect(b.status().commit).toBe(3);
    // The follower comes back with an empty log (its WAL was corrupt and set aside).
    b = core('b', 'a');
    b.observeEpoch(1, 'a');
    deliver(10);
    expect(b.status().lastIndex).toBe(3);
    expect(b.status().commit).toBe(3);
    expect(a.status().follower?.match).toBe(3);
  });
});

describe('leadership transfer', () => {
  it('waits until the follower and ZooKeeper hold everything, then relinquishes the lease and sends TimeoutNow', () => {
    const { a, b } = replicatingPair({});
    expect(a.transferLeadership()).toBe(true);
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: false, reason: 'transferring' });
    expect(messagesOf(a.ready(), 'timeoutNow')).toHaveLength(0); // the no-op is not mirrored yet
    a.mirrorCommitted(1, 1);
    a.tick();
    const rd = a.ready();
    expect(rd.relinquishLease).toBe(1);
    const tn = messagesOf(rd, 'timeoutNow')[0]!;
    // The driver writes the relinquished lease record and fills in its version; the
    // follower's lease watch saw it (fuzz finding 5): it fences against that version at once.
    b.observeLease(42, 0, { term: 1, holder: 'a', relinquished: true });
    b.step({ ...tn, leaseVersion: 42 });
    expect(b.ready().takeover).toMatchObject({ transfer: true, leaseVersion: 42 });
  });

  it("a heartbeat or append the leader sent before its TimeoutNow, arriving after it, does not undo the take-over", () => {
    const { a, b } = replicatingPair({});
    a.mirrorCommitted(1, 1);
    expect(a.transferLeadership()).toBe(true);
    a.tick();
    const tn = messagesOf(a.ready(), 'timeoutNow')[0]!;
    expect(tn).toBeDefined();
    // Separate calls: the TimeoutNow is handled first, a heartbeat and an append the leader
    // sent earlier right after it, before the driver has collected the take-over.
    // The TimeoutNow also beats the lease watch: the follower waits on ZooKeeper's word as
    // a pre-candidate, and the leader's earlier messages must not undo that either.
    b.step({ ...tn, leaseVersion: 42 });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: tn.term, commit: 1, commitTerm: 1 });
    b.step({ type: 'append', from: 'a', to: 'b', term: tn.term, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1 });
    expect(b.softState().role).toBe('precandidate');
    expect(b.ready().takeover).toBeUndefined();
    b.observeLease(42, 0, { term: 1, holder: 'a', relinquished: true });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: tn.term, commit: 1, commitTerm: 1 });
    b.step({ type: 'append', from: 'a', to: 'b', term: tn.term, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1 });
    expect(b.softState().role).toBe('candidate');
    expect(b.ready().takeover).toMatchObject({ transfer: true, leaseVersion: 42 });
  });

  it("a leader's refusal of an ordinary pre-vote, arriving after a TimeoutNow began the hand-over's, does not end the hand-over (review 37)", () => {
    const { a, b } = replicatingPair({});
    a.mirrorCommitted(1, 1);
    // The follower's election timer fires (its event loop stalled): an ordinary pre-vote.
    let first: Message | undefined;
    for (let t = 0; t < 100 && first === undefined; t++) {
      b.tick();
      first = messagesOf(b.ready(), 'vote')[0];
    }
    expect(first).toMatchObject({ type: 'vote', transfer: false, round: 1 });
    a.step(first!);
    const refusal = messagesOf(a.ready(), 'voteReply')[0]!;
    expect(refusal).toMatchObject({ granted: false, reason: 'is-leader', round: 1 });
    // A heartbeat the leader sent meanwhile makes it a follower again; then the hand-over.
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 1, commitTerm: 1 });
    expect(b.softState().role).toBe('follower');
    expect(a.transferLeadership()).toBe(true);
    a.tick();
    const tn = messagesOf(a.ready(), 'timeoutNow')[0]!;
    b.step({ ...tn, leaseVersion: 42 });
    const second = messagesOf(b.ready(), 'vote')[0]!;
    expect(second).toMatchObject({ transfer: true, round: 2 });
    // The refusal of the first round arrives late: it is not the answer to the hand-over's.
    b.step(refusal);
    expect(b.softState().role).toBe('precandidate');
    expect(b.ready().handOverUnconfirmed).toBeUndefined();
    // The hand-over's own answer decides: the leader that handed over does not object, and
    // the lease watch confirms the hand-over, so the follower fences at once.
    a.step(second);
    const answer = messagesOf(a.ready(), 'voteReply')[0]!;
    expect(answer).toMatchObject({ granted: true, round: 2 });
    b.step(answer);
    b.observeLease(42, 0, { term: 1, holder: 'a', relinquished: true });
    expect(b.softState().role).toBe('candidate');
    expect(b.ready().takeover).toMatchObject({ transfer: true, leaseVersion: 42 });
  });

  it("a stale-term refusal of an earlier pre-vote echoes its round: arriving after a TimeoutNow began the hand-over's, it does not end the hand-over (review 42)", () => {
    // The leader is two terms ahead of the follower (two fences the follower did not see).
    const a = core('a', 'b');
    makeLeader(a, 3);
    const b = core('b', 'a');
    b.observeEpoch(1, 'a');
    let first: Message | undefined;
    for (let t = 0; t < 100 && first === undefined; t++) {
      b.tick();
      first = messagesOf(b.ready(), 'vote')[0];
    }
    expect(first).toMatchObject({ type: 'vote', term: 2, transfer: false, round: 1 });
    // Below the leader's term: answered as stale (raft.ts answerStale, not VoteAnswer).
    a.step(first!);
    const refusal = messagesOf(a.ready(), 'voteReply')[0]!;
    expect(refusal).toMatchObject({ granted: false, reason: 'stale-term', term: 3, round: 1 });
    // The follower learns term 3 and its leader before that answer comes; then the hand-over.
    b.observeEpoch(3, 'a');
    expect(b.softState()).toMatchObject({ role: 'follower', term: 3 });
    b.step({ type: 'timeoutNow', from: 'a', to: 'b', term: 3, leaseVersion: 42 });
    const second = messagesOf(b.ready(), 'vote')[0]!;
    expect(second).toMatchObject({ term: 4, transfer: true, round: 2 });
    // The first round's refusal, now in the follower's own term, is not the hand-over's answer.
    b.step(refusal);
    expect(b.softState().role).toBe('precandidate');
    b.observeLease(42, 0, { term: 3, holder: 'a', relinquished: true });
    expect(b.softState().role).toBe('candidate');
    expect(b.ready().takeover).toMatchObject({ transfer: true, leaseVersion: 42 });
  });

  it('gives up a transfer the follower does not complete, and takes the lease back', () => {
    const { a } = replicatingPair({ transferTimeoutTicks: 20 });
    a.mirrorCommitted(1, 1);
    a.transferLeadership();
    a.tick();
    expect(a.ready().relinquishLease).toBe(1); // TimeoutNow went out (and was lost)
    let resumed = false;
    for (let t = 0; t < 30 && !resumed; t++) {
      a.tick();
      resumed = a.ready().resumeLease === true;
    }
    expect(resumed).toBe(true);
    expect(a.softState().role).toBe('leader');
    expect(a.status().transferring).toBe(false);
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: true });
  });

  it('the peer it transferred to is demoted after the TimeoutNow: the transfer ends at once, the lease is taken back, writes go on (review 12)', () => {
    const { a } = replicatingPair({});
    a.mirrorCommitted(1, 1);
    a.transferLeadership();
    a.tick();
    expect(a.ready().relinquishLease).toBe(1);
    // `duoraft admin demote b` lands before b fences (b's fence then fails its config check).
    a.setPeer('');
    expect(a.status().transferring).toBe(false);
    expect(a.ready().resumeLease).toBe(true);
    expect(a.softState().role).toBe('leader');
    expect(a.propose([new Uint8Array([1])])).toMatchObject({ ok: true });
  });
});

describe('the other voter removed or replaced (config followed live)', () => {
  it('a follower forgets a demoted peer as its leader (clients are not sent there)', () => {
    const { b } = replicatingPair({});
    expect(b.softState().leaderId).toBe('a');
    b.setPeer('');
    expect(b.softState().leaderId).toBe('');
  });
});
