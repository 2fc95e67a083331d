// Issue 11, point 3: a hash-chained log. A forged, corrupt or divergent entry is detected;
// two logs agree up to an index exactly when their chain values there are equal.
import { describe, expect, it } from 'vitest';
import { chainNext, genesisChain } from '../../../src/core/chain.js';
import { ChainMismatchError } from '../../../src/core/log.js';
import type { AppendEntries } from '../../../src/core/messages.js';
import { type ChainedEntry, type Entry, EntryType } from '../../../src/core/types.js';
import { core, logOf, messagesOf, testGenesis } from './helpers.js';

/** Chains plain entries from the tests' genesis (as a leader's log would). */
function chained(entries: readonly Entry[], from: Uint8Array = testGenesis): ChainedEntry[] {
  let prev: Uint8Array = from;
  return entries.map((e) => {
    const chain = chainNext(prev, e);
    prev = chain;
    return { ...e, chain };
  });
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('chain values', () => {
  it('depend on the content and on every entry before it, and on the cluster', () => {
    const a = chained(logOf([1, 1, 2]));
    const b = chained([...logOf([1, 1]), { index: 3, term: 2, type: EntryType.Normal, data: text('other') }]);
    expect(Buffer.from(a[1]!.chain).equals(Buffer.from(b[1]!.chain))).toBe(true);
    expect(Buffer.from(a[2]!.chain).equals(Buffer.from(b[2]!.chain))).toBe(false);
    const c = chained(logOf([1, 1, 2]), genesisChain('another-cluster'));
    expect(Buffer.from(a[0]!.chain).equals(Buffer.from(c[0]!.chain))).toBe(false);
  });

  it('a restored log whose chain does not hold is refused (the node rebuilds)', () => {
    const good = chained(logOf([1, 1, 1]));
    const tampered = [good[0]!, { ...good[1]!, data: text('tampered') }, good[2]!];
    expect(() => core('b', 'a', { hardState: { term: 1, commit: 1 }, entries: tampered })).toThrow(ChainMismatchError);
    expect(() => core('b', 'a', { hardState: { term: 1, commit: 1 }, entries: good })).not.toThrow();
  });
});

describe('a follower checks the chain before it merges', () => {
  const follower = () => {
    const b = core('b', 'a', { hardState: { term: 2, commit: 2 }, entries: chained(logOf([1, 2])) });
    return b;
  };
  const leaderLog = chained(logOf([1, 2, 2, 2]));
  const append = (over: Partial<AppendEntries> = {}): AppendEntries => ({
    type: 'append',
    from: 'a',
    to: 'b',
    term: 2,
    prevLogIndex: 2,
    prevLogTerm: 2,
    prevLogChain: leaderLog[1]!.chain,
    entries: leaderLog.slice(2),
    leaderCommit: 2,
    ...over,
  });

  it('takes entries that chain onto its log', () => {
    const b = follower();
    expect(b.step(append())).toBeNull();
    expect(b.status().lastIndex).toBe(4);
  });

  it('drops a message whose entry was corrupted in transit (its chain value does not follow): nothing changes', () => {
    const b = follower();
    const bad = [{ ...leaderLog[2]!, data: text('flipped') }, leaderLog[3]!];
    expect(b.step(append({ entries: bad }))).toMatch(/hash chain broken at index 3/);
    expect(b.status().lastIndex).toBe(2);
    expect(messagesOf(b.ready(), 'appendReply')).toEqual([]);
  });

  it('an uncommitted entry of the same term but other content is replaced: the leader starts again from the commit index', () => {
    const own = chained([...logOf([1, 2]), { index: 3, term: 2, type: EntryType.Normal, data: text('not the leader s') }]);
    const b = core('b', 'a', { hardState: { term: 2, commit: 2 }, entries: own });
    // The leader's prev (3, term 2) has the same term but another chain value.
    b.step(append({ prevLogIndex: 3, prevLogTerm: 2, prevLogChain: leaderLog[2]!.chain, entries: [leaderLog[3]!] }));
    expect(messagesOf(b.ready(), 'appendReply')[0]).toMatchObject({ success: false, xTerm: 0, xLen: 2 });
    // The leader resends from 3: the term is the same, the chain says the entry differs.
    b.step(append());
    expect(b.entryAt(3)?.data).toEqual(leaderLog[2]!.data);
    expect(b.status().lastIndex).toBe(4);
  });

  it('a committed entry that differs from the leader’s is a divergence: the node stops and says where', () => {
    const own = chained([logOf([1])[0]!, { index: 2, term: 2, type: EntryType.Normal, data: text('FORGED') }]);
    const b = core('b', 'a', { hardState: { term: 2, commit: 2 }, entries: own });
    b.step(append());
    const rd = b.ready();
    expect(rd.diverged).toMatchObject({ index: 2 });
    expect(b.step(append())).toMatch(/diverged/);
    expect(b.ready().diverged).toBeUndefined(); // reported once
  });

  it('issue 11 defect 1: a forged append that was committed is found out by the real leader’s next message', () => {
    // Without TLS a process that can reach the follower's port sends an entry at the leader's
    // index with the leader's term, and leaderCommit covering it: the follower commits it.
    const b = core('b', 'a', { hardState: { term: 2, commit: 2 }, entries: chained(logOf([1, 2])) });
    const forged = chained([{ index: 3, term: 2, type: EntryType.Normal, data: text('put real1=FORGED') }], leaderLog[1]!.chain);
    expect(b.step(append({ entries: forged, leaderCommit: 3 }))).toBeNull();
    expect(b.commitIndex()).toBe(3);
    b.ready();
    // The real leader's next append names its own chain value at 3: the follower sees that its
    // committed entry differs, stops serving, and is rebuilt from ZooKeeper.
    b.step(append({ prevLogIndex: 3, prevLogTerm: 2, prevLogChain: leaderLog[2]!.chain, entries: [leaderLog[3]!], leaderCommit: 4 }));
    expect(b.ready().diverged).toMatchObject({ index: 3 });
  });

  it('a heartbeat whose commit chain differs from a matched entry is a divergence', () => {
    const b = follower();
    b.step(append());
    b.ready();
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 2, commit: 4, commitTerm: 2, commitChain: leaderLog[0]!.chain });
    expect(b.ready().diverged).toMatchObject({ index: 4 });
  });

  it('entries from ZooKeeper that do not chain onto the committed log are a divergence', () => {
    const b = follower();
    const foreign = chained(logOf([2, 2]).map((e, k) => ({ ...e, index: 3 + k })), genesisChain('elsewhere'));
    b.committedFromZk(foreign, 4);
    expect(b.ready().diverged).toMatchObject({ index: 3 });
    expect(b.commitIndex()).toBe(2);
  });
});

describe('issue 11 defect 1 at a take-over', () => {
  it('a committed entry that ZooKeeper holds otherwise is a divergence, found by the replay that starts at the commit index', () => {
    const leaderLog = chained(logOf([1, 2, 2]));
    // Our commit index 3 rests on a forged append: our entry 3 is not the leader's.
    const own = chained([...logOf([1, 2]), { index: 3, term: 2, type: EntryType.Normal, data: text('put real1=FORGED') }]);
    const b = core('b', 'a', { hardState: { term: 2, commit: 3 }, entries: own });
    b.takeoverResult({ ok: true, term: 3, entries: [leaderLog[2]!], zkLastIndex: 3 });
    expect(b.ready().diverged).toMatchObject({ index: 3 });
    expect(b.status().role).toBe('follower');
  });

  it('the same replay of our own entry changes nothing: we lead', () => {
    const log = chained(logOf([1, 2, 2]));
    const b = core('b', 'a', { hardState: { term: 2, commit: 3 }, entries: log });
    b.takeoverResult({ ok: true, term: 3, entries: [log[2]!], zkLastIndex: 3 });
    expect(b.status().role).toBe('leader');
    expect(b.ready().diverged).toBeUndefined();
  });
});
