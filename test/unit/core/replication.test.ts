// The leader's replication to its follower (src/core/replication.ts), without a whole core:
// an empty probe until the follower's match is known, then entries streamed within the
// window; `awaited` on a probe and when the bytes in flight fill the window (not when only
// the count does); the heartbeat's commit index, min(commit, max(match, next - 1 in
// replicate)) floored at the compaction point; a follower behind the compaction point gets a
// snapshot instead; an unreachable follower is probed again only after a heartbeat reply.
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../src/core/log.js';
import type { AppendEntries, AppendEntriesReply, Heartbeat, Message } from '../../../src/core/messages.js';
import { Replication, type ReplicationConfig } from '../../../src/core/replication.js';
import { entry, testGenesis } from './helpers.js';

/** A leader of term 2 whose commit index, silence and transfer the test sets. */
class FakeLeader {
  readonly id = 'a';
  peerId = 'b';
  commitIndex = 0;
  isSilent = false;
  isTransferring = false;
  readonly sent: Message[] = [];
  peer = (): string => this.peerId;
  term = (): number => 2;
  commit = (): number => this.commitIndex;
  silent = (): boolean => this.isSilent;
  transferring = (): boolean => this.isTransferring;
  send = (m: Message): void => {
    this.sent.push(m);
  };
  take(): Message[] {
    return this.sent.splice(0);
  }
}

const roomy: ReplicationConfig = { maxInflightAppends: 8, maxInflightBytes: Number.POSITIVE_INFINITY, maxAppendBytes: Number.POSITIVE_INFINITY, appendStallHeartbeats: 3 };

/** A log of `n` entries of term 2, each with `bytes` of data. */
function logOf(n: number, bytes = 4): RaftLog {
  return new RaftLog(
    { index: 0, term: 0, chain: testGenesis },
    Array.from({ length: n }, (_, k) => ({ ...entry(k + 1, 2), data: new Uint8Array(bytes) })),
  );
}

function setUp(log: RaftLog, cfg: ReplicationConfig = roomy): { r: Replication; leader: FakeLeader } {
  const leader = new FakeLeader();
  const r = new Replication(cfg, log, leader);
  r.begin();
  return { r, leader };
}

function appends(ms: Message[]): AppendEntries[] {
  return ms.filter((m): m is AppendEntries => m.type === 'append');
}

function success(matchIndex: number): AppendEntriesReply {
  return { type: 'appendReply', from: 'b', to: 'a', term: 2, success: true, matchIndex, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: matchIndex };
}

function heartbeatOf(ms: Message[]): Heartbeat {
  const hb = ms.filter((m): m is Heartbeat => m.type === 'heartbeat');
  expect(hb).toHaveLength(1);
  return hb[0]!;
}

describe('Replication', () => {
  it('probes with one empty, awaited AppendEntries until the match is known, then streams entries', () => {
    const log = logOf(5);
    const { r, leader } = setUp(log);
    expect(r.wantsToSend()).toBe(true);
    r.sendAppends();
    r.sendAppends();
    const [probe, ...more] = appends(leader.take());
    expect(more).toEqual([]);
    expect(probe).toMatchObject({ from: 'a', to: 'b', term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: [], awaited: true });
    expect(r.followerStatus()).toEqual({ id: 'b', match: 0, next: 6, state: 'probe' });

    expect(r.onAppendReply(success(5))).toBe(true);
    expect(r.followerStatus()).toEqual({ id: 'b', match: 5, next: 6, state: 'replicate' });
    expect(leader.take()).toEqual([]);

    log.appendContiguous([entry(6, 2), entry(7, 2)]);
    leader.commitIndex = 5;
    r.sendAppends();
    const [stream] = appends(leader.take());
    expect(stream!.prevLogIndex).toBe(5);
    expect(stream!.entries.map((e) => e.index)).toEqual([6, 7]);
    expect(stream!.leaderCommit).toBe(5);
    expect(stream!.awaited).toBeUndefined();
  });

  it('marks an AppendEntries awaited when the bytes in flight fill the window, not when only the count does', () => {
    // The probe at the log's end is refused (the follower's log is empty): stream from 1 at once.
    const bytes = setUp(logOf(5, 10), { ...roomy, maxAppendBytes: 10, maxInflightBytes: 25 });
    bytes.r.sendAppends();
    expect(appends(bytes.leader.take())).toHaveLength(1);
    expect(bytes.r.onAppendReply({ ...success(0), success: false, rejectedIndex: 5, xLen: 0 })).toBe(false);
    expect(appends(bytes.leader.take()).map((m) => [m.entries.map((e) => e.index), m.awaited])).toEqual([
      [[1], undefined],
      [[2], undefined],
      [[3], true],
    ]);

    const count = setUp(logOf(5, 10), { ...roomy, maxInflightAppends: 2, maxAppendBytes: 10 });
    count.r.sendAppends();
    count.leader.take();
    count.r.onAppendReply({ ...success(0), success: false, rejectedIndex: 5, xLen: 0 });
    expect(appends(count.leader.take()).map((m) => [m.entries.map((e) => e.index), m.awaited])).toEqual([
      [[1], undefined],
      [[2], undefined],
    ]);
  });

  it('heartbeats the commit index up to what was sent (replicate) or matched (probe), never below the compaction point', () => {
    const log = logOf(10);
    const { r, leader } = setUp(log, { ...roomy, maxAppendBytes: 12 }); // three entries a message
    leader.commitIndex = 9;
    // Probe, nothing matched: commit 0.
    r.sendHeartbeat();
    expect(heartbeatOf(leader.take())).toMatchObject({ commit: 0, commitTerm: 0, commitChain: testGenesis });
    r.sendAppends();
    leader.take();
    r.onAppendReply({ ...success(0), success: false, rejectedIndex: 10, xLen: 4 });
    leader.take();
    r.onAppendReply(success(4));
    // Replicate, matched 4, sent through 10: min(9, max(4, 10)).
    expect(appends(leader.take()).at(-1)!.entries.at(-1)!.index).toBe(10);
    r.sendHeartbeat();
    expect(heartbeatOf(leader.take())).toMatchObject({ commit: 9, commitTerm: 2, commitChain: log.chain(9) });
    leader.commitIndex = 6;
    r.sendHeartbeat();
    expect(heartbeatOf(leader.take()).commit).toBe(6);

    // Probe again with no match, over a log compacted through 3: the compaction point.
    r.peerUnreachable();
    log.compact(3);
    r.sendHeartbeat();
    expect(heartbeatOf(leader.take())).toMatchObject({ commit: 3, commitTerm: 2, commitChain: log.chain(3) });
  });

  it('asks for a snapshot when the follower is behind the compaction point, once, and probes after it', () => {
    const log = logOf(8);
    const { r, leader } = setUp(log);
    r.sendAppends();
    leader.take();
    log.compact(5);
    r.onAppendReply({ ...success(0), success: false, rejectedIndex: 8, xLen: 2 });
    expect(leader.take()).toEqual([]);
    expect(r.followerStatus()?.state).toBe('snapshot');
    expect(r.snapshotNeeded).toBe(true);
    expect(r.takeSnapshotNeed()).toBe('b');
    expect(r.snapshotNeeded).toBe(false);
    expect(r.takeSnapshotNeed()).toBe('');
    expect(r.wantsToSend()).toBe(false);
    r.snapshotSent(6);
    expect(r.followerStatus()).toEqual({ id: 'b', match: 0, next: 7, state: 'probe' });
    r.sendAppends();
    expect(appends(leader.take())[0]).toMatchObject({ prevLogIndex: 6, entries: [] });
  });

  it('drops a snapshot need not yet handed out when leadership ends or the follower changes (review 27)', () => {
    const raise = (): { r: Replication; leader: FakeLeader } => {
      const log = logOf(8);
      const s = setUp(log);
      s.r.sendAppends();
      log.compact(5);
      s.r.onAppendReply({ ...success(0), success: false, rejectedIndex: 8, xLen: 2 });
      expect(s.r.snapshotNeeded).toBe(true);
      return s;
    };
    const ended = raise();
    ended.r.end();
    expect(ended.r.snapshotNeeded).toBe(false);
    expect(ended.r.takeSnapshotNeed()).toBe('');

    const replaced = raise();
    replaced.leader.peerId = 'c';
    replaced.r.begin();
    expect(replaced.r.takeSnapshotNeed()).toBe('');
  });

  it('probes an unreachable follower again only after it answers a heartbeat', () => {
    const log = logOf(4);
    const { r, leader } = setUp(log);
    r.sendAppends();
    r.onAppendReply(success(4));
    log.appendContiguous([entry(5, 2)]);
    r.sendAppends();
    leader.take();
    r.peerUnreachable();
    expect(r.followerStatus()).toEqual({ id: 'b', match: 0, next: 5, state: 'probe' });
    r.sendAppends();
    expect(leader.take()).toEqual([]);
    r.onHeartbeatReply({ type: 'heartbeatReply', from: 'b', to: 'a', term: 2, lastIndex: 5, leaderMatch: 4 });
    expect(appends(leader.take())[0]).toMatchObject({ prevLogIndex: 4, entries: [], awaited: true });
  });

  it('sends nothing while silent, and has no follower without a peer', () => {
    const { r, leader } = setUp(logOf(3));
    leader.isSilent = true;
    expect(r.wantsToSend()).toBe(false);
    r.sendAppends();
    r.sendHeartbeat();
    expect(leader.take()).toEqual([]);

    leader.peerId = '';
    r.begin();
    expect(r.hasFollower).toBe(false);
    expect(r.followerStatus()).toBeUndefined();
  });
});
