// The delaying relay of the network-namespace harness, on loopback: bytes arrive whole and
// in order however the jitter reorders their delays, a delay is never shorter than
// latency - jitter (a lower bound: it cannot be flaky on a busy machine), and bad settings
// are refused.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../../../src/harness/netns/relay.js';
import { RelayLateness } from '../../../src/harness/netns/relay-lateness.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  // Last opened, first closed: a server's close waits for its connections.
  for (const c of closers.splice(0).reverse()) await c();
});

async function echoServer(): Promise<number> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

async function relayTo(port: number, random?: () => number, lateness?: RelayLateness): Promise<Relay> {
  const relay = await startRelay({ name: 'test', address: '127.0.0.1', target: { host: '127.0.0.1', port } }, random, lateness);
  closers.push(() => relay.close());
  return relay;
}

function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    closers.push(async () => {
      s.destroy();
    });
  });
}

describe('delaying relay', () => {
  it('keeps the bytes of a connection whole and in order under jitter', async () => {
    const relay = await relayTo(await echoServer());
    relay.setDelay({ latencyMs: 4, jitterMs: 4 });
    const s = await connectTo(relay.port);
    s.setNoDelay(true);
    const sent: Buffer[] = [];
    for (let i = 0; i < 300; i++) sent.push(Buffer.from(`${i},`));
    const expected = Buffer.concat(sent);
    const received: Buffer[] = [];
    let total = 0;
    const done = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        received.push(d);
        total += d.length;
        if (total >= expected.length) resolve();
      });
    });
    for (const chunk of sent) {
      s.write(chunk);
      // Separate chunks, each with its own random delay.
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(Buffer.concat(received).toString()).toBe(expected.toString());
  });

  it('delays each way by at least latency - jitter', async () => {
    const relay = await relayTo(await echoServer());
    relay.setDelay({ latencyMs: 30, jitterMs: 10 });
    const s = await connectTo(relay.port);
    const t = performance.now();
    s.write('ping');
    await new Promise<void>((resolve) => s.once('data', () => resolve()));
    // There and back through the relay: two delays of at least 20 ms each.
    expect(performance.now() - t).toBeGreaterThanOrEqual(40);
  });

  it('records every chunk it delivers, delayed or not, with how late it went out', async () => {
    const lateness = new RelayLateness();
    const relay = await relayTo(await echoServer(), undefined, lateness);
    const s = await connectTo(relay.port);
    const echo = (text: string): Promise<void> => {
      const back = new Promise<void>((resolve) => s.once('data', () => resolve()));
      s.write(text);
      return back;
    };
    await echo('undelayed');
    relay.setDelay({ latencyMs: 5, jitterMs: 0 });
    await echo('delayed');
    // Each echo crosses the relay twice (there and back); bytes may coalesce, never vanish.
    const stats = lateness.stats();
    expect(stats.chunks).toBeGreaterThanOrEqual(4);
  });

  it('refuses a jitter larger than the latency, or a negative one', async () => {
    const relay = await relayTo(await echoServer());
    expect(() => relay.setDelay({ latencyMs: 2, jitterMs: 3 })).toThrow(/jitter/);
    expect(() => relay.setDelay({ latencyMs: -1, jitterMs: 0 })).toThrow(/jitter/);
  });

  it('passes a clean close on after the delayed bytes', async () => {
    const relay = await relayTo(await echoServer());
    relay.setDelay({ latencyMs: 10, jitterMs: 0 });
    const s = await connectTo(relay.port);
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    const ended = new Promise<void>((resolve) => s.once('end', () => resolve()));
    s.end('last words');
    await ended;
    expect(got).toBe('last words');
  });
});
