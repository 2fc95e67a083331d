// The harness itself: the ZooKeeper launcher leaves nothing behind, launchers run side
// by side, the TCP proxy forwards and cuts, the child-process registry only signals its
// own children, and the container provider says clearly when no Docker engine answers.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcessRegistry } from '../../src/harness/child-processes.js';
import { freePort, freePorts } from '../../src/harness/free-port.js';
import { startTcpProxy, type TcpProxy } from '../../src/harness/tcp-proxy.js';
import {
  DockerUnavailableError,
  dockerEngineAnswers,
  findZooKeeperJar,
  noDockerEngineMessage,
  serverMode,
  startZooKeeper,
  startZooKeeperContainer,
  startZooKeeperFromEnvChoice,
  ZooKeeperNotFoundError,
} from '../../src/harness/zk-launcher.js';
import { connectZk } from '../../src/coordination/zk-client.js';

const env = { ZOOKEEPER_HOME: process.env['ZOOKEEPER_HOME'], JAVA_HOME: process.env['JAVA_HOME'] };

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only, nothing is delivered
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('free ports', () => {
  it('hands out distinct ports that can be bound', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    const single = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(single, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('ZooKeeper launcher', () => {
  it('finds the installed jar, and explains how to install ZooKeeper when there is none', () => {
    const found = findZooKeeperJar(env);
    expect(fs.existsSync(found.jar)).toBe(true);
    expect(found.classpath).toContain(found.jar);

    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoraft-nozk-'));
    try {
      expect(() => findZooKeeperJar({}, emptyDir)).toThrow(ZooKeeperNotFoundError);
      expect(() => findZooKeeperJar({}, emptyDir)).toThrow(/apt-get install -y zookeeper/);
      expect(() => findZooKeeperJar({ ZOOKEEPER_HOME: emptyDir })).toThrow(/ZOOKEEPER_HOME/);
      // A release layout: lib/zookeeper-<version>.jar plus its dependencies.
      fs.mkdirSync(path.join(emptyDir, 'lib'));
      for (const jar of ['zookeeper-3.8.4.jar', 'zookeeper-jute-3.8.4.jar', 'netty-handler-4.1.jar']) fs.writeFileSync(path.join(emptyDir, 'lib', jar), '');
      const home = findZooKeeperJar({ ZOOKEEPER_HOME: emptyDir });
      expect(home.source).toBe('ZOOKEEPER_HOME');
      expect(path.basename(home.jar)).toBe('zookeeper-3.8.4.jar');
      expect(home.classpath).toHaveLength(3);
    } finally {
      fs.rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it('starts two servers side by side, and stop() ends each process and removes its directory', async () => {
    const [a, b] = await Promise.all([startZooKeeper({ forceSync: false, env }), startZooKeeper({ forceSync: false, env })]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.connectString).toBe(`127.0.0.1:${a.port}`);
      expect(await serverMode(a.host, a.port)).toBe('standalone');
      expect(await serverMode(b.host, b.port)).toBe('standalone');
      expect(processExists(a.pid)).toBe(true);
      expect(fs.readFileSync(path.join(a.dir, 'zoo.cfg'), 'utf8')).toMatch(/^tickTime=200$/m);
    } finally {
      const pids = [a.pid, b.pid];
      await Promise.all([a.stop(), b.stop()]);
      for (const pid of pids) expect(processExists(pid), `pid ${pid} still exists`).toBe(false);
      expect(fs.existsSync(a.dir)).toBe(false);
      expect(fs.existsSync(b.dir)).toBe(false);
      expect(a.pid).toBe(-1);
      await a.stop(); // idempotent
    }
  });

  it('pause() silences the server, kill() ends it keeping the data, restart() serves the data again on the same port', async () => {
    const zk = await startZooKeeper({ forceSync: false, env });
    try {
      const session = connectZk({ connectString: zk.connectString });
      await session.waitConnected(5_000);
      await session.create('/kept', new Uint8Array([7]), 'persistent');
      await session.close();

      await zk.pause();
      expect(await serverMode(zk.host, zk.port, 300)).toBeNull();
      await zk.resume();
      expect(await serverMode(zk.host, zk.port)).toBe('standalone');

      const killedPid = zk.pid;
      await zk.kill();
      expect(processExists(killedPid)).toBe(false);
      expect(zk.pid).toBe(-1);
      expect(await serverMode(zk.host, zk.port, 300)).toBeNull();

      await zk.restart();
      expect(zk.pid).not.toBe(killedPid);
      expect(await serverMode(zk.host, zk.port)).toBe('standalone');
      const again = connectZk({ connectString: zk.connectString });
      await again.waitConnected(5_000);
      expect(Array.from((await again.getData('/kept')).data)).toEqual([7]);
      await again.close();
    } finally {
      await zk.stop();
    }
  });
});

describe('child process registry', () => {
  it('signals only its own running children, and stopAll ends them all', async () => {
    const registry = new ChildProcessRegistry();
    const keepAlive = ['-e', 'setInterval(() => {}, 1000)'];
    const first = registry.spawn(process.execPath, keepAlive, { stdio: 'ignore' });
    const second = registry.spawn(process.execPath, keepAlive, { stdio: 'ignore' });
    expect(registry.runningPids().sort()).toEqual([first.pid, second.pid].sort());
    expect(registry.kill(process.pid, 'SIGTERM')).toBe(false); // not ours: nothing sent
    await registry.stop(first.pid, 2_000);
    expect(processExists(first.pid)).toBe(false);
    expect(registry.kill(first.pid, 'SIGTERM')).toBe(false); // exited: its pid may be someone else's now
    await registry.stopAll();
    expect(processExists(second.pid)).toBe(false);
    expect(registry.runningPids()).toEqual([]);
  });
});

describe('TCP proxy', () => {
  let echo: net.Server;
  let echoPort: number;
  let accepted = 0;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = net.createServer((socket) => {
      accepted += 1;
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    const address = echo.address();
    if (address === null || typeof address === 'string') throw new Error('no echo port');
    echoPort = address.port;
  });

  afterAll(async () => {
    await proxy?.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  /** A client connection through the proxy that records what comes back and how it ended. */
  async function connect(): Promise<{ socket: net.Socket; received: () => string; ended: () => string | null }> {
    const socket = net.connect(proxy.port, '127.0.0.1');
    let data = '';
    let end: string | null = null;
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => (end = err.code ?? 'error'));
    socket.on('close', () => (end ??= 'closed'));
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    return { socket, received: () => data, ended: () => end };
  }

  /** Sends `text` and waits for it to come back. */
  async function roundTrip(conn: Awaited<ReturnType<typeof connect>>, text: string): Promise<void> {
    const before = conn.received().length;
    conn.socket.write(text);
    await waitUntil(() => conn.received().length >= before + text.length, 2_000, `the echo of ${text}`);
    expect(conn.received().slice(before)).toBe(text);
  }

  it('forwards bytes both ways', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
    const conn = await connect();
    await roundTrip(conn, 'hello');
    await roundTrip(conn, 'x'.repeat(256 * 1024)); // larger than the socket buffers: back-pressure path
    conn.socket.destroy();
  });

  it("'reset' resets current connections and refuses new ones; heal forwards again", async () => {
    const conn = await connect();
    await roundTrip(conn, 'before');
    proxy.cut('reset');
    await waitUntil(() => conn.ended() !== null, 2_000, 'the reset');
    expect(conn.ended()).toBe('ECONNRESET');
    const refused = await connect();
    await waitUntil(() => refused.ended() !== null, 2_000, 'the refusal');
    expect(refused.received()).toBe('');
    proxy.heal();
    const after = await connect();
    await roundTrip(after, 'after');
    after.socket.destroy();
  });

  it("'blackhole' silently drops bytes both ways and holds new connections; heal resets them and forwards again", async () => {
    const conn = await connect();
    await roundTrip(conn, 'before');
    const acceptedBefore = accepted;
    proxy.cut('blackhole');
    conn.socket.write('into the void');
    const held = await connect();
    held.socket.write('also lost');
    await new Promise((r) => setTimeout(r, 300));
    expect(conn.received()).toBe('before');
    expect(conn.ended()).toBeNull();
    expect(held.received()).toBe('');
    expect(held.ended()).toBeNull();
    expect(accepted).toBe(acceptedBefore); // the held connection never reached the target
    expect(proxy.connectionCount).toBe(2);

    proxy.heal();
    await waitUntil(() => conn.ended() !== null && held.ended() !== null, 2_000, 'the blackholed connections to be reset');
    const fresh = await connect();
    await roundTrip(fresh, 'healed');
    fresh.socket.destroy();
  });

  it('hold() stops forwarding both ways without losing or closing anything; release() delivers what waited, in order', async () => {
    const conn = await connect();
    await roundTrip(conn, 'before');
    proxy.hold();
    expect(proxy.held).toBe(true);
    conn.socket.write('held-1');
    conn.socket.write('held-2');
    const late = await connect(); // accepted while held: connected, nothing forwarded
    late.socket.write('late');
    await new Promise((r) => setTimeout(r, 300));
    expect(conn.received()).toBe('before');
    expect(late.received()).toBe('');
    expect(conn.ended()).toBeNull();
    expect(late.ended()).toBeNull();

    proxy.release();
    expect(proxy.held).toBe(false);
    await waitUntil(() => conn.received() === 'beforeheld-1held-2' && late.received() === 'late', 2_000, 'what waited');
    await roundTrip(conn, 'after');
    conn.socket.destroy();
    late.socket.destroy();
  });

  it('retarget() sends new connections to another target; current ones stay where they are', async () => {
    const upper = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    });
    await new Promise<void>((resolve) => upper.listen(0, '127.0.0.1', () => resolve()));
    try {
      const address = upper.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const before = await connect();
      proxy.retarget({ host: '127.0.0.1', port: address.port });
      const after = await connect();
      after.socket.write('moved');
      await waitUntil(() => after.received() === 'MOVED', 2_000, 'the new target to answer');
      await roundTrip(before, 'stayed'); // still the echo server
      before.socket.destroy();
      after.socket.destroy();
    } finally {
      proxy.retarget({ host: '127.0.0.1', port: echoPort });
      await new Promise<void>((resolve) => upper.close(() => resolve()));
    }
  });

  it('close() ends every connection and stops listening', async () => {
    const conn = await connect();
    await roundTrip(conn, 'last');
    await proxy.close();
    await waitUntil(() => conn.ended() !== null, 2_000, 'the connection to end');
    const late = net.connect(proxy.port, '127.0.0.1');
    const outcome = await new Promise<string>((resolve) => {
      late.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      late.once('connect', () => resolve('connected'));
    });
    late.destroy();
    expect(outcome).toBe('ECONNREFUSED');
  });
});

describe('container provider', () => {
  let engine = false;
  beforeAll(async () => {
    engine = await dockerEngineAnswers();
  });

  it('rejects with a clear error when no Docker engine answers', async (ctx) => {
    ctx.skip(engine, 'a Docker engine answers here; the no-engine path does not apply');
    const err = await startZooKeeperContainer().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect((err as Error).message).toBe(noDockerEngineMessage);
  });

  it("'auto' falls back to the local ZooKeeper when no Docker engine answers", async (ctx) => {
    ctx.skip(engine, 'a Docker engine answers here; auto would use it');
    const zk = await startZooKeeperFromEnvChoice('auto', { local: { forceSync: false, env } });
    try {
      expect(zk.provider).toBe('local');
      expect(zk.connectString).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await zk.stop();
    }
  });

  it('starts ZooKeeper in a container when a Docker engine answers', async (ctx) => {
    ctx.skip(!engine, 'no Docker engine answers: skipping the container path');
    const zk = await startZooKeeperContainer();
    try {
      const session = connectZk({ connectString: zk.connectString });
      await session.waitConnected(10_000);
      await session.create('/in-a-container', new Uint8Array(0), 'persistent');
      await session.close();
    } finally {
      await zk.stop();
    }
  }, 180_000);
});
