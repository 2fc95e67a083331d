// The leader's side of a leadership transfer (src/core/transfer-driving.ts), without a whole
// core: a fake leader, replication and lease requests record what it does. It hands over
// (heartbeat first, then TimeoutNow, and the relinquish of that transfer) only once the follower
// holds and has committed everything; it takes the lease back when a handed-over transfer ends;
// and it judges the driver's late reports by the term and transfer they name. The transfer
// inside RaftCore is tested in raft.test.ts and hand-over.test.ts.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/messages.js';
import { TransferDriving } from '../../../src/core/transfer-driving.js';

function world(timeoutSteps = 5) {
  const s = { leads: true, peer: 'b', term: 3, commit: 10, lastIndex: 10, matched: 10, hasFollower: true };
  const did: string[] = [];
  const sent: Message[] = [];
  const driving = new TransferDriving(
    timeoutSteps,
    { lastIndex: () => s.lastIndex },
    {
      get hasFollower() {
        return s.hasFollower;
      },
      matchedUpTo: (index) => s.matched === index,
      sendHeartbeat: () => did.push('heartbeat'),
    },
    {
      relinquishLease: (generation) => did.push(`relinquish ${generation}`),
      resumeLease: () => did.push('resume'),
    },
    {
      id: 'a',
      leads: () => s.leads,
      peer: () => s.peer,
      term: () => s.term,
      commit: () => s.commit,
      send: (m) => {
        sent.push(m);
        did.push(m.type);
      },
    },
  );
  return { s, did, sent, driving };
}

describe('TransferDriving', () => {
  it('hands over at once to a caught-up follower: heartbeat, then TimeoutNow, and that transfer relinquishes the lease', () => {
    const { did, sent, driving } = world();
    expect(driving.start()).toBe(true);
    expect(did).toEqual(['relinquish 1', 'heartbeat', 'timeoutNow']);
    expect(sent).toEqual([{ type: 'timeoutNow', from: 'a', to: 'b', term: 3, leaseVersion: 0 }]);
    expect(driving.handedOver).toBe(true);
    expect(driving.handingOver(3, 1)).toBe(true);
    expect(driving.handingOver(3, 0)).toBe(false);
    expect(driving.handingOver(4, 1)).toBe(false);
  });

  it('waits for a follower behind or uncommitted, hurrying it with a heartbeat, and hands over on the step that finds it caught up', () => {
    const { s, did, driving } = world();
    s.matched = 9;
    expect(driving.start()).toBe(true);
    expect(did).toEqual(['heartbeat']);
    s.matched = 10;
    s.commit = 9;
    driving.advance();
    expect(did).toEqual(['heartbeat']);
    s.commit = 10;
    driving.advance();
    expect(did).toEqual(['heartbeat', 'relinquish 1', 'heartbeat', 'timeoutNow']);
  });

  it('starts nothing when not leading, without a peer, or while one runs', () => {
    const { s, did, driving } = world();
    s.leads = false;
    expect(driving.start()).toBe(false);
    s.leads = true;
    s.peer = '';
    expect(driving.start()).toBe(false);
    s.peer = 'b';
    s.matched = 0;
    expect(driving.start()).toBe(true);
    expect(driving.start()).toBe(false);
    expect(did).toEqual(['heartbeat']);
  });

  it('takes the lease back when a handed-over transfer times out, and not when nothing was handed over', () => {
    const early = world(2);
    early.s.matched = 0;
    early.driving.start();
    early.driving.advance();
    early.driving.advance();
    expect(early.driving.transferring).toBe(false);
    expect(early.did).toEqual(['heartbeat']);

    const late = world(2);
    late.driving.start();
    late.driving.advance();
    late.driving.advance();
    expect(late.driving.transferring).toBe(false);
    expect(late.did).toEqual(['relinquish 1', 'heartbeat', 'timeoutNow', 'resume']);
  });

  it('gives up a hand-over whose relinquish failed only for the term and transfer it names, and only while leading', () => {
    const { s, did, driving } = world();
    driving.start();
    driving.relinquishFailed(3, 2);
    driving.relinquishFailed(2, 1);
    s.leads = false;
    driving.relinquishFailed(3, 1);
    expect(driving.transferring).toBe(true);
    s.leads = true;
    driving.relinquishFailed(3, 1);
    expect(driving.transferring).toBe(false);
    expect(did.at(-1)).toBe('resume');
  });

  it("withdraws a hand-over at the operator's deadline unless its TimeoutNow left; abort calls off only what was not handed over", () => {
    const left = world();
    left.driving.start();
    left.driving.timeoutNowLeft(3, 1);
    left.driving.abort();
    left.driving.withdrawHandOver();
    expect(left.driving.transferring).toBe(true);

    const notLeft = world();
    notLeft.driving.start();
    notLeft.driving.timeoutNowLeft(3, 2); // another transfer's: does not count
    notLeft.driving.withdrawHandOver();
    expect(notLeft.driving.transferring).toBe(false);
    expect(notLeft.did.at(-1)).toBe('resume');

    const waiting = world();
    waiting.s.matched = 0;
    waiting.driving.start();
    waiting.driving.abort();
    expect(waiting.driving.transferring).toBe(false);
    expect(waiting.did).toEqual(['heartbeat']);
  });

  it('hears late reports about a hand-over only while leading: not handing over, TimeoutNow not marked, nothing aborted', () => {
    // RaftCore resets the transfer when it stops leading, so these guards never decide there;
    // they keep the driver's late reports from acting for a leader that no longer leads.
    const { s, did, driving } = world();
    driving.start();
    s.leads = false;
    expect(driving.handingOver(3, 1)).toBe(false);
    driving.timeoutNowLeft(3, 1);
    driving.abort();
    s.leads = true;
    // Not marked while not leading: the operator's deadline may still withdraw it.
    driving.withdrawHandOver();
    expect(driving.transferring).toBe(false);
    expect(did.at(-1)).toBe('resume');

    const waiting = world();
    waiting.s.matched = 0;
    waiting.driving.start();
    waiting.s.leads = false;
    waiting.driving.abort();
    waiting.s.leads = true;
    expect(waiting.driving.transferring).toBe(true);
  });

  it('ends the transfer when the peer changes, taking the lease back only if it was handed over', () => {
    const handed = world();
    handed.driving.start();
    handed.driving.peerChanged();
    expect(handed.driving.transferring).toBe(false);
    expect(handed.did.at(-1)).toBe('resume');

    const waiting = world();
    waiting.s.matched = 0;
    waiting.driving.start();
    waiting.driving.peerChanged();
    expect(waiting.driving.transferring).toBe(false);
    expect(waiting.did).toEqual(['heartbeat']);
  });
});
