// The answer to a peer's pre-vote (src/core/vote-answer.ts), without a whole core: a fake node
// records the reply and whether the election was hurried. A leader objects unless silent or
// handed over to a transfer pre-vote; a stale term, a live leader (leader stickiness, not for a
// transfer pre-vote) and a log behind the committed entries are refused in that order; a
// follower that reaches ZooKeeper and finds the asker behind hurries its own take-over.
import { describe, expect, it } from 'vitest';
import type { Message, Vote, VoteReply } from '../../../src/core/messages.js';
import type { Role } from '../../../src/core/types.js';
import { VoteAnswer } from '../../../src/core/vote-answer.js';

function world() {
  const s = {
    role: 'follower' as Role,
    term: 4,
    commit: 10,
    leaderId: '',
    sinceContact: Number.POSITIVE_INFINITY,
    silent: false,
    handedOver: false,
    zkConnected: true,
    upToDate: true,
    hurried: 0,
  };
  const replies: Message[] = [];
  const answer = new VoteAnswer(
    { electionTimeoutTicks: 10 },
    { isUpToDate: (_index, _term, upTo) => s.upToDate && upTo === s.commit },
    {
      id: 'a',
      role: () => s.role,
      term: () => s.term,
      commit: () => s.commit,
      leaderId: () => s.leaderId,
      ticksSinceLeaderContact: () => s.sinceContact,
      silent: () => s.silent,
      handedOver: () => s.handedOver,
      zkConnected: () => s.zkConnected,
      hurryElection: () => s.hurried++,
      reply: (_request, response) => replies.push(response),
    },
  );
  const ask = (over: Partial<Vote> = {}): VoteReply => {
    answer.onVote({ type: 'vote', from: 'b', to: 'a', term: 5, lastLogIndex: 10, lastLogTerm: 4, preVote: true, transfer: false, ...over });
    const r = replies.at(-1);
    if (r?.type !== 'voteReply') throw new Error('no vote reply');
    return r;
  };
  return { s, ask };
}

describe('VoteAnswer', () => {
  it('grants a pre-vote of a higher term with an up-to-date log, in the asked term', () => {
    const { ask } = world();
    expect(ask()).toEqual({ type: 'voteReply', from: 'a', to: 'b', term: 5, granted: true, preVote: true, reason: '' });
  });

  it("echoes the pre-vote's round in a grant and in a refusal, and adds none to a pre-vote without one", () => {
    const { s, ask } = world();
    expect(ask({ round: 3 })).toMatchObject({ granted: true, round: 3 });
    s.role = 'leader';
    expect(ask({ round: 4 })).toMatchObject({ granted: false, reason: 'is-leader', round: 4 });
    expect('round' in ask()).toBe(false);
  });

  it('a leader objects unless it is silent, or handed over and the pre-vote is a transfer one', () => {
    const { s, ask } = world();
    s.role = 'leader';
    expect(ask()).toMatchObject({ granted: false, reason: 'is-leader', term: 4 });
    s.handedOver = true;
    expect(ask()).toMatchObject({ granted: false, reason: 'is-leader' });
    expect(ask({ transfer: true })).toMatchObject({ granted: true });
    s.handedOver = false;
    s.silent = true;
    expect(ask()).toMatchObject({ granted: true });
  });

  it('refuses a stale term before anything else but the leader', () => {
    const { s, ask } = world();
    s.leaderId = 'c';
    s.sinceContact = 0;
    s.upToDate = false;
    expect(ask({ term: 4 })).toMatchObject({ granted: false, reason: 'stale-term', term: 4 });
  });

  it('objects while its leader is alive (within the minimum election timeout), but not to a transfer pre-vote', () => {
    const { s, ask } = world();
    s.leaderId = 'c';
    s.sinceContact = 9;
    expect(ask()).toMatchObject({ granted: false, reason: 'leader-alive' });
    expect(ask({ transfer: true })).toMatchObject({ granted: true });
    s.sinceContact = 10;
    expect(ask()).toMatchObject({ granted: true });
    s.leaderId = '';
    s.sinceContact = 0;
    expect(ask()).toMatchObject({ granted: true });
  });

  it('refuses a log behind its committed entries, and hurries its own take-over only as a follower that reaches ZooKeeper', () => {
    const { s, ask } = world();
    s.upToDate = false;
    expect(ask()).toMatchObject({ granted: false, reason: 'log-behind' });
    expect(s.hurried).toBe(1);
    s.zkConnected = false;
    ask();
    s.zkConnected = true;
    s.role = 'precandidate';
    expect(ask()).toMatchObject({ reason: 'log-behind' });
    expect(s.hurried).toBe(1);
  });
});
