// Closing another process's ZooKeeper session at a chosen instant, for chaos runs.
//
// zk-expire.ts does this for a session in our own process, through the client library:
// connect with the session's id and password, wait for the handshake, send close. That
// takes a TCP connect and two round trips after the decision, and the owner reconnects in
// between. To aim at a window a few milliseconds wide (a take-over's fence and replay),
// this module opens the TCP connection beforehand (`arm`) and, when fired, writes the
// ConnectRequest that resumes the session and the CloseSession request in one write: the
// server moves the session to this connection (dropping the owner's), then closes it.
// The owner is told SESSION_EXPIRED when it reconnects. The password comes from the id
// (zk-session-password.ts), so the owner need not publish it.
//
// Wire format (jute, big-endian, each packet prefixed with its int32 length):
//   ConnectRequest  { int protocolVersion; long lastZxidSeen; int timeOut; long sessionId; buffer passwd; bool readOnly }
//   ConnectResponse { int protocolVersion; int timeOut; long sessionId; buffer passwd; bool readOnly }
//   RequestHeader   { int xid; int type }             (closeSession is type -11)
//   ReplyHeader     { int xid; long zxid; int err }
// A ConnectResponse with timeOut 0 means the server refused to resume the session: it
// has expired or closed already (or the password was wrong).
import net from 'node:net';
import { parseSessionId, zkSessionPassword } from './zk-session-password.js';

const CLOSE_SESSION = -11;
const CLOSE_XID = 1;

export type CloseVerdict =
  /** The server resumed the session on our connection and closed it. */
  | 'closed'
  /** The server refused to resume it: it was gone already. */
  | 'gone'
  /**
   * The server closed the connection without answering. ZooKeeper 3.8 often does this
   * after a pipelined close (it ends the connection once the session is closed, dropping
   * the queued replies): the session is most likely closed; the owner's reaction (a
   * SESSION_EXPIRED on reconnect) is the proof.
   */
  | 'dropped';

export interface ArmedCloser {
  /** Where the connection goes ('host:port'). */
  readonly server: string;
  /** Resumes `sessionIdHex` on the armed connection and closes it. Bounded by timeoutMs. */
  fire(sessionIdHex: string, sessionTimeoutMs: number, timeoutMs: number): Promise<CloseVerdict>;
  /** Drops the connection without using it. Idempotent. */
  disarm(): void;
}

export function connectRequest(sessionIdHex: string, sessionTimeoutMs: number): Buffer {
  const password = zkSessionPassword(sessionIdHex);
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + password.length + 1);
  let at = body.writeInt32BE(0, 0); // protocolVersion
  at = body.writeBigInt64BE(0n, at); // lastZxidSeen: 0, so no server refuses us as being behind
  at = body.writeInt32BE(sessionTimeoutMs, at);
  at = body.writeBigUInt64BE(parseSessionId(sessionIdHex), at);
  at = body.writeInt32BE(password.length, at);
  at += password.copy(body, at);
  body.writeUInt8(0, at); // readOnly: no
  return framed(body);
}

export function closeSessionRequest(): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(CLOSE_XID, 0);
  body.writeInt32BE(CLOSE_SESSION, 4);
  return framed(body);
}

function framed(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

/** Opens the connection now; resolves once it is established (bounded). */
export function armSessionClose(host: string, port: number, connectTimeoutMs = 2_000): Promise<ArmedCloser> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`ZooKeeper at ${host}:${port}: no TCP connection within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(armed(socket, `${host}:${port}`));
    });
  });
}

function armed(socket: net.Socket, server: string): ArmedCloser {
  let used = false;
  return {
    server,
    disarm: () => socket.destroy(),
    fire(sessionIdHex, sessionTimeoutMs, timeoutMs) {
      if (used) return Promise.reject(new Error('this armed connection was used already; arm another'));
      used = true;
      return new Promise<CloseVerdict>((resolve, reject) => {
        let received = Buffer.alloc(0);
        let connected = false;
        let settled = false;
        const finish = (verdict: CloseVerdict | Error): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          if (verdict instanceof Error) reject(verdict);
          else resolve(verdict);
        };
        const timer = setTimeout(() => finish(new Error(`closing session ${sessionIdHex} at ${server}: no answer within ${timeoutMs} ms`)), timeoutMs);
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          for (;;) {
            if (received.length < 4) return;
            const len = received.readInt32BE(0);
            if (received.length < 4 + len) return;
            const packet = received.subarray(4, 4 + len);
            received = received.subarray(4 + len);
            if (!connected) {
              // ConnectResponse: protocolVersion, then the negotiated timeOut (0: refused).
              if (packet.length < 8) return finish(new Error(`closing session ${sessionIdHex}: short ConnectResponse from ${server}`));
              if (packet.readInt32BE(4) <= 0) return finish('gone');
              connected = true;
              continue;
            }
            if (packet.length < 16) return finish(new Error(`closing session ${sessionIdHex}: short reply from ${server}`));
            const xid = packet.readInt32BE(0);
            const err = packet.readInt32BE(12);
            if (xid !== CLOSE_XID) continue; // a notification or ping reply: not ours
            return finish(err === 0 ? 'closed' : new Error(`closing session ${sessionIdHex} at ${server}: ZooKeeper error ${err}`));
          }
        });
        socket.on('close', () => finish('dropped'));
        if (socket.destroyed) {
          finish(new Error(`closing session ${sessionIdHex}: the armed connection to ${server} was already closed`));
          return;
        }
        socket.write(Buffer.concat([connectRequest(sessionIdHex, sessionTimeoutMs), closeSessionRequest()]));
      });
    },
  };
}
