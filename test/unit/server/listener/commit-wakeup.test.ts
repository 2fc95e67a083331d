// The follower's feeder is woken right after its driver stepped an AppendEntries or a
// heartbeat (the only messages that move a follower's commit index), and not by anything else.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../../src/core/messages.js';
import { wakeOnLeaderCommit } from '../../../../src/server/listener/commit-wakeup.js';
import type { MessageSender, PeerTransport } from '../../../../src/transport/transport.js';

class FakeTransport implements PeerTransport {
  handler: ((m: Message, s: MessageSender) => void) | null = null;
  sent: Message[] = [];
  send(m: Message): void {
    this.sent.push(m);
  }
  setHandler(h: (m: Message, s: MessageSender) => void): void {
    this.handler = h;
  }
  setPeerAddress(): void {}
  onPeerDisconnected(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const base = { from: 'a', to: 'b', term: 3 };

describe('wakeOnLeaderCommit', () => {
  it('wakes after the handler stepped an AppendEntries or a heartbeat, never before it, and not for other messages', () => {
    const inner = new FakeTransport();
    const order: string[] = [];
    const t = wakeOnLeaderCommit(inner, () => order.push('wake'));
    t.setHandler((m) => order.push(`step ${m.type}`));
    const deliver = (m: Message): void => inner.handler!(m, { kind: 'unverified' });
    deliver({ ...base, type: 'append', prevLogIndex: 0, prevLogTerm: 0, prevLogChain: new Uint8Array(0), entries: [], leaderCommit: 4 } as Message);
    deliver({ ...base, type: 'heartbeat', commit: 4, commitTerm: 3, commitChain: new Uint8Array(0) } as Message);
    deliver({ ...base, type: 'heartbeatReply', lastIndex: 4, leaderMatch: 4 } as Message);
    deliver({ ...base, type: 'unreachable' } as Message);
    expect(order).toEqual(['step append', 'wake', 'step heartbeat', 'wake', 'step heartbeatReply', 'step unreachable']);
  });

  it('passes everything else through to the transport', () => {
    const inner = new FakeTransport();
    const t = wakeOnLeaderCommit(inner, () => undefined);
    const m = { ...base, type: 'heartbeat', commit: 1, commitTerm: 1, commitChain: new Uint8Array(0) } as Message;
    t.send(m);
    expect(inner.sent).toEqual([m]);
  });
});
