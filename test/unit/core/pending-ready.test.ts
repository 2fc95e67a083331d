// What the next Ready hands out (src/core/pending-ready.ts), without a whole core: nothing
// recorded -> nothing pending; a soft or hard state handed out once, when it changed; entries
// handed out from the unstable index once, with a truncation mark when the log was rewritten
// below what was handed out; one-shot notices handed out once; a relinquish only while its
// transfer is the current hand-over (review 32), its TimeoutNow withheld otherwise. The Ready
// inside RaftCore is tested in raft.test.ts.
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../src/core/log.js';
import type { Message } from '../../../src/core/messages.js';
import { PendingReady, type ReadyParts } from '../../../src/core/pending-ready.js';
import type { Ready, SoftState } from '../../../src/core/ready.js';
import type { HardState } from '../../../src/core/types.js';
import { entry, testGenesis } from './helpers.js';

const follower: SoftState = { role: 'follower', term: 1, leaderId: 'b' };
const hard1: HardState = { term: 1, commit: 2 };
const noTransfer = { handedOver: false, generation: 0 };

function setup(): { log: RaftLog; p: PendingReady } {
  const log = new RaftLog({ index: 0, term: 0, chain: testGenesis }, [entry(1, 1), entry(2, 1)]);
  return { log, p: new PendingReady(log, follower, hard1) };
}

/** Collects a Ready with nothing from the parts RaftCore gathers elsewhere. */
function collect(p: PendingReady, over: Partial<ReadyParts> = {}): Ready {
  const persist = p.takeToPersist();
  return p.collect({ soft: follower, hard: hard1, persist, committed: [], toMirror: [], takeover: undefined, handOverNote: undefined, snapshotNeeded: undefined, transfer: noTransfer, ...over });
}

const heartbeat: Message = { type: 'heartbeat', from: 'a', to: 'b', term: 2, commit: 2, commitTerm: 1, commitChain: testGenesis };
const timeoutNow: Message = { type: 'timeoutNow', from: 'a', to: 'b', term: 2, leaseVersion: 0 };

describe('PendingReady', () => {
  it('has nothing pending when nothing was recorded and the state did not change; its Ready holds only the empty lists', () => {
    const { p } = setup();
    expect(p.hasPending()).toBe(false);
    const rd = collect(p);
    expect(rd).toEqual({ entries: [], messages: [], committed: [], toMirror: [] });
    expect(p.hasPending()).toBe(false);
  });

  it('hands out a changed soft or hard state once', () => {
    const { p } = setup();
    const candidate: SoftState = { role: 'candidate', term: 1, leaderId: '' };
    const hard2: HardState = { term: 1, commit: 3 };
    expect(p.hasPending()).toBe(false);
    expect([p.softChanged(follower), p.hardChanged(hard1)]).toEqual([false, false]);
    expect([p.softChanged(candidate), p.hardChanged(hard2)]).toEqual([true, true]);
    const rd = collect(p, { soft: candidate, hard: hard2 });
    expect(rd.softState).toEqual(candidate);
    expect(rd.hardState).toEqual(hard2);
    expect([p.softChanged(candidate), p.hardChanged(hard2)]).toEqual([false, false]);
    const again = collect(p, { soft: candidate, hard: hard2 });
    expect(again.softState).toBeUndefined();
    expect(again.hardState).toBeUndefined();
  });

  it('hands out entries from the unstable index once, and a truncation mark when the log was rewritten below what was handed out', () => {
    const { log, p } = setup();
    log.appendContiguous([entry(3, 2), entry(4, 2)]);
    p.markUnstable(3);
    expect(p.hasPending()).toBe(true);
    const rd = collect(p);
    expect(rd.truncateFrom).toBeUndefined();
    expect(rd.entries.map((e) => e.index)).toEqual([3, 4]);
    expect(p.hasPending()).toBe(false);
    expect(collect(p).entries).toEqual([]);

    log.truncateFrom(4);
    log.appendContiguous([entry(4, 3)]);
    p.markUnstable(4);
    p.markUnstable(5); // above the unstable index: no effect
    const rewritten = collect(p);
    expect(rewritten.truncateFrom).toBe(4);
    expect(rewritten.entries.map((e) => [e.index, e.term])).toEqual([[4, 3]]);

    // A truncation with nothing appended still asks for the mark.
    log.truncateFrom(4);
    p.markUnstable(4);
    expect(p.hasPending()).toBe(true);
    const cut = collect(p);
    expect(cut.truncateFrom).toBe(4);
    expect(cut.entries).toEqual([]);
    expect(p.hasPending()).toBe(false);
  });

  it('after a snapshot install hands out the log reset once, and nothing to persist from before the point', () => {
    const { log, p } = setup();
    const point = { index: 10, term: 3, chain: testGenesis };
    log.restore(point);
    p.snapshotInstalled(point);
    expect(p.hasPending()).toBe(true);
    const rd = collect(p);
    expect(rd.logReset).toEqual(point);
    expect(rd.truncateFrom).toBeUndefined();
    expect(rd.entries).toEqual([]);
    expect(collect(p).logReset).toBeUndefined();
  });

  it('hands out messages in order once, a leadership loss with its restated reason once, a divergence once, a lease resume once', () => {
    const { p } = setup();
    p.restateLeadershipLost('no loss to restate');
    expect(p.hasPending()).toBe(false);
    p.send(heartbeat);
    p.send(timeoutNow);
    p.leadershipLost({ term: 2, commit: 2, sentToMirror: 3, reason: 'stepped down' });
    p.restateLeadershipLost('fenced in ZooKeeper');
    p.diverged({ index: 2, reason: 'chain differs' });
    p.resumeLease();
    const rd = collect(p);
    expect(rd.messages).toEqual([heartbeat, timeoutNow]);
    expect(rd.leadershipLost).toEqual({ term: 2, commit: 2, sentToMirror: 3, reason: 'fenced in ZooKeeper' });
    expect(rd.diverged).toEqual({ index: 2, reason: 'chain differs' });
    expect(rd.resumeLease).toBe(true);
    expect(p.hasPending()).toBe(false);
    expect(collect(p)).toEqual({ entries: [], messages: [], committed: [], toMirror: [] });
  });

  it('hands out a relinquish only while its transfer is the current hand-over; otherwise withholds its TimeoutNow (review 32)', () => {
    const current = setup().p;
    current.send(heartbeat);
    current.send(timeoutNow);
    current.relinquishLease(7);
    const rd = collect(current, { transfer: { handedOver: true, generation: 7 } });
    expect(rd.relinquishLease).toBe(7);
    expect(rd.messages).toEqual([heartbeat, timeoutNow]);
    expect(current.hasPending()).toBe(false);

    for (const transfer of [{ handedOver: true, generation: 8 }, { handedOver: false, generation: 7 }]) {
      const over = setup().p;
      over.send(heartbeat);
      over.send(timeoutNow);
      over.relinquishLease(7);
      const stale = collect(over, { transfer });
      expect(stale.relinquishLease).toBeUndefined();
      expect(stale.messages).toEqual([heartbeat]);
      expect(over.hasPending()).toBe(false);
    }

    // No relinquish recorded: a TimeoutNow goes out as it is.
    const plain = setup().p;
    plain.send(timeoutNow);
    expect(collect(plain).messages).toEqual([timeoutNow]);
  });

  it('with a current relinquish, withholds a TimeoutNow an ended transfer left uncollected; other messages keep their order (review 34)', () => {
    const { p } = setup();
    const second: Message = { ...timeoutNow, to: 'c' };
    p.send(heartbeat);
    p.send(timeoutNow);
    p.relinquishLease(1);
    p.resumeLease(); // transfer 1 ended
    p.send(heartbeat);
    p.relinquishLease(2);
    p.send(second);
    const rd = collect(p, { transfer: { handedOver: true, generation: 2 } });
    expect(rd.relinquishLease).toBe(2);
    expect(rd.resumeLease).toBe(true);
    expect(rd.messages).toEqual([heartbeat, heartbeat, second]);
  });

  it('has something pending for each one-shot notice alone, and for a truncation alone', () => {
    const record: ((p: PendingReady, log: RaftLog) => void)[] = [
      (p) => p.send(heartbeat),
      (p) => p.leadershipLost({ term: 1, commit: 2, sentToMirror: 2, reason: 'r' }),
      (p) => p.relinquishLease(1),
      (p) => p.resumeLease(),
      (p) => p.diverged({ index: 1, reason: 'd' }),
      (p, log) => {
        const point = { index: 5, term: 1, chain: testGenesis };
        log.restore(point);
        p.snapshotInstalled(point);
      },
      (p, log) => {
        log.truncateFrom(2);
        p.markUnstable(2);
      },
    ];
    for (const [i, r] of record.entries()) {
      const { log, p } = setup();
      r(p, log);
      expect([i, p.hasPending()]).toEqual([i, true]);
      collect(p);
      expect([i, p.hasPending()]).toEqual([i, false]);
    }
  });

  it('a snapshot installed below what was handed out to persist: the log reset alone voids the WAL, no truncation mark', () => {
    const { log, p } = setup();
    log.appendContiguous([entry(3, 1), entry(4, 1), entry(5, 1)]);
    p.markUnstable(3);
    expect(collect(p).entries.map((e) => e.index)).toEqual([3, 4, 5]);
    const point = { index: 3, term: 1, chain: testGenesis };
    log.restore(point);
    p.snapshotInstalled(point);
    log.appendContiguous([entry(4, 2)]);
    const rd = collect(p);
    expect(rd.logReset).toEqual(point);
    expect(rd.truncateFrom).toBeUndefined();
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[4, 2]]);
  });

  it('lays out the Ready in the same field order as always', () => {
    const { log, p } = setup();
    p.snapshotInstalled({ index: 2, term: 1, chain: testGenesis });
    log.truncateFrom(2);
    log.appendContiguous([entry(2, 2)]);
    p.markUnstable(2);
    p.send(heartbeat);
    p.leadershipLost({ term: 2, commit: 1, sentToMirror: 1, reason: 'r' });
    p.relinquishLease(1);
    p.resumeLease();
    p.diverged({ index: 1, reason: 'd' });
    const rd = collect(p, {
      soft: { role: 'leader', term: 2, leaderId: 'a' },
      hard: { term: 2, commit: 1 },
      takeover: { term: 2, leaseVersion: 1, commit: 1, transfer: false },
      handOverNote: 'n',
      snapshotNeeded: { peer: 'b', firstIndex: 1 },
      transfer: { handedOver: true, generation: 1 },
    });
    expect(Object.keys(rd)).toEqual([
      'softState',
      'hardState',
      'truncateFrom',
      'entries',
      'messages',
      'committed',
      'toMirror',
      'takeover',
      'leadershipLost',
      'relinquishLease',
      'resumeLease',
      'handOverUnconfirmed',
      'diverged',
      'snapshotNeeded',
      'logReset',
    ]);
  });
});
