// A loopback relay in front of a ZooKeeper server that reads each connection's first frame
// (the client's ConnectRequest) to learn which session it offers, so a test can tell a
// client that keeps offering an old session from one that stopped. Modes:
// - 'open': relays both ways;
// - 'refuse': closes each connection once its first frame arrived, without answering (as
//   a server that lost its data refuses a session that saw a later zxid);
// - 'hold': keeps each connection open and never answers (a handshake into a partition).
// Switching to 'refuse' or 'hold' ends the relayed connections (the client sees the loss at
// once); heal() ends the held ones, so their clients retry through the open relay.
import net from 'node:net';

export type SnifferCut = 'refuse' | 'hold';

export interface HandshakeSniffer {
  readonly address: string;
  /** The session id (16 hex digits) of every ConnectRequest seen, in order; a new session offers zeros. */
  readonly offers: readonly string[];
  /** Connections still open whose ConnectRequest offered `sessionId`. */
  openOffering(sessionId: string): number;
  cut(how: SnifferCut): void;
  heal(): void;
  close(): Promise<void>;
}

export const newSessionOffer = '0'.repeat(16);

/** ConnectRequest: int protocolVersion, long lastZxidSeen, int timeOut, long sessionId, buffer passwd. */
const sessionIdOffset = 4 + 8 + 4;

/** The sessionId a ConnectRequest frame's body offers, or null when the frame is not one (too short). */
function offeredSession(body: Buffer): string | null {
  if (body.length < sessionIdOffset + 8 + 4) return null;
  return body.subarray(sessionIdOffset, sessionIdOffset + 8).toString('hex');
}

interface Conn {
  readonly client: net.Socket;
  upstream: net.Socket | null;
  offered: string | null;
}

export function startHandshakeSniffer(target: { readonly host: string; readonly port: number }): Promise<HandshakeSniffer> {
  let mode: 'open' | SnifferCut = 'open';
  const offers: string[] = [];
  const conns = new Set<Conn>();
  const end = (conn: Conn): void => {
    conn.client.destroy();
    conn.upstream?.destroy();
    conns.delete(conn);
  };

  const server = net.createServer((client) => {
    const conn: Conn = { client, upstream: null, offered: null };
    conns.add(conn);
    client.on('error', () => undefined);
    client.on('close', () => end(conn));
    const relaying = mode === 'open';
    if (relaying) {
      const upstream = net.connect({ host: target.host, port: target.port });
      conn.upstream = upstream;
      upstream.on('error', () => undefined);
      upstream.on('close', () => end(conn));
      client.pipe(upstream);
      upstream.pipe(client);
    }
    // Read the first frame (bounded: a frame longer than 4 KiB is not a handshake).
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      const length = head.readInt32BE(0);
      if (length < 0 || length > 4096) {
        client.off('data', sniff);
        return;
      }
      if (head.length < 4 + length) return;
      client.off('data', sniff);
      conn.offered = offeredSession(head.subarray(4, 4 + length));
      if (conn.offered !== null) offers.push(conn.offered);
      if (!relaying && mode === 'refuse') end(conn);
    };
    client.on('data', sniff);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.removeListener('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('handshake sniffer: could not read its own port'));
        return;
      }
      resolve({
        address: `127.0.0.1:${address.port}`,
        offers,
        openOffering: (sessionId) => [...conns].filter((c) => c.offered === sessionId && !c.client.destroyed).length,
        cut(how) {
          mode = how;
          for (const conn of [...conns]) end(conn);
        },
        heal() {
          mode = 'open';
          for (const conn of [...conns]) if (conn.upstream === null) end(conn);
        },
        close() {
          for (const conn of [...conns]) end(conn);
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
