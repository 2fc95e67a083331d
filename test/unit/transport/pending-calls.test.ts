import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import { type PendingCall, PendingCalls, type ReplyMessage } from '../../../src/transport/pending-calls.js';

/** A clock that moves only when told to. */
class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];

  now(): number {
    return this.time;
  }

  wallNow(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.time + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }

  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.live && t.at <= this.time);
    this.timers = this.timers.filter((t) => t.live && t.at > this.time);
    for (const t of due) t.fn();
  }

  liveTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }
}

/** A pending call that records how it was answered. */
function recordingCall(expects: PendingCall['expects'] = 'heartbeatReply', caller = 'a'): PendingCall & { outcomes: string[] } {
  const outcomes: string[] = [];
  return {
    expects,
    caller,
    outcomes,
    answer: (reply) => outcomes.push(`answer:${reply.type}`),
    answerNoReply: () => outcomes.push('noReply'),
  };
}

const heartbeatReply = (rpcId: number, to = 'a'): ReplyMessage => ({ type: 'heartbeatReply', from: 'b', to, term: 1, lastIndex: 0, leaderMatch: 0, rpcId });

describe('PendingCalls', () => {
  it('hands out increasing rpcIds and answers a call with the matching reply', () => {
    const clock = new ManualClock();
    const calls = new PendingCalls(clock, 100, 10, () => {});
    const first = recordingCall();
    const second = recordingCall();
    const id1 = calls.add(first)!;
    const id2 = calls.add(second)!;
    expect(id2).toBeGreaterThan(id1);
    expect(calls.settle(id2, heartbeatReply(id2))).toBe('answered');
    expect(second.outcomes).toEqual(['answer:heartbeatReply']);
    expect(first.outcomes).toEqual([]);
    expect(calls.size).toBe(1);
    // Answered calls leave no timer behind.
    expect(clock.liveTimers()).toBe(1);
  });

  it('answers with no_reply when the core does not reply in time, and forgets the call', () => {
    const clock = new ManualClock();
    const timedOut: number[] = [];
    const calls = new PendingCalls(clock, 100, 10, (rpcId) => timedOut.push(rpcId));
    const call = recordingCall();
    const id = calls.add(call)!;
    clock.advance(99);
    expect(call.outcomes).toEqual([]);
    clock.advance(1);
    expect(call.outcomes).toEqual(['noReply']);
    expect(timedOut).toEqual([id]);
    expect(calls.settle(id, heartbeatReply(id))).toBe('unknown');
    expect(call.outcomes).toEqual(['noReply']);
  });

  it('leaves the call pending when the reply has the wrong type or addressee', () => {
    const calls = new PendingCalls(new ManualClock(), 100, 10, () => {});
    const call = recordingCall('appendReply', 'a');
    const id = calls.add(call)!;
    expect(calls.settle(id, heartbeatReply(id))).toBe('mismatch');
    expect(calls.settle(id, { type: 'appendReply', from: 'b', to: 'z', term: 1, success: true, matchIndex: 1, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: 1, rpcId: id })).toBe('mismatch');
    expect(call.outcomes).toEqual([]);
    expect(calls.size).toBe(1);
  });

  it('refuses new calls beyond its capacity', () => {
    const calls = new PendingCalls(new ManualClock(), 100, 2, () => {});
    expect(calls.add(recordingCall())).not.toBeNull();
    expect(calls.add(recordingCall())).not.toBeNull();
    expect(calls.add(recordingCall())).toBeNull();
  });

  it('abandon and abandonAll answer no_reply; forget answers nothing', () => {
    const clock = new ManualClock();
    const calls = new PendingCalls(clock, 100, 10, () => {});
    const a = recordingCall();
    const b = recordingCall();
    const c = recordingCall();
    const idA = calls.add(a)!;
    const idB = calls.add(b)!;
    calls.add(c);
    calls.abandon(idA);
    calls.forget(idB);
    calls.abandonAll();
    expect(a.outcomes).toEqual(['noReply']);
    expect(b.outcomes).toEqual([]);
    expect(c.outcomes).toEqual(['noReply']);
    expect(calls.size).toBe(0);
    expect(clock.liveTimers()).toBe(0);
    clock.advance(1000);
    expect([a.outcomes, b.outcomes, c.outcomes]).toEqual([['noReply'], [], ['noReply']]);
  });
});
