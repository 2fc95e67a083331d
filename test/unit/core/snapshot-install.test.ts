// Snapshots in the core (issue 10): compaction, a follower behind the compaction point,
// installing a snapshot, and the local WAL starting over after it.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/messages.js';
import type { RaftCore } from '../../../src/core/raft.js';
import type { Entry } from '../../../src/core/types.js';
import { core, makeLeader, messagesOf } from './helpers.js';

/** Delivers messages both ways until quiet; a snapshot the leader asks for is 'sent' by onNeed. */
function deliver(from: RaftCore, to: RaftCore, onNeed: () => void = () => undefined, rounds = 20): void {
  for (let r = 0; r < rounds; r++) {
    const rd = from.ready();
    if (rd.snapshotNeeded) onNeed();
    for (const m of rd.messages) to.step(m);
    const b = to.ready().messages;
    for (const m of b) from.step(m);
    if (rd.messages.length === 0 && b.length === 0) break;
  }
}

/** A leader of term 1 with entries 1..n committed (ZooKeeper acknowledged them). */
function leaderWith(n: number): RaftCore {
  const a = core('a', 'b');
  makeLeader(a, 1);
  a.propose(Array.from({ length: n - 1 }, (_, i) => new TextEncoder().encode(`e${i}`)));
  a.ready();
  a.mirrorCommitted(1, n);
  a.ready();
  return a;
}

describe('a follower behind the compaction point', () => {
  it('makes the leader ask for a snapshot instead of appends it can no longer send', () => {
    const a = leaderWith(50);
    a.compact(40);
    expect(a.compactedTo().index).toBe(40);
    // b restarted with only the first 10 entries.
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    a.step({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    for (let t = 0; t < 5; t++) a.tick();
    const hb = messagesOf(a.ready(), 'heartbeat');
    expect(hb.length).toBeGreaterThan(0);
    b.step(hb[0]!);
    const replies: readonly Message[] = b.ready().messages;
    for (const m of replies) a.step(m);
    const rd = a.ready();
    expect(rd.snapshotNeeded).toEqual({ peer: 'b', firstIndex: 41 });
    expect(a.status().follower?.state).toBe('snapshot');
    expect(messagesOf(rd, 'append')).toEqual([]);
  });

  it('installs a snapshot: the log starts over after it, the WAL is told to, and replication resumes from there', () => {
    const a = leaderWith(50);
    a.compact(40);
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    b.ready();
    const point = { index: 45, term: 1, chain: a.entryAt(45)!.chain };
    expect(b.installSnapshot(point)).toBe(true);
    const rd = b.ready();
    expect(rd.logReset).toEqual(point);
    expect(b.commitIndex()).toBe(45);
    expect(rd.committed).toEqual([]);
    // The leader finds it needs a snapshot, the driver sends it (installed above), the leader
    // learns where it was installed, probes after it, and sends the rest.
    a.step({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    a.ready();
    let needed = false;
    const onNeed = (): void => {
      needed = true;
      a.snapshotSent('b', 45);
    };
    for (let t = 0; t < 10; t++) {
      a.tick();
      deliver(a, b, onNeed);
    }
    expect(needed).toBe(true);
    expect(b.status().lastIndex).toBe(50);
    expect(b.commitIndex()).toBe(50);
  });

  it('refuses a snapshot that brings nothing new, or while leading', () => {
    const a = leaderWith(10);
    expect(a.installSnapshot({ index: 20, term: 1, chain: new Uint8Array(16) })).toBe(false);
    const b = core('b', 'a', { hardState: { term: 1, commit: 0 } });
    b.committedFromZk([], 0);
    expect(b.installSnapshot({ index: 0, term: 0, chain: new Uint8Array(16) })).toBe(false);
  });
});

describe('a node restarted on a snapshot at its commit index', () => {
  // Found by the simulator (seed 37 once it took snapshots): a node whose newest snapshot is
  // at its commit index restarts with no entry there, only the snapshot point. The take-over
  // replay (and the follower's catch-up from ZooKeeper) starts at the commit index itself and
  // compares ZooKeeper's entry there with this node's: the snapshot point must count as
  // holding it, or the node declares itself diverged and stops serving.
  function restartedOnSnapshot(): { b: RaftCore; zk: Entry[] } {
    const a = leaderWith(50);
    const zk = Array.from({ length: 11 }, (_, k) => a.entryAt(40 + k)!);
    const point = { index: 40, term: zk[0]!.term, chain: zk[0]!.chain! };
    const b = core('b', 'a', { hardState: { term: 1, commit: 40 }, snapshot: point, entries: [] });
    return { b, zk };
  }

  it('takes over, replaying from its commit index, without diverging', () => {
    const { b, zk } = restartedOnSnapshot();
    const rd = makeLeader(b, 2, zk, 50);
    expect(rd.diverged).toBeUndefined();
    expect(b.softState().role).toBe('leader');
    expect(b.commitIndex()).toBe(50);
  });

  it('catches up from ZooKeeper, starting at its commit index, without diverging', () => {
    const { b, zk } = restartedOnSnapshot();
    b.committedFromZk(zk.slice(0, 6), 45);
    expect(b.ready().diverged).toBeUndefined();
    expect(b.commitIndex()).toBe(45);
  });

  it('takes a late append that starts inside its snapshot (a reordered message) without diverging', () => {
    const { b, zk } = restartedOnSnapshot();
    const a = leaderWith(50);
    const m = { type: 'append' as const, from: 'a', to: 'b', term: 1, prevLogIndex: 35, prevLogTerm: 1, prevLogChain: a.entryAt(35)!.chain, entries: [35, 36, 37, 38, 39, 40, 41, 42].map((i) => a.entryAt(i + 1)!), leaderCommit: 45 };
    expect(zk[0]!.chain).toEqual(a.entryAt(40)!.chain);
    b.step(m);
    expect(b.ready().diverged).toBeUndefined();
    expect(b.status().lastIndex).toBe(43);
  });

  it('still diverges when ZooKeeper holds another entry at its snapshot index', () => {
    const { b, zk } = restartedOnSnapshot();
    const other = { ...zk[0]!, chain: new Uint8Array(16).fill(7) };
    b.committedFromZk([other], 40);
    expect(b.ready().diverged?.index).toBe(40);
  });
});
