// The follower's side of replication (src/core/following.ts), without a whole core: an
// AppendEntries whose previous entry does not match is refused with the fast-backup hints; an
// accepted one is answered at once with its match index; a heartbeat commits only over what
// was matched with the leader, and only an entry of its commit term whose chain value matches;
// while the commit index is held the entries are taken (within the bound) but none commits;
// entries that do not chain are dropped whole; a committed entry that differs diverges.
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../src/core/log.js';
import type { AppendEntries, AppendEntriesReply, Heartbeat, HeartbeatReply, Message } from '../../../src/core/messages.js';
import { Following, type FollowingConfig, type FollowingNode } from '../../../src/core/following.js';
import type { Entry } from '../../../src/core/types.js';
import { entry, testGenesis } from './helpers.js';

/** Follower 'b' in term 2, whose commit index and commit gate the test sets. */
class FakeNode implements FollowingNode {
  readonly id = 'b';
  commitIndex = 0;
  vouched = true;
  readonly replies: Array<{ request: Message; response: Message }> = [];
  readonly divergences: Array<{ index: number; reason: string }> = [];
  unstableFrom = 0;
  term = (): number => 2;
  commit = (): number => this.commitIndex;
  commitTo = (index: number): void => {
    this.commitIndex = index;
  };
  vouchedFor = (): boolean => this.vouched;
  markUnstable = (index: number): void => {
    this.unstableFrom = index;
  };
  diverge = (index: number, reason: string): void => {
    this.divergences.push({ index, reason });
  };
  reply = (request: Message, response: Message): void => {
    this.replies.push({ request, response });
  };
  take(): Message[] {
    return this.replies.splice(0).map((r) => r.response);
  }
}

const roomy: FollowingConfig = { maxHeldEntries: 1000, maxHeldBytes: 1 << 20 };

/** A log whose entry k (1-based) has terms[k-1]; `data` names entries whose content differs. */
function logOf(terms: number[], data: Record<number, string> = {}): RaftLog {
  return new RaftLog(
    { index: 0, term: 0, chain: testGenesis },
    terms.map((t, k) => entry(k + 1, t, data[k + 1])),
  );
}

function setUp(log: RaftLog, cfg: FollowingConfig = roomy): { f: Following; node: FakeNode } {
  const node = new FakeNode();
  return { f: new Following(cfg, log, node), node };
}

/** The leader's AppendEntries after prevIndex, from its log: entries (prev, upTo], with chain values. */
function appendFrom(leader: RaftLog, prevIndex: number, upTo: number, leaderCommit = 0): AppendEntries {
  return {
    type: 'append',
    from: 'a',
    to: 'b',
    term: 2,
    prevLogIndex: prevIndex,
    prevLogTerm: leader.term(prevIndex)!,
    prevLogChain: leader.chain(prevIndex)!,
    entries: leader.slice(prevIndex + 1, upTo + 1),
    leaderCommit,
  };
}

function heartbeatAt(leader: RaftLog, commit: number): Heartbeat {
  return { type: 'heartbeat', from: 'a', to: 'b', term: 2, commit, commitTerm: leader.term(commit)!, commitChain: leader.chain(commit)! };
}

function onlyReply<T extends Message['type']>(node: FakeNode, type: T): Extract<Message, { type: T }> {
  const ms = node.take();
  expect(ms).toHaveLength(1);
  expect(ms[0]!.type).toBe(type);
  return ms[0] as Extract<Message, { type: T }>;
}

describe('Following', () => {
  it('refuses an AppendEntries whose previous entry has another term, with the fast-backup hints', () => {
    const { f, node } = setUp(logOf([1, 1, 2, 2]));
    const leader = logOf([1, 1, 3, 3, 3]);
    expect(f.onAppend(appendFrom(leader, 4, 5), false)).toBeNull();
    const reply = onlyReply(node, 'appendReply');
    // The follower's term at 4 is 2, which starts at 3: the leader skips that whole term.
    expect(reply).toEqual<AppendEntriesReply>({ type: 'appendReply', from: 'b', to: 'a', term: 2, success: false, matchIndex: 0, rejectedIndex: 4, xTerm: 2, xIndex: 3, xLen: 4 });
    expect(node.unstableFrom).toBe(0);
  });

  it('refuses an AppendEntries past the end of its log with its length only', () => {
    const { f, node } = setUp(logOf([1, 1]));
    const leader = logOf([1, 1, 1, 1, 1]);
    f.onAppend(appendFrom(leader, 4, 5), false);
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: false, rejectedIndex: 4, xTerm: 0, xIndex: 0, xLen: 2 });
  });

  it('answers an accepted AppendEntries at once with its match index, and commits up to the leader\'s commit index within it', () => {
    const log = logOf([1]);
    const { f, node } = setUp(log);
    const leader = logOf([1, 2, 2, 2]);
    const m = appendFrom(leader, 1, 3, 4);
    expect(f.onAppend(m, false)).toBeNull();
    // Handed to the node in the same call, with the request it answers (whose rpcId and
    // awaited flag the node carries over): nothing in the follower waits for a write.
    expect(node.replies).toHaveLength(1);
    expect(node.replies[0]!.request).toBe(m);
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: true, matchIndex: 3, xLen: 3 });
    expect(log.lastIndex()).toBe(3);
    expect(node.unstableFrom).toBe(2);
    // The leader's commit index is 4, but only 3 is known to equal its log.
    expect(node.commitIndex).toBe(3);
  });

  it('commits from a heartbeat only over what it matched with the leader, and only an entry of the commit term', () => {
    const leader = logOf([1, 2, 2]);
    // The same entries the leader holds, but never matched with it (a restart): no commit.
    const { f, node } = setUp(logOf([1, 2, 2]));
    f.onHeartbeat(heartbeatAt(leader, 3), false);
    expect(node.commitIndex).toBe(0);
    expect(onlyReply(node, 'heartbeatReply')).toEqual<HeartbeatReply>({ type: 'heartbeatReply', from: 'b', to: 'a', term: 2, lastIndex: 3, leaderMatch: 0 });

    // An empty probe at 3 matches up to 3.
    f.onAppend(appendFrom(leader, 3, 3), false);
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: true, matchIndex: 3 });
    // A commit term the entry there does not have moves nothing.
    f.onHeartbeat({ ...heartbeatAt(leader, 3), commitTerm: 1 }, false);
    expect(node.commitIndex).toBe(0);
    expect(onlyReply(node, 'heartbeatReply').leaderMatch).toBe(3);
    f.onHeartbeat(heartbeatAt(leader, 2), false);
    expect(node.commitIndex).toBe(2);
    node.take();
    // A commit index past what it matched commits up to its match only.
    f.onHeartbeat({ ...heartbeatAt(leader, 3), commit: 9 }, false);
    expect(node.commitIndex).toBe(3);
    expect(node.divergences).toEqual([]);
  });

  it('diverges when a heartbeat names a chain value other than that of the entry it matched', () => {
    const leader = logOf([1, 2, 2]);
    const { f, node } = setUp(logOf([1, 2, 2], { 3: 'other' }));
    // Matched at 3 by its term alone (no chain value sent): the content differs.
    const { prevLogChain: _chain, ...withoutChain } = appendFrom(leader, 3, 3);
    f.onAppend(withoutChain, false);
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: true, matchIndex: 3 });
    f.onHeartbeat(heartbeatAt(leader, 3), false);
    expect(node.commitIndex).toBe(0);
    expect(node.divergences.map((d) => d.index)).toEqual([3]);
  });

  it('takes the entries of a leader it may not commit for, within the bound, and commits none', () => {
    const log = logOf([1]);
    const { f, node } = setUp(log, { maxHeldEntries: 2, maxHeldBytes: 1 << 20 });
    node.vouched = false;
    const leader = logOf([1, 2, 2, 2, 2]);
    f.onAppend(appendFrom(leader, 1, 4, 4), false);
    // Two past the commit index (0), then cut short.
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: true, matchIndex: 2 });
    expect(log.lastIndex()).toBe(2);
    expect(node.commitIndex).toBe(0);
    // The leader's next message, pipelined behind the one cut short, starts past the log's end:
    // answered with what was matched rather than refused (no round trip of backing up).
    f.onAppend(appendFrom(leader, 4, 5, 4), false);
    expect(onlyReply(node, 'appendReply')).toMatchObject({ success: true, matchIndex: 2 });
    // Once vouched for, the leader's next AppendEntries commits.
    node.vouched = true;
    f.holdReleased();
    f.onAppend(appendFrom(leader, 2, 2, 4), false);
    expect(node.commitIndex).toBe(2);
  });

  it('drops entries that do not chain onto the entry before them, changing nothing', () => {
    const log = logOf([1]);
    const { f, node } = setUp(log);
    const leader = logOf([1, 2, 2]);
    const m = appendFrom(leader, 1, 3, 3);
    const forged: Entry[] = m.entries.map((e) => (e.index === 3 ? { ...e, chain: new Uint8Array(e.chain!.length) } : e));
    expect(f.onAppend({ ...m, entries: forged }, false)).toMatch(/hash chain broken at index 3/);
    expect(node.take()).toEqual([]);
    expect(log.lastIndex()).toBe(1);
    expect(node.commitIndex).toBe(0);
  });

  it('diverges when the leader\'s entry at or below the commit index differs from the committed one', () => {
    const { f, node } = setUp(logOf([1, 1, 2], { 2: 'ours' }));
    node.commitIndex = 2;
    const leader = logOf([1, 1, 2]);
    expect(f.onAppend(appendFrom(leader, 0, 3, 3), false)).toBeNull();
    expect(node.divergences.map((d) => d.index)).toEqual([2]);
    expect(node.take()).toEqual([]);
  });

  it('merges what ZooKeeper committed up to its tail, and refuses a committed entry that differs', () => {
    const log = logOf([1]);
    const { f, node } = setUp(log);
    const zk = logOf([1, 2, 2]);
    f.committedFromZk(zk.slice(1, 3), 2);
    expect(log.lastIndex()).toBe(2);
    expect(node.commitIndex).toBe(2);
    expect(node.unstableFrom).toBe(2);

    const other = logOf([1, 3, 3]);
    expect(f.mergeCommitted(other.slice(2, 4))).toBe(false);
    expect(node.divergences.map((d) => d.index)).toEqual([2]);
    expect(node.commitIndex).toBe(2);
  });

  it('forgets what it matched beyond the commit index once vouching releases its hold', () => {
    const { f, node } = setUp(logOf([1]));
    node.vouched = false;
    const leader = logOf([1, 2, 2]);
    f.onAppend(appendFrom(leader, 1, 3, 1), false);
    expect(onlyReply(node, 'appendReply').matchIndex).toBe(3);
    node.vouched = true;
    f.holdReleased();
    // The leader sees the match gone in the heartbeat reply, and probes there.
    f.onHeartbeat(heartbeatAt(leader, 1), true);
    expect(onlyReply(node, 'heartbeatReply').leaderMatch).toBe(0);
    expect(f.leaderAuthenticated).toBe(true);
  });
});
