// What GrpcPeerTransport does without touching the network. The network paths are in
// test/integration/transport.test.ts.
import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import { ConfigError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { Message } from '../../../src/core/messages.js';
import { GrpcPeerTransport, type GrpcPeerTransportOptions } from '../../../src/transport/grpc-peer-transport.js';

/** A clock whose deferred work runs only when flushed. */
class StepClock implements Clock {
  private queue: Array<() => void> = [];
  now(): number {
    return 0;
  }
  wallNow(): number {
    return 0;
  }
  setTimeout(fn: () => void): TimerHandle {
    this.queue.push(fn);
    return { cancel: () => (this.queue = this.queue.filter((f) => f !== fn)) };
  }
  defer(fn: () => void): void {
    this.queue.push(fn);
  }
  flush(): void {
    const due = this.queue;
    this.queue = [];
    for (const fn of due) fn();
  }
}

function transport(clock: Clock, overrides: Partial<GrpcPeerTransportOptions> = {}): GrpcPeerTransport {
  return new GrpcPeerTransport({ selfId: 'a', cluster: 'test', clock, logger: silentLogger, ...overrides });
}

describe('GrpcPeerTransport without a network', () => {
  it('rejects bad options with ConfigError', () => {
    const clock = new StepClock();
    expect(() => transport(clock, { selfId: '' })).toThrow(ConfigError);
    expect(() => transport(clock, { cluster: '' })).toThrow(ConfigError);
    expect(() => transport(clock, { requestTimeoutMs: { vote: 0 } })).toThrow(ConfigError);
    expect(() => transport(clock, { maxOutstandingPerPeer: -1 })).toThrow(ConfigError);
    expect(() => transport(clock, { replyTimeoutMs: Number.NaN })).toThrow(ConfigError);
  });

  it("reports a peer without an address as unreachable on a later turn, not inside send()", async () => {
    const clock = new StepClock();
    const t = transport(clock);
    const got: Message[] = [];
    t.setHandler((m) => got.push(m));
    t.send({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    expect(got).toEqual([]);
    clock.flush();
    expect(got).toEqual([{ type: 'unreachable', from: 'b', to: 'a', term: 0 }]);
    await t.close();
  });

  it('never throws from send(), whatever it is given', async () => {
    const clock = new StepClock();
    const t = transport(clock);
    t.setHandler(() => {
      throw new Error('handler bug');
    });
    expect(() => t.send({ type: 'unreachable', from: 'a', to: 'b', term: 0 })).not.toThrow();
    expect(() => t.send({ type: 'heartbeatReply', from: 'a', to: 'b', term: 1, lastIndex: 0, leaderMatch: 0 })).not.toThrow();
    expect(() => t.send({ type: 'heartbeatReply', from: 'a', to: 'b', term: 1, lastIndex: 0, leaderMatch: 0, rpcId: 12345 })).not.toThrow();
    expect(() => t.send({ type: 'vote', from: 'a', to: 'b', term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false })).not.toThrow();
    expect(() => clock.flush()).not.toThrow();
    await t.close();
  });

  it('ignores its own address, and drops everything after close()', async () => {
    const clock = new StepClock();
    const t = transport(clock);
    const got: Message[] = [];
    t.setHandler((m) => got.push(m));
    t.setPeerAddress('a', '127.0.0.1:1');
    expect(t.peerConnectionState('a')).toBe('NONE');
    await t.close();
    t.send({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, commitTerm: 0 });
    clock.flush();
    expect(got).toEqual([]);
  });
});
