// The follower's side of a leadership transfer (src/core/hand-over-taking.ts), without a whole
// core: a fake node records the role changes it asks for. A TimeoutNow counts only from the
// leader followed (or restated by the sender waited on); the node fences at once only when the
// lease znode confirms the hand-over, else waits as a pre-candidate and acts on the next
// sighting or on the transfer timeout; while a (pre)candidate it drops the AppendEntries and
// heartbeats its sender sent before the TimeoutNow. The rules of the wait are tested in
// hand-over.test.ts, and the whole core's hand-over there and in raft.test.ts.
import { describe, expect, it } from 'vitest';
import { type HandedOverNode, HandOverTaking } from '../../../src/core/hand-over-taking.js';
import type { LeaseSighting } from '../../../src/core/hand-over.js';
import type { Heartbeat, TimeoutNow } from '../../../src/core/messages.js';
import type { NodeId, Role } from '../../../src/core/types.js';

const TIMEOUT = 10;
const touch = (holder: string, term: number): Omit<LeaseSighting, 'version'> => ({ term, holder, relinquished: false });
const relinquished = (holder: string, term: number): Omit<LeaseSighting, 'version'> => ({ term, holder, relinquished: true });
const timeoutNow = (leaseVersion: number, from: NodeId = 'a'): TimeoutNow => ({ type: 'timeoutNow', from, to: 'b', term: 3, leaseVersion });
const heartbeat = (from: NodeId = 'a'): Heartbeat => ({ type: 'heartbeat', from, to: 'b', term: 3, commit: 0, commitTerm: 0 });

/** Node 'b' of term 3, following 'a'; its transitions are recorded and reset the hand-over as RaftCore's do. */
class FakeNode implements HandedOverNode {
  currentRole: Role = 'follower';
  leader: NodeId = 'a';
  now = 100;
  taking: HandOverTaking | undefined;
  readonly did: string[] = [];
  role = (): Role => this.currentRole;
  term = (): number => 3;
  leaderId = (): NodeId => this.leader;
  ticks = (): number => this.now;
  heardFromLeader = (): void => {
    this.did.push('heard');
  };
  becomeFollower = (term: number, leaderId: NodeId): void => {
    this.currentRole = 'follower';
    this.leader = leaderId;
    this.did.push(`follow ${leaderId} in ${term}`);
    this.taking?.reset();
  };
  becomePreCandidate = (): void => {
    this.currentRole = 'precandidate';
    this.did.push('precandidate');
  };
  becomeCandidate = (transfer: boolean): void => {
    this.currentRole = 'candidate';
    this.leader = '';
    this.did.push(`candidate transfer=${transfer}`);
    this.taking?.candidacyStarted();
  };
}

function setUp(): { node: FakeNode; taking: HandOverTaking } {
  const node = new FakeNode();
  const taking = new HandOverTaking(TIMEOUT, node);
  node.taking = taking;
  return { node, taking };
}

describe('HandOverTaking', () => {
  it('fences at once when the lease znode already confirms the TimeoutNow, and then drops what its sender sent before it', () => {
    const { node, taking } = setUp();
    taking.observeLease(7, relinquished('a', 3));
    taking.onTimeoutNow(timeoutNow(7));
    expect(node.did).toEqual(['heard', 'candidate transfer=true']);
    expect(taking.wait.waiting).toBe(false);
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(true);
    expect(taking.sentBeforeHandOver({ type: 'append', from: 'a', to: 'b', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 })).toBe(true);
    // Only the sender's AppendEntries and heartbeats: its other messages, and anyone else's, count.
    expect(taking.sentBeforeHandOver({ type: 'vote', from: 'a', to: 'b', term: 3, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false })).toBe(false);
    expect(taking.sentBeforeHandOver(heartbeat('c'))).toBe(false);
    expect(taking.hasNote).toBe(false);
  });

  it('takes a TimeoutNow only from the leader it follows, and only as a follower (or waiting on its sender)', () => {
    const { node, taking } = setUp();
    taking.observeLease(7, relinquished('a', 3));
    taking.onTimeoutNow(timeoutNow(7, 'c'));
    node.leader = '';
    taking.onTimeoutNow(timeoutNow(7));
    node.leader = 'a';
    for (const role of ['precandidate', 'candidate', 'leader'] as const) {
      node.currentRole = role;
      taking.onTimeoutNow(timeoutNow(7));
    }
    expect(node.did).toEqual([]);
    expect(taking.wait.waiting).toBe(false);
  });

  it('a TimeoutNow the lease watch has not caught up with: waits as a pre-candidate, and fences on the sighting that confirms it', () => {
    const { node, taking } = setUp();
    taking.observeLease(6, touch('a', 3));
    taking.onTimeoutNow(timeoutNow(7));
    expect(node.did).toEqual(['heard', 'precandidate']);
    expect(taking.wait.waitsOn('a')).toBe(true);
    // As a pre-candidate waiting on it, the sender's earlier heartbeats are dropped; as a follower they are not.
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(true);
    taking.observeLease(7, relinquished('a', 3));
    expect(node.did).toEqual(['heard', 'precandidate', 'candidate transfer=true']);
  });

  it('a sighting acts on the wait only for a pre-candidate', () => {
    const { node, taking } = setUp();
    taking.onTimeoutNow(timeoutNow(7));
    node.currentRole = 'candidate';
    taking.observeLease(7, relinquished('a', 3));
    expect(node.did).toEqual(['heard', 'precandidate']);
  });

  it('ignores a TimeoutNow naming a version its sender has touched past since: no leader heard, no role change, one note', () => {
    const { node, taking } = setUp();
    taking.observeLease(8, touch('a', 3));
    taking.onTimeoutNow(timeoutNow(7));
    expect(node.did).toEqual([]);
    expect(taking.wait.waiting).toBe(false);
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(false);
    expect(taking.hasNote).toBe(true);
    expect(taking.takeNote()).toMatch(/a touched its lease \(version 8\) after the version 7/);
    expect(taking.hasNote).toBe(false);
  });

  it('the version reached without a relinquished record: waits, and says why once per wait', () => {
    const { node, taking } = setUp();
    taking.observeLease(7, touch('a', 3));
    taking.onTimeoutNow(timeoutNow(7));
    expect(node.did).toEqual(['heard', 'precandidate']);
    expect(taking.takeNote()).toMatch(/version 7 holds a touch of a in term 3/);
    // The same wait judged again on the next sighting: no second note, still waiting.
    taking.observeLease(7, touch('a', 3));
    expect(taking.takeNote()).toBeUndefined();
    expect(node.did).toEqual(['heard', 'precandidate']);
  });

  it('the sender touching its lease while waited on: the node follows it again', () => {
    const { node, taking } = setUp();
    taking.onTimeoutNow(timeoutNow(7));
    taking.observeLease(8, touch('a', 3));
    expect(node.did).toEqual(['heard', 'precandidate', 'follow a in 3']);
    expect(taking.wait.waiting).toBe(false);
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(false);
  });

  it('a restated TimeoutNow is not news from a leader, and keeps the wait start: the transfer timeout ends the wait', () => {
    const { node, taking } = setUp();
    taking.onTimeoutNow(timeoutNow(7));
    node.now = 105;
    taking.onTimeoutNow(timeoutNow(7));
    expect(node.did).toEqual(['heard', 'precandidate']);
    node.now = 100 + TIMEOUT - 1;
    taking.tick();
    expect(node.did).toEqual(['heard', 'precandidate']);
    node.now = 100 + TIMEOUT;
    taking.tick();
    expect(node.did).toEqual(['heard', 'precandidate', 'follow a in 3']);
    expect(taking.takeNote()).toMatch(new RegExp(`did not confirm it within ${TIMEOUT} ticks`));
  });

  it('a TimeoutNow restated by the sender waited on replaces its claim: the sighting that confirms the new one fences', () => {
    const { node, taking } = setUp();
    taking.onTimeoutNow(timeoutNow(7));
    taking.onTimeoutNow(timeoutNow(8));
    taking.observeLease(8, relinquished('a', 3));
    expect(node.did).toEqual(['heard', 'precandidate', 'candidate transfer=true']);
  });

  it('a candidate started another way keeps dropping the sender\'s earlier messages; following or leading ends that', () => {
    const { node, taking } = setUp();
    taking.onTimeoutNow(timeoutNow(7));
    node.becomeCandidate(false);
    expect(taking.wait.waiting).toBe(false);
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(true);
    taking.reset();
    expect(taking.sentBeforeHandOver(heartbeat())).toBe(false);
  });
});
