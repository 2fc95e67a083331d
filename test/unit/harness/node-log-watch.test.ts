import { describe, expect, it } from 'vitest';
import { NODE_MESSAGES, NodeLogWatch } from '../../../src/harness/chaos/node-log-watch.js';

const line = (msg: string, fields: Record<string, unknown> = {}): string => JSON.stringify({ level: 30, node: 'x', msg, ...fields });

describe('NodeLogWatch', () => {
  it("follows each node's ZooKeeper session from its 'session connected' lines", () => {
    const w = new NodeLogWatch();
    expect(w.session('a')).toBeNull();
    w.onLine('a', line(NODE_MESSAGES.sessionConnected, { sessionId: '0100002ace620001', sessionTimeoutMs: 4000 }));
    w.onLine('b', line(NODE_MESSAGES.sessionConnected, { sessionId: '0100002ace620002', sessionTimeoutMs: 6000 }));
    w.onLine('a', line(NODE_MESSAGES.sessionConnected, { sessionId: '0200002ace620009', sessionTimeoutMs: 4000 }));
    expect(w.session('a')).toEqual({ id: '0200002ace620009', timeoutMs: 4000 });
    expect(w.session('b')).toEqual({ id: '0100002ace620002', timeoutMs: 6000 });
  });

  it('hands the next matching line of the right node to a waiter, in arrival order, and ignores what is not JSON', async () => {
    const w = new NodeLogWatch();
    const led = w.nextMessage('b', NODE_MESSAGES.leading, 1_000);
    const followed = w.nextMessage('a', NODE_MESSAGES.roleChanged, 1_000, (f) => f['to'] === 'follower');
    w.onLine('a', 'not json at all');
    w.onLine('a', line(NODE_MESSAGES.leading)); // another node
    w.onLine('a', line(NODE_MESSAGES.roleChanged, { to: 'candidate' }));
    w.onLine('b', line(NODE_MESSAGES.leading));
    w.onLine('a', line(NODE_MESSAGES.roleChanged, { to: 'follower', leader: 'b' }));
    const [l, f] = await Promise.all([led.line, followed.line]);
    expect(l?.node).toBe('b');
    expect(f?.fields['leader']).toBe('b');
    expect(f!.seq).toBeGreaterThan(l!.seq);
  });

  it('gives null after the timeout, or at once when cancelled', async () => {
    const w = new NodeLogWatch();
    expect(await w.nextMessage('a', NODE_MESSAGES.leading, 10).line).toBeNull();
    const waiting = w.nextMessage('a', NODE_MESSAGES.leading, 60_000);
    waiting.cancel();
    expect(await waiting.line).toBeNull();
  });
});
