// A loopback TCP proxy that can cut the link it carries, to simulate network faults
// between the two nodes or between a node and ZooKeeper.
//
// Modes:
// - 'open': bytes flow both ways (with back-pressure: a side that cannot keep up
//   pauses the other, so buffers stay bounded by the sockets' high-water marks).
// - 'reset': every current connection is reset (RST on both sides) and new ones are
//   reset as soon as they are accepted: the peer sees ECONNRESET, as with a crashed host
//   or a firewall that rejects.
// - 'blackhole': sockets stay open but every byte is silently dropped in both
//   directions, and new connections are accepted and held without a connection
//   upstream: as with a partition, only timeouts can tell.
//
// heal() returns to 'open'. Connections that were blackholed have lost bytes
// mid-stream, so their protocol state is unusable; heal() resets them (both sides) so
// clients reconnect through the healed link rather than hang on a corrupted stream.
// Connections that survived untouched keep flowing.
//
// Independently of the mode, hold() stops forwarding without losing or closing anything
// (a stalled link: the bytes wait in the socket buffers, and TCP flow control pushes back
// on the senders), and release() lets them through in order. retarget() sends new
// connections elsewhere (current ones stay where they are).
import net from 'node:net';
import { silentLogger, type Logger } from '../common/logger.js';

export type ProxyCutMode = 'reset' | 'blackhole';
export type ProxyMode = 'open' | ProxyCutMode;

export interface TcpProxyTarget {
  readonly host: string;
  readonly port: number;
}

export interface TcpProxyOptions {
  /** Where to listen (default 127.0.0.1). */
  readonly host?: string;
  /** Port to listen on (default: a free one chosen by the kernel). */
  readonly port?: number;
  readonly logger?: Logger;
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** 'host:port' to give clients instead of the target. */
  readonly address: string;
  readonly mode: ProxyMode;
  /** Connections currently held by the proxy (forwarding or blackholed). */
  readonly connectionCount: number;
  /** Whether forwarding is held (hold() without release()). */
  readonly held: boolean;
  cut(mode: ProxyCutMode): void;
  heal(): void;
  /** Stops forwarding on every connection, current and new, without dropping or closing anything. */
  hold(): void;
  /** Forwards again what hold() kept waiting, in order. */
  release(): void;
  /** New connections go to `target` from now on. */
  retarget(target: TcpProxyTarget): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: net.Socket;
  upstream: net.Socket | null;
  /** Once blackholed, a link never forwards again (its streams have gaps). */
  blackholed: boolean;
}

function reset(socket: net.Socket | null): void {
  if (socket === null || socket.destroyed) return;
  // resetAndDestroy sends RST where the socket is connected; fall back to destroy when
  // it cannot (e.g. still connecting).
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function startTcpProxy(initialTarget: TcpProxyTarget, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const links = new Set<Link>();
  let mode: ProxyMode = 'open';
  let held = false;
  let target = initialTarget;

  /** Reads from both sides of a link again (after a hold), unless back-pressure paused one. */
  const flow = (link: Link): void => {
    if (link.blackholed) return;
    const up = link.upstream;
    if (up === null || up.connecting) return; // the connect handler resumes the client
    if (!up.writableNeedDrain) link.client.resume();
    if (!link.client.writableNeedDrain) up.resume();
  };

  const drop = (link: Link): void => {
    reset(link.client);
    reset(link.upstream);
    links.delete(link);
  };

  /** Forwards src → dst while the link is open; drops bytes once it is blackholed. */
  const forward = (link: Link, src: net.Socket, dst: () => net.Socket | null): void => {
    src.on('data', (chunk: Buffer) => {
      const out = dst();
      if (link.blackholed || out === null || out.destroyed) return;
      if (!out.write(chunk)) {
        src.pause();
        out.once('drain', () => {
          if (!link.blackholed && !held) src.resume();
        });
      }
    });
    src.on('end', () => {
      const out = dst();
      if (!link.blackholed && out !== null && !out.destroyed) out.end();
    });
  };

  const onClose = (link: Link, side: net.Socket, other: () => net.Socket | null): void => {
    side.on('error', () => undefined);
    side.on('close', (hadError: boolean) => {
      // In a blackhole the other side must not learn about the close either; heal() or
      // close() ends it.
      if (link.blackholed) return;
      const peer = other();
      if (peer === null || peer.destroyed) {
        links.delete(link); // both sides gone
        return;
      }
      // A clean close is passed on cleanly (bytes already forwarded are flushed first);
      // an error becomes a reset.
      if (hadError) reset(peer);
      else peer.end();
    });
  };

  const server = net.createServer((client) => {
    const link: Link = { client, upstream: null, blackholed: false };
    client.on('error', () => undefined);
    if (mode === 'reset') {
      reset(client);
      return;
    }
    links.add(link);
    if (mode === 'blackhole') {
      link.blackholed = true;
      client.on('data', () => undefined);
      client.on('close', () => links.delete(link));
      return;
    }
    // Hold the client's bytes until upstream is connected (paused: the kernel buffers them).
    client.pause();
    const upstream = net.connect({ host: target.host, port: target.port });
    link.upstream = upstream;
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    forward(link, client, () => link.upstream);
    forward(link, upstream, () => link.client);
    onClose(link, client, () => link.upstream);
    onClose(link, upstream, () => link.client);
    if (held) upstream.pause();
    upstream.once('connect', () => {
      if (link.blackholed || held) return; // release() lets it flow
      client.resume();
      upstream.resume();
    });
  });

  const blackhole = (link: Link): void => {
    link.blackholed = true;
    // Keep reading so the peers' writes succeed and vanish, as in a partition.
    link.client.resume();
    link.upstream?.resume();
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.removeListener('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('tcp proxy: could not read its own port'));
        return;
      }
      const port = address.port;
      logger.debug({ port, target: initialTarget }, 'tcp proxy listening');
      let closed = false;
      resolve({
        host,
        port,
        address: `${host}:${port}`,
        get mode() {
          return mode;
        },
        get connectionCount() {
          return links.size;
        },
        get held() {
          return held;
        },
        hold() {
          if (closed) throw new Error('tcp proxy is closed');
          held = true;
          for (const link of links) {
            link.client.pause();
            link.upstream?.pause();
          }
          logger.debug({ port }, 'tcp proxy holds');
        },
        release() {
          if (closed || !held) return;
          held = false;
          for (const link of links) flow(link);
          logger.debug({ port }, 'tcp proxy released');
        },
        retarget(next: TcpProxyTarget) {
          target = next;
        },
        cut(how: ProxyCutMode) {
          if (closed) throw new Error('tcp proxy is closed');
          mode = how;
          for (const link of [...links]) {
            if (how === 'reset') drop(link);
            else blackhole(link);
          }
          logger.debug({ port, mode }, 'tcp proxy cut');
        },
        heal() {
          if (closed) throw new Error('tcp proxy is closed');
          mode = 'open';
          for (const link of [...links]) if (link.blackholed) drop(link);
          logger.debug({ port }, 'tcp proxy healed');
        },
        close() {
          closed = true;
          for (const link of [...links]) drop(link);
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
