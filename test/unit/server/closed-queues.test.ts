// Every queue a request can join answers at once once the member shuts down (close()), also
// a request that joins it afterwards: the gRPC server may still hand requests in while the
// member stops, and the role may still say leader, but no loop serves them any more.
import { describe, expect, it } from 'vitest';
import { type DuoraftError, UnavailableError, UnknownOutcomeError } from '../../../src/common/errors.js';
import { AppliedWaiters } from '../../../src/server/applied-waiters.js';
import { PendingProposals } from '../../../src/server/proposals.js';
import { ReadIndexQueue } from '../../../src/server/read-index.js';
import { RoleWaiters } from '../../../src/server/role-waiters.js';
import { ManualClock } from './manual-clock.js';
import { settled } from './promise-state.js';

const shutting = (): DuoraftError => new UnavailableError('this member is shutting down');

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: DuoraftError) => e.code,
  );
}

/** A leader whose confirmations wait until the test answers them. */
function readQueue(clock: ManualClock): { q: ReadIndexQueue; confirm: () => void } {
  const answers: Array<() => void> = [];
  const q = new ReadIndexQueue(
    {
      canServeReads: () => true,
      isLeader: () => true,
      commitIndex: () => 7,
      confirmLeadership: () => new Promise<void>((resolve) => answers.push(resolve)),
      hint: () => ({ leaderId: 'a', leaderAddress: 'a:1' }),
    },
    clock,
    8,
  );
  return { q, confirm: () => answers.splice(0).forEach((a) => a()) };
}

describe('queues closed as the member shuts down', () => {
  it('ReadIndexQueue: a read asked after close() is refused at once, though the host still says leader', async () => {
    const clock = new ManualClock();
    const { q } = readQueue(clock);
    q.close(shutting);
    expect(await codeOf(q.request(5000))).toBe('UNAVAILABLE');
  });

  it('ReadIndexQueue: reads queued or being confirmed at close() are answered at once, also when the confirmation succeeds later', async () => {
    const clock = new ManualClock();
    const { q, confirm } = readQueue(clock);
    const confirming = q.request(5000);
    const queued = q.request(5000);
    expect(await settled(confirming)).toBe('pending');
    q.close(shutting);
    expect(await codeOf(queued)).toBe('UNAVAILABLE');
    confirm();
    expect(await codeOf(confirming)).toBe('UNAVAILABLE');
  });

  it('ReadIndexQueue: a read being confirmed at close() is answered then, not when ZooKeeper answers (review 37)', async () => {
    const clock = new ManualClock();
    // ZooKeeper never answers this confirmation (a request timeout is seconds away).
    const { q } = readQueue(clock);
    const confirming = q.request(5000);
    expect(await settled(confirming)).toBe('pending');
    q.close(shutting);
    expect(await settled(confirming)).toBe('rejected');
    expect(await codeOf(confirming)).toBe('UNAVAILABLE');
  });

  it('AppliedWaiters: a wait that would wait is refused at once after close(); an applied index still answers', async () => {
    const clock = new ManualClock();
    const w = new AppliedWaiters(clock, 8, () => 3);
    const before = w.waitFor(5, 5000);
    w.close(shutting);
    expect(await codeOf(before)).toBe('UNAVAILABLE');
    expect(await codeOf(w.waitFor(6, 5000))).toBe('UNAVAILABLE');
    expect(await codeOf(w.waitFor(3, 5000))).toBe('resolved');
  });

  it('RoleWaiters: close() wakes every waiter and a later wait returns at once', async () => {
    const clock = new ManualClock();
    const r = new RoleWaiters(clock, 8);
    const before = r.wait(2000, () => new Error('full'));
    r.close();
    expect(await settled(before)).toBe('resolved');
    expect(await settled(r.wait(2000, () => new Error('full')))).toBe('resolved');
  });

  it('PendingProposals: close() answers the waiting writes one way and later ones another, at once', async () => {
    const clock = new ManualClock();
    const p = new PendingProposals(clock, 8);
    const waiting = p.add(4, 1, 5000);
    p.close(
      () => new UnknownOutcomeError('may still take effect'),
      () => new UnavailableError('did not take effect'),
    );
    expect(await codeOf(waiting)).toBe('UNKNOWN_OUTCOME');
    expect(await codeOf(p.add(5, 1, 5000))).toBe('UNAVAILABLE');
    expect(p.size()).toBe(0);
  });
});
