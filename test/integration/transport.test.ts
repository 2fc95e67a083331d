// GrpcPeerTransport over real gRPC servers on loopback. Fake handlers play the core.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/common/logger.js';
import type { AppendEntries, Heartbeat, Message, Vote } from '../../src/core/messages.js';
import { EntryType, type NodeId } from '../../src/core/types.js';
import { freePort } from '../../src/harness/free-port.js';
import { realClock } from '../../src/common/real-clock.js';
import { GrpcPeerTransport, type GrpcPeerTransportOptions } from '../../src/transport/grpc-peer-transport.js';
import { peerServerOptions } from '../../src/transport/peer-service.js';

// TRANSPORT_TEST_LOG=debug shows the transports' logs on stderr.
const logLevel = process.env['TRANSPORT_TEST_LOG'];
const logger = logLevel ? createLogger('transport-test', { level: logLevel }) : silentLogger;

const fixture = fileURLToPath(new URL('./fixtures/peer-server.mjs', import.meta.url));

/** Messages a transport delivered, with bounded waits for the next one that matches. */
class Inbox {
  readonly messages: Message[] = [];
  private readonly waiters = new Set<{ match: (m: Message) => boolean; resolve: (m: Message) => void }>();

  push(m: Message): void {
    this.messages.push(m);
    for (const w of this.waiters) {
      if (w.match(m)) {
        this.waiters.delete(w);
        w.resolve(m);
      }
    }
  }

  /** The first message (already here or still to come) that matches, within timeoutMs. */
  waitFor(match: (m: Message) => boolean, timeoutMs = 3000): Promise<Message> {
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.type))}`));
      }, timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.add(waiter);
    });
  }
}

interface TestNode {
  readonly id: NodeId;
  readonly transport: GrpcPeerTransport;
  readonly server: grpc.Server;
  readonly address: string;
  readonly inbox: Inbox;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function bind(server: grpc.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * A transport on its own server. `answer` plays the core: it gets each delivered message
 * and may send replies; by default nothing is answered.
 */
async function startNode(
  id: NodeId,
  options: Partial<GrpcPeerTransportOptions> = {},
  answer?: (m: Message, transport: GrpcPeerTransport) => void,
  port = 0,
): Promise<TestNode> {
  const transport = new GrpcPeerTransport({ selfId: id, cluster: 'test', clock: realClock, logger: logger.child({ node: id }), ...options });
  const server = new grpc.Server(peerServerOptions);
  transport.addToServer(server);
  const boundPort = await bind(server, port);
  const inbox = new Inbox();
  transport.setHandler((m) => {
    inbox.push(m);
    answer?.(m, transport);
  });
  cleanups.push(async () => {
    await transport.close();
    server.forceShutdown();
  });
  return { id, transport, server, address: `127.0.0.1:${boundPort}`, inbox };
}

/** A fake core that answers every request like a healthy follower with `lastIndex` entries. */
function follower(lastIndex: number) {
  return (m: Message, transport: GrpcPeerTransport): void => {
    const base = { from: m.to, to: m.from, term: m.term, rpcId: m.rpcId };
    if (m.type === 'append') {
      transport.send({ ...base, type: 'appendReply', success: true, matchIndex: m.prevLogIndex + m.entries.length, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: lastIndex });
    } else if (m.type === 'heartbeat') {
      transport.send({ ...base, type: 'heartbeatReply', lastIndex, leaderMatch: 0 });
    } else if (m.type === 'vote') {
      transport.send({ ...base, type: 'voteReply', granted: false, preVote: m.preVote, reason: 'leader-alive' });
    }
  };
}

function heartbeat(from: NodeId, to: NodeId, term = 1): Heartbeat {
  return { type: 'heartbeat', from, to, term, commit: 0, commitTerm: 0, commitChain: chainValue(0) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until check() holds, at most timeoutMs. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves with the time (performance.now()) of the first disconnect notice for `peer`. */
function disconnectOf(transport: GrpcPeerTransport, peer: NodeId, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no disconnect of ${peer} within ${timeoutMs} ms`)), timeoutMs);
    transport.onPeerDisconnected((id) => {
      if (id !== peer) return;
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

/** A made-up 16-byte chain value (the transport carries it; the core checks it). */
function chainValue(n: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (n * 7 + i) & 0xff);
}

describe('GrpcPeerTransport request and reply', () => {
  it('carries an append to the peer with an rpcId, and its reply back', async () => {
    const a = await startNode('a');
    const b = await startNode('b', {}, follower(44));
    a.transport.setPeerAddress('b', b.address);

    const append: AppendEntries = {
      type: 'append',
      from: 'a',
      to: 'b',
      term: 3,
      prevLogIndex: 41,
      prevLogTerm: 2,
      prevLogChain: chainValue(41),
      entries: [
        { index: 42, term: 3, type: EntryType.Noop, data: new Uint8Array(0), chain: chainValue(42) },
        { index: 43, term: 3, type: EntryType.Normal, data: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff), chain: chainValue(43) },
        { index: 44, term: 3, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3), chain: chainValue(44) },
      ],
      leaderCommit: 41,
    };
    a.transport.send(append);

    const received = await b.inbox.waitFor((m) => m.type === 'append');
    expect(received.rpcId).toEqual(expect.any(Number));
    const { rpcId: _id, ...withoutId } = received;
    expect(withoutId).toEqual(append);

    const reply = await a.inbox.waitFor((m) => m.type === 'appendReply');
    expect(reply).toEqual({ type: 'appendReply', from: 'b', to: 'a', term: 3, success: true, matchIndex: 44, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: 44 });
  });

  it('carries heartbeats and votes both ways, with distinct increasing rpcIds', async () => {
    const a = await startNode('a', {}, follower(5));
    const b = await startNode('b', {}, follower(7));
    a.transport.setPeerAddress('b', b.address);
    b.transport.setPeerAddress('a', a.address);

    a.transport.send(heartbeat('a', 'b', 4));
    const vote: Vote = { type: 'vote', from: 'b', to: 'a', term: 5, lastLogIndex: 7, lastLogTerm: 4, preVote: true, transfer: false };
    b.transport.send(vote);
    a.transport.send(heartbeat('a', 'b', 4));

    expect(await a.inbox.waitFor((m) => m.type === 'heartbeatReply')).toEqual({ type: 'heartbeatReply', from: 'b', to: 'a', term: 4, lastIndex: 7, leaderMatch: 0 });
    expect(await b.inbox.waitFor((m) => m.type === 'voteReply')).toEqual({
      type: 'voteReply',
      from: 'a',
      to: 'b',
      term: 5,
      granted: false,
      preVote: true,
      reason: 'leader-alive',
    });
    const voteAtA = await a.inbox.waitFor((m) => m.type === 'vote');
    expect(voteAtA).toMatchObject({ ...vote, rpcId: expect.any(Number) });

    await until(() => b.inbox.messages.filter((m) => m.type === 'heartbeat').length === 2, 3000, 'two heartbeats at b');
    const ids = b.inbox.messages.filter((m) => m.type === 'heartbeat').map((m) => m.rpcId ?? 0);
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    await until(() => a.inbox.messages.filter((m) => m.type === 'heartbeatReply').length === 2, 3000, 'two replies at a');
  });

  it('delivers TimeoutNow without rpcId and nothing back to the sender', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    a.transport.setPeerAddress('b', b.address);
    a.transport.send({ type: 'timeoutNow', from: 'a', to: 'b', term: 6, leaseVersion: 17 });
    expect(await b.inbox.waitFor((m) => m.type === 'timeoutNow')).toEqual({ type: 'timeoutNow', from: 'a', to: 'b', term: 6, leaseVersion: 17 });
    await sleep(200);
    expect(a.inbox.messages).toEqual([]);
  });

  it('a call the core never answers ends in no_reply: no message at the sender, and a late reply is dropped', async () => {
    const a = await startNode('a');
    const b = await startNode('b', { replyTimeoutMs: 150 });
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    const request = await b.inbox.waitFor((m) => m.type === 'heartbeat');
    await sleep(400);
    // Too late: the call was already answered with no_reply.
    b.transport.send({ type: 'heartbeatReply', from: 'b', to: 'a', term: 1, lastIndex: 0, leaderMatch: 0, rpcId: request.rpcId });
    await sleep(200);
    expect(a.inbox.messages).toEqual([]);
  });

  it('a reply of the wrong type does not answer the call', async () => {
    const a = await startNode('a');
    const b = await startNode('b', { replyTimeoutMs: 200 }, (m, t) => {
      if (m.type === 'heartbeat') {
        t.send({ type: 'voteReply', from: 'b', to: 'a', term: 1, granted: true, preVote: true, reason: '', rpcId: m.rpcId });
      }
    });
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    await b.inbox.waitFor((m) => m.type === 'heartbeat');
    await sleep(500);
    expect(a.inbox.messages).toEqual([]);
  });

  it('closing answers the calls still waiting for the core with no_reply', async () => {
    const a = await startNode('a', { requestTimeoutMs: { heartbeat: 500 } });
    const b = await startNode('b', { replyTimeoutMs: 10_000 });
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    await b.inbox.waitFor((m) => m.type === 'heartbeat');
    await b.transport.close();
    // Had the call not been answered, a's 500 ms deadline would have produced 'unreachable'.
    await sleep(800);
    expect(a.inbox.messages).toEqual([]);
  });
});

describe('GrpcPeerTransport refuses foreign and misaddressed requests', () => {
  it('ignores a request from another cluster', async () => {
    const stranger = await startNode('a', { cluster: 'other' });
    const b = await startNode('b', {}, follower(1));
    stranger.transport.setPeerAddress('b', b.address);
    stranger.transport.send(heartbeat('a', 'b'));
    stranger.transport.send({ type: 'vote', from: 'a', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false });
    await sleep(400);
    expect(b.inbox.messages).toEqual([]);
    expect(stranger.inbox.messages).toEqual([]);
  });

  it('ignores a request addressed to another node', async () => {
    const a = await startNode('a');
    const b = await startNode('b', {}, follower(1));
    a.transport.setPeerAddress('c', b.address); // c's address points at b
    a.transport.send(heartbeat('a', 'c'));
    await sleep(400);
    expect(b.inbox.messages).toEqual([]);
    expect(a.inbox.messages).toEqual([]);
  });
});

describe('GrpcPeerTransport failures', () => {
  it('reports a peer without an address as unreachable', async () => {
    const a = await startNode('a');
    a.transport.send(heartbeat('a', 'b'));
    expect(await a.inbox.waitFor((m) => m.type === 'unreachable', 500)).toEqual({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
  });

  it('reports an address where nothing listens as unreachable, quickly', async () => {
    const a = await startNode('a');
    a.transport.setPeerAddress('b', `127.0.0.1:${await freePort()}`);
    const start = performance.now();
    a.transport.send(heartbeat('a', 'b'));
    const m = await a.inbox.waitFor((x) => x.type === 'unreachable', 900);
    const ms = performance.now() - start;
    expect(m).toEqual({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    console.log(`[transport] unreachable for a refused connection after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(900);
  });

  it('refuses requests beyond maxOutstandingPerPeer as unreachable', async () => {
    const a = await startNode('a', { maxOutstandingPerPeer: 2 });
    const b = await startNode('b', { replyTimeoutMs: 5000 }); // never answers
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    a.transport.send(heartbeat('a', 'b'));
    a.transport.send(heartbeat('a', 'b'));
    expect(await a.inbox.waitFor((m) => m.type === 'unreachable', 500)).toEqual({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
    await until(() => b.inbox.messages.length === 2, 3000, 'two heartbeats at b');
    await sleep(100);
    expect(b.inbox.messages).toHaveLength(2);
    expect(a.inbox.messages).toHaveLength(1);
  });

  it('a failed call (deadline) is reported as unreachable', async () => {
    const a = await startNode('a', { requestTimeoutMs: { vote: 100 } });
    const b = await startNode('b', { replyTimeoutMs: 5000 }); // never answers
    a.transport.setPeerAddress('b', b.address);
    a.transport.send({ type: 'vote', from: 'a', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false });
    expect(await a.inbox.waitFor((m) => m.type === 'unreachable', 1000)).toEqual({ type: 'unreachable', from: 'b', to: 'a', term: 0 });
  });
});

describe('GrpcPeerTransport disconnect detection', () => {
  it("fires onPeerDisconnected when the peer's server shuts down", async () => {
    const a = await startNode('a');
    const b = await startNode('b', {}, follower(0));
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    await a.inbox.waitFor((m) => m.type === 'heartbeatReply');
    expect(a.transport.peerConnectionState('b')).toBe('READY');

    const fired = disconnectOf(a.transport, 'b', 3000);
    const start = performance.now();
    b.server.forceShutdown();
    const ms = (await fired) - start;
    console.log(`[transport] disconnect noticed ${ms.toFixed(1)} ms after forceShutdown of the peer's server`);
  });

  it('a node that only answers (a follower) notices its leader going away', async () => {
    const leader = await startNode('a');
    const followerNode = await startNode('b', {}, follower(0));
    leader.transport.setPeerAddress('b', followerNode.address);
    followerNode.transport.setPeerAddress('a', leader.address);
    leader.transport.send(heartbeat('a', 'b'));
    await leader.inbox.waitFor((m) => m.type === 'heartbeatReply');
    // The follower opened its own connection to the leader when the heartbeat arrived.
    await until(() => followerNode.transport.peerConnectionState('a') === 'READY', 2000, 'follower connected to leader');

    const fired = disconnectOf(followerNode.transport, 'a', 3000);
    const start = performance.now();
    leader.server.forceShutdown();
    const ms = (await fired) - start;
    console.log(`[transport] follower noticed the leader's server shutdown after ${ms.toFixed(1)} ms`);
  });

  it('keeps reconnecting, and notices the next disconnect too, when the peer comes back at the same address', async () => {
    const a = await startNode('a');
    const b = await startNode('b', {}, follower(0));
    const port = Number(b.address.split(':')[1]);
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    await a.inbox.waitFor((m) => m.type === 'heartbeatReply');

    const first = disconnectOf(a.transport, 'b', 3000);
    b.server.forceShutdown();
    await first;

    // The same peer restarts at the same address. Nothing is sent to it: the channel
    // reconnects on its own (reconnect backoff is capped at 500 ms).
    const restartedAt = performance.now();
    const b2 = await startNode('b', {}, follower(0), port);
    await until(() => a.transport.peerConnectionState('b') === 'READY', 3000, 'reconnected to the restarted peer');
    console.log(`[transport] reconnected ${(performance.now() - restartedAt).toFixed(1)} ms after the peer restarted`);

    const second = disconnectOf(a.transport, 'b', 3000);
    b2.server.forceShutdown();
    await second;
  });

  it('a peer that announces itself is connected again at once, not after the reconnect backoff; a connected channel is left alone', async () => {
    const a = await startNode('a');
    const port = await freePort();
    a.transport.setPeerAddress('b', `127.0.0.1:${port}`);
    // Nothing listens yet: the channel fails and backs off.
    a.transport.send(heartbeat('a', 'b'));
    await a.inbox.waitFor((m) => m.type === 'unreachable', 900);
    await until(() => a.transport.peerConnectionState('b') === 'TRANSIENT_FAILURE', 3000, 'the channel backing off');
    // The peer comes up and registers (its member znode): the backing-off channel is dropped.
    const b = await startNode('b', {}, follower(0), port);
    a.transport.peerMayBeBack('b');
    expect(a.transport.peerConnectionState('b')).toBe('NONE');
    a.transport.send(heartbeat('a', 'b'));
    await a.inbox.waitFor((m) => m.type === 'heartbeatReply', 2000);
    expect(a.transport.peerConnectionState('b')).toBe('READY');
    // Announcing itself again while connected changes nothing.
    a.transport.peerMayBeBack('b');
    expect(a.transport.peerConnectionState('b')).toBe('READY');
    b.server.forceShutdown();
  });

  it('forgetting or replacing an address does not count as a disconnect', async () => {
    const a = await startNode('a');
    const b = await startNode('b', {}, follower(0));
    a.transport.setPeerAddress('b', b.address);
    a.transport.send(heartbeat('a', 'b'));
    await a.inbox.waitFor((m) => m.type === 'heartbeatReply');
    const notices: NodeId[] = [];
    a.transport.onPeerDisconnected((id) => notices.push(id));
    a.transport.setPeerAddress('b', `127.0.0.1:${await freePort()}`);
    a.transport.setPeerAddress('b', '');
    await sleep(200);
    expect(notices).toEqual([]);
    expect(a.transport.peerConnectionState('b')).toBe('NONE');
  });

  describe('a peer process killed with SIGKILL', () => {
    let child: ChildProcess | null = null;

    afterEach(() => {
      // Only the child this test spawned, by its pid.
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      child = null;
    });

    async function spawnPeer(id: NodeId): Promise<{ proc: ChildProcess; port: number }> {
      const proc = spawn(process.execPath, [fixture, id], { stdio: ['pipe', 'pipe', 'inherit'] });
      child = proc;
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer fixture did not start within 10 s: ${out}`)), 10_000);
        proc.once('exit', (code, signal) => reject(new Error(`peer fixture exited early (${code ?? signal})`)));
        proc.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /LISTENING (\d+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
      });
      return { proc, port };
    }

    it('fires onPeerDisconnected within tens of milliseconds', async () => {
      const a = await startNode('a');
      const latencies: number[] = [];
      for (let round = 0; round < 5; round++) {
        const { proc, port } = await spawnPeer('b');
        a.transport.setPeerAddress('b', `127.0.0.1:${port}`);
        a.transport.send(heartbeat('a', 'b', round + 1));
        expect(await a.inbox.waitFor((m) => m.type === 'heartbeatReply' && m.term === round + 1)).toEqual({
          type: 'heartbeatReply',
          from: 'b',
          to: 'a',
          term: round + 1,
          lastIndex: 0,
          leaderMatch: 0,
        });
        expect(a.transport.peerConnectionState('b')).toBe('READY');

        const fired = disconnectOf(a.transport, 'b', 3000);
        const exited = once(proc, 'exit');
        const start = performance.now();
        process.kill(proc.pid!, 'SIGKILL');
        latencies.push((await fired) - start);
        await exited;
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      console.log(
        `[transport] SIGKILL of the peer process -> onPeerDisconnected: ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms ` +
          `(min ${sorted[0]!.toFixed(1)}, median ${sorted[2]!.toFixed(1)}, max ${sorted[4]!.toFixed(1)})`,
      );
      // Generous: the point is that it fires without heartbeats; the log line has the numbers.
      expect(sorted[4]!).toBeLessThan(3000);
    });
  });
});
