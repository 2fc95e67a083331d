// Review 10: a node whose commit index is its snapshot point (its log holds no entries up to
// it: restarted from a snapshot taken at its last commit, rebuilt from ZooKeeper's snapshot,
// or just installed one) takes over. The replay starts at the commit index itself (the
// issue 11 defect 1 check), so ZooKeeper's entry at the commit index is compared with what
// the node holds there: the snapshot point's chain value, not an entry.
import { describe, expect, it } from 'vitest';
import { chainNext } from '../../../src/core/chain.js';
import type { ChainedEntry, Entry } from '../../../src/core/types.js';
import { core, logOf, testGenesis, tickUntilTakeover } from './helpers.js';

function chained(entries: readonly Entry[], from: Uint8Array = testGenesis): ChainedEntry[] {
  let prev: Uint8Array = from;
  return entries.map((e) => {
    const chain = chainNext(prev, e);
    prev = chain;
    return { ...e, chain };
  });
}

describe('a take-over by a node whose commit index is its snapshot point', () => {
  it('restarted from a snapshot at its last commit (nothing written since): leads, no divergence', () => {
    const log = chained(logOf([1, 1, 1, 1, 1]));
    const point = { index: 5, term: 1, chain: log[4]!.chain };
    const b = core('b', 'a', { hardState: { term: 1, commit: 5 }, snapshot: point, entries: [] });
    b.ready();
    expect(tickUntilTakeover(b)?.takeover).toBeDefined();
    // The replay reads from commit - 1: ZooKeeper's entry 5 (the same one).
    b.takeoverResult({ ok: true, term: 2, entries: [log[4]!], zkLastIndex: 5 });
    expect(b.ready().diverged).toBeUndefined();
    expect(b.status().role).toBe('leader');
  });

  it('just installed a snapshot at its commit index, then its leader died: leads, no divergence', () => {
    const log = chained(logOf([1, 1, 1, 1, 1, 1]));
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    b.ready();
    expect(b.installSnapshot({ index: 6, term: 1, chain: log[5]!.chain })).toBe(true);
    b.ready();
    expect(tickUntilTakeover(b)?.takeover).toBeDefined();
    b.takeoverResult({ ok: true, term: 2, entries: [log[5]!], zkLastIndex: 6 });
    expect(b.ready().diverged).toBeUndefined();
    expect(b.status().role).toBe('leader');
  });

  it('a follower whose log starts after an installed snapshot takes a late append that overlaps it (no divergence)', () => {
    const log = chained(logOf([1, 1, 1, 1, 1, 1, 1]));
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    b.ready();
    expect(b.installSnapshot({ index: 6, term: 1, chain: log[5]!.chain })).toBe(true);
    b.ready();
    // An append the leader sent before it knew (entries 5..7 after 4): 5 is compacted here, 6
    // is the snapshot point, 7 is new.
    b.step({ type: 'append', from: 'a', to: 'b', term: 1, prevLogIndex: 4, prevLogTerm: 1, prevLogChain: log[3]!.chain, entries: log.slice(4, 7), leaderCommit: 7 });
    expect(b.ready().diverged).toBeUndefined();
    expect(b.status().lastIndex).toBe(7);
  });

  it("still a divergence when ZooKeeper's entry at the snapshot point is not the one the snapshot covers", () => {
    const log = chained(logOf([1, 1, 1, 1, 1]));
    const other = chained(logOf([1, 1, 1, 1, 2]));
    const b = core('b', 'a', { hardState: { term: 1, commit: 5 }, snapshot: { index: 5, term: 1, chain: log[4]!.chain }, entries: [] });
    b.ready();
    expect(tickUntilTakeover(b)?.takeover).toBeDefined();
    b.takeoverResult({ ok: true, term: 3, entries: [other[4]!], zkLastIndex: 5 });
    expect(b.ready().diverged).toMatchObject({ index: 5 });
  });
});

describe('confirmsCommitPoint: a snapshot point at the commit index proves the committed prefix', () => {
  it('true for the same term and chain at the commit index, false for another chain, term or index', () => {
    const log = chained(logOf([1, 1, 1, 1, 1]));
    const b = core('b', 'a', { hardState: { term: 1, commit: 5 }, entries: log });
    b.ready();
    expect(b.confirmsCommitPoint({ index: 5, term: 1, chain: log[4]!.chain })).toBe(true);
    expect(b.confirmsCommitPoint({ index: 5, term: 1, chain: log[3]!.chain })).toBe(false);
    expect(b.confirmsCommitPoint({ index: 5, term: 2, chain: log[4]!.chain })).toBe(false);
    expect(b.confirmsCommitPoint({ index: 4, term: 1, chain: log[3]!.chain })).toBe(false);
  });
});
