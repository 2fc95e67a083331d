// A pre-candidate's way to a take-over (src/core/candidacy.ts), without a whole core: the
// pre-vote goes to the peer for the next term with this log's tail; a refusal (the peer heard
// a leader recently) sends the node back to following; a grant, an unreachable peer or a
// timed-out pre-vote leads to a take-over request only once the lease znode has stayed
// unchanged for the lease window (the shorter one when the leader is suspected on evidence)
// and ZooKeeper is reachable; a failed take-over returns to following; a candidate that waits
// too long for its answer gives up.
import { describe, expect, it } from 'vitest';
import { Candidacy, type CandidacyConfig, type CandidacyNode } from '../../../src/core/candidacy.js';
import { HandOverWait } from '../../../src/core/hand-over.js';
import { RaftLog } from '../../../src/core/log.js';
import type { Message } from '../../../src/core/messages.js';
import type { NodeId, Role } from '../../../src/core/types.js';
import { entry, testGenesis } from './helpers.js';

const cfg: CandidacyConfig = { preVoteTimeoutTicks: 3, candidateTimeoutTicks: 20, leaseWindowTicks: 5, silenceLeaseWindowTicks: 8 };

/** Node 'b' of term 2, following 'a', with peer 'a'; the transitions are recorded, and a candidacy asks for its take-over as RaftCore does. */
class FakeNode implements CandidacyNode {
  readonly id = 'b';
  peerId: NodeId = 'a';
  currentRole: Role = 'follower';
  currentTerm = 2;
  leader: NodeId = 'a';
  now = 0;
  candidacy: Candidacy | undefined;
  readonly sent: Message[] = [];
  readonly vouched: Array<{ term: number; leader: NodeId }> = [];
  readonly followed: Array<{ term: number; leaderId: NodeId }> = [];
  readonly candidacies: boolean[] = [];
  peer = (): NodeId => this.peerId;
  role = (): Role => this.currentRole;
  term = (): number => this.currentTerm;
  commit = (): number => 4;
  leaderId = (): NodeId => this.leader;
  ticks = (): number => this.now;
  send = (m: Message): void => {
    this.sent.push(m);
  };
  vouch = (term: number, leader: NodeId): void => {
    this.vouched.push({ term, leader });
  };
  becomeFollower = (term: number, leaderId: NodeId): void => {
    this.currentRole = 'follower';
    this.currentTerm = term;
    this.leader = leaderId;
    this.followed.push({ term, leaderId });
    this.candidacy?.followed();
  };
  becomeCandidate = (transfer: boolean): void => {
    this.currentRole = 'candidate';
    this.leader = '';
    this.candidacies.push(transfer);
    this.candidacy?.request(transfer);
  };
}

function setUp(): { c: Candidacy; node: FakeNode; handOver: HandOverWait } {
  const node = new FakeNode();
  const log = new RaftLog({ index: 0, term: 0, chain: testGenesis }, [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
  const handOver = new HandOverWait(10);
  const c = new Candidacy(cfg, log, handOver, node);
  node.candidacy = c;
  return { c, node, handOver };
}

/** Makes the node a pre-candidate at tick `now` and asks the pre-vote, as RaftCore.becomePreCandidate does. */
function preCandidate(c: Candidacy, node: FakeNode, now: number): void {
  node.now = now;
  node.currentRole = 'precandidate';
  c.askPeer();
}

describe('Candidacy', () => {
  it('asks the peer for the next term with its log tail, and takes no vote of its own', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    preCandidate(c, node, 100);
    expect(node.sent).toEqual([{ type: 'vote', from: 'b', to: 'a', term: 3, lastLogIndex: 4, lastLogTerm: 2, preVote: true, transfer: false, round: 1 }]);
    expect(node.candidacies).toEqual([]);
    expect(c.hasRequest).toBe(false);
  });

  it('a pre-vote refused while the peer heard a leader recently returns to following that leader, and never takes over', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    preCandidate(c, node, 100);
    c.onReply(false, 'leader-alive', 'a');
    expect(node.followed).toEqual([{ term: 2, leaderId: 'a' }]);
    expect(node.currentRole).toBe('follower');
    // A late grant of the same pre-vote, or more ticks, change nothing.
    c.onReply(true, '', 'a');
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([]);
    expect(c.hasRequest).toBe(false);
  });

  it('a refusal by a leader that did not hand over follows that leader', () => {
    const { c, node } = setUp();
    node.leader = '';
    preCandidate(c, node, 100);
    c.onReply(false, 'is-leader', 'a');
    expect(node.followed).toEqual([{ term: 2, leaderId: 'a' }]);
  });

  it('a granted pre-vote leads to a take-over request against the lease version seen quiet for the silence window', () => {
    const { c, node } = setUp();
    node.now = 100;
    c.observeLease(7, 0);
    preCandidate(c, node, 105);
    c.onReply(true, '', 'a');
    // Silence alone: the longer window (8), plus the tick before the observation.
    for (node.now = 106; node.now < 109; node.now++) c.tickPreCandidate();
    expect(node.candidacies).toEqual([]);
    node.now = 109;
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([false]);
    expect(c.hasRequest).toBe(true);
    expect(c.takeRequest()).toEqual({ term: 2, leaseVersion: 7, commit: 4, transfer: false });
    expect(c.takeRequest()).toBeUndefined();
    expect(c.hasRequest).toBe(false);
  });

  it('a leader suspected on evidence needs only the lease window', () => {
    const { c, node } = setUp();
    node.now = 100;
    c.observeLease(7, 0);
    c.suspectOnEvidence();
    preCandidate(c, node, 106);
    expect(node.candidacies).toEqual([]);
    c.onReply(true, '', 'a');
    expect(node.candidacies).toEqual([false]);
  });

  it('the window the lease holder published is waited out when longer than the configured one', () => {
    const { c, node } = setUp();
    node.now = 100;
    c.observeLease(7, 12);
    c.suspectOnEvidence();
    preCandidate(c, node, 112);
    c.onReply(true, '', 'a');
    expect(node.candidacies).toEqual([]);
    node.now = 113;
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([false]);
  });

  it('a lease that changes restarts the window', () => {
    const { c, node } = setUp();
    node.now = 100;
    c.observeLease(7, 0);
    c.suspectOnEvidence();
    preCandidate(c, node, 105);
    c.onReply(true, '', 'a');
    c.observeLease(8, 0);
    node.now = 106;
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([]);
    node.now = 111;
    c.tickPreCandidate();
    expect(c.takeRequest()).toMatchObject({ leaseVersion: 8 });
  });

  it('takes no take-over while ZooKeeper is unreachable', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    c.setZkConnected(false);
    expect(c.zkConnected).toBe(false);
    preCandidate(c, node, 200);
    c.onReply(true, '', 'a');
    expect(node.candidacies).toEqual([]);
    c.setZkConnected(true);
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([false]);
  });

  it('a pre-vote that times out, or a peer that is unreachable or removed, counts as no objection', () => {
    for (const end of ['timeout', 'unreachable', 'removed'] as const) {
      const { c, node } = setUp();
      c.observeLease(7, 0);
      preCandidate(c, node, 200);
      if (end === 'timeout') {
        c.tickPreCandidate();
        c.tickPreCandidate();
        expect(node.candidacies).toEqual([]);
        c.tickPreCandidate();
      } else if (end === 'unreachable') {
        c.peerUnreachable();
      } else {
        node.peerId = '';
        c.peerRemoved();
      }
      expect(node.candidacies, end).toEqual([false]);
    }
  });

  it('without a peer no pre-vote is asked', () => {
    const { c, node } = setUp();
    node.peerId = '';
    c.observeLease(7, 0);
    preCandidate(c, node, 200);
    expect(node.sent).toEqual([]);
    expect(node.candidacies).toEqual([false]);
  });

  it('answers that come when the node is no pre-candidate are ignored', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    node.now = 200;
    c.peerUnreachable();
    c.onReply(false, 'is-leader', 'a');
    c.peerRemoved();
    expect(node.followed).toEqual([]);
    expect(node.candidacies).toEqual([]);
  });

  it('the pre-vote says a hand-over is waited on, and an objection to it is noted', () => {
    const { c, node, handOver } = setUp();
    expect(handOver.receive({ from: 'a', term: 2, leaseVersion: 9 }, 0)).toBe('wait');
    preCandidate(c, node, 1);
    expect(node.sent[0]).toMatchObject({ type: 'vote', transfer: true });
    c.onReply(false, 'is-leader', 'a');
    expect(handOver.takeNote()).toBe('a answered that it leads and has not handed over');
  });

  it("takes an answer only for the round that asked it: a leader's refusal of an earlier pre-vote does not end a hand-over (review 37)", () => {
    const { c, node, handOver } = setUp();
    // An ordinary pre-vote (round 1); the node follows again before its answer comes.
    preCandidate(c, node, 1);
    expect(node.sent[0]).toMatchObject({ transfer: false, round: 1 });
    node.currentRole = 'follower';
    c.followed();
    // A TimeoutNow: the hand-over's pre-vote (round 2).
    expect(handOver.receive({ from: 'a', term: 2, leaseVersion: 9 }, 2)).toBe('wait');
    preCandidate(c, node, 2);
    expect(node.sent[1]).toMatchObject({ transfer: true, round: 2 });
    c.onReply(false, 'is-leader', 'a', 1);
    expect(node.followed).toEqual([]);
    expect(node.currentRole).toBe('precandidate');
    expect(handOver.takeNote()).toBeUndefined();
    expect(handOver.waiting).toBe(true);
    // The answer of the round asked decides, as before.
    c.onReply(false, 'is-leader', 'a', 2);
    expect(node.followed).toEqual([{ term: 2, leaderId: 'a' }]);
    expect(handOver.takeNote()).toBe('a answered that it leads and has not handed over');
  });

  it('a grant of the round asked counts; one of an earlier round does not', () => {
    const { c, node } = setUp();
    node.now = 100;
    c.observeLease(7, 0);
    preCandidate(c, node, 100);
    preCandidate(c, node, 101);
    c.onReply(true, '', 'a', 1);
    node.now = 200;
    c.tickPreCandidate();
    expect(node.candidacies).toEqual([]);
    c.onReply(true, '', 'a', 2);
    expect(node.candidacies).toEqual([false]);
  });

  it('an answer without a round (an older member) is taken for the round pending, as before rounds', () => {
    const { c, node } = setUp();
    preCandidate(c, node, 1);
    preCandidate(c, node, 2);
    c.onReply(false, 'leader-alive', 'a');
    expect(node.followed).toEqual([{ term: 2, leaderId: 'a' }]);
  });

  it('a failed take-over returns to following: the newer epoch leader, or nobody in its own term', () => {
    const newer = setUp();
    newer.node.currentRole = 'candidate';
    newer.c.takeoverFailed({ epochTerm: 5, epochLeader: 'a', reason: 'fenced' });
    expect(newer.node.vouched).toEqual([{ term: 5, leader: 'a' }]);
    expect(newer.node.followed).toEqual([{ term: 5, leaderId: 'a' }]);

    const own = setUp();
    own.node.currentRole = 'candidate';
    own.c.takeoverFailed({ epochTerm: 2, epochLeader: 'a', reason: 'lease moved' });
    expect(own.node.followed).toEqual([{ term: 2, leaderId: '' }]);

    // An epoch naming this node (an earlier life of it) is followed with no leader.
    const mine = setUp();
    mine.node.currentRole = 'candidate';
    mine.c.takeoverFailed({ epochTerm: 6, epochLeader: 'b', reason: 'fenced' });
    expect(mine.node.followed).toEqual([{ term: 6, leaderId: '' }]);

    // No longer a candidate (it already follows): nothing to give up.
    const follower = setUp();
    follower.c.takeoverFailed({ epochTerm: 2, epochLeader: 'a', reason: 'late' });
    expect(follower.node.followed).toEqual([]);
  });

  it('following again drops a take-over request not yet handed out', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    preCandidate(c, node, 200);
    c.peerUnreachable();
    expect(c.hasRequest).toBe(true);
    node.becomeFollower(2, 'a');
    expect(c.hasRequest).toBe(false);
  });

  it('a candidate gives up after the candidate timeout', () => {
    const { c, node } = setUp();
    c.observeLease(7, 0);
    preCandidate(c, node, 200);
    c.peerUnreachable();
    for (let k = 1; k < cfg.candidateTimeoutTicks; k++) expect(c.tickCandidate()).toBe(false);
    expect(c.tickCandidate()).toBe(true);
  });
});
