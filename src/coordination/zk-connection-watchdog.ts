// The read and handshake timeouts that node-zookeeper-client lacks (see zk-client.ts's
// header): the library pings every third of the session timeout but never notices that
// answers stopped, so a silent server (partition, SIGSTOP) keeps it "connected" forever,
// and a handshake with a server that accepted the TCP connection but never answers has no
// timeout either. This watchdog ticks, and on each tick:
// - connected: probes when nothing was heard for a third of the session timeout, and drops
//   the connection when nothing was heard for two thirds (like the Java client);
// - disconnected for 1.5 session timeouts: has the session treated as expired (the servers
//   have expired it, or lost their data and refuse it);
// - otherwise: drops a TCP-connected socket whose handshake went unanswered for a third of
//   the session timeout divided by the number of servers (or the configured bound).
// It decides; the session (WatchdogTarget) does: it owns the library client, and a drop
// or an expiry found here goes through the same paths as one the library reports.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ZkConnectionState } from './zk-api.js';

/** What the watchdog sees of the session it guards, and what it may have it do. */
export interface WatchdogTarget {
  readonly state: ZkConnectionState;
  /** For log lines. */
  readonly sessionId: string;
  /** The negotiated session timeout (the requested one before the first connect). */
  readonly sessionTimeoutMs: number;
  /** The current connection's socket if it is TCP-connected and not destroyed (an identity: compared, never used). */
  establishedSocket(): object | undefined;
  /** Destroys the established socket, as if the network had dropped it; false when there was none. */
  dropEstablishedConnection(): boolean;
  /**
   * Sends a cheap read whose reply proves the server still answers (the library's pings are
   * invisible to us). `answered(heard)`: heard is true when the reply came from the server,
   * on the connection it was sent on. May throw when the library refuses it at once.
   */
  probe(answered: (heard: boolean) => void): void;
  /** The watchdog dropped a silent connection: handle it as a lost connection, for this reason. */
  treatAsDisconnected(reason: string): void;
  /** The session could not be resumed in time: handle it as expired (start a new session). */
  treatAsExpired(): void;
}

export interface ZkConnectionWatchdogOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** 'host:port[,host:port...][/chroot]': the number of servers, and the handshake log line. */
  readonly connectString: string;
  /** An explicit handshake bound (ZkClientOptions.handshakeTimeoutMs), else derived from the session timeout. */
  readonly handshakeTimeoutMs?: number;
}

export class ZkConnectionWatchdog {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly connectString: string;
  private readonly serverCount: number;
  private readonly handshakeTimeoutOption: number | undefined;

  // clock.now() milliseconds.
  private lastHeardAt: number;
  /** When the live session last lost contact (null while connected or without a session). */
  private lostContactAt: number | null = null;
  /** The TCP-connected socket seen waiting for its handshake, and since when. */
  private handshakeWait: { readonly socket: object; readonly since: number } | null = null;
  private probe: object | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly target: WatchdogTarget,
    options: ZkConnectionWatchdogOptions,
  ) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.connectString = options.connectString;
    this.handshakeTimeoutOption = options.handshakeTimeoutMs;
    const hosts = options.connectString.split('/')[0] ?? '';
    this.serverCount = Math.max(1, hosts.split(',').filter((h) => h.trim() !== '').length);
    this.lastHeardAt = this.clock.now();
  }

  /** Starts ticking; the ticks end by themselves once the target is closed. */
  start(): void {
    this.scheduleWatchdog();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Something came from the server on the current connection (a reply or a watch event). */
  heard(): void {
    this.lastHeardAt = this.clock.now();
  }

  sessionConnected(): void {
    this.lostContactAt = null;
    this.lastHeardAt = this.clock.now();
    this.probe = null;
  }

  /** The connection dropped; a session that was connected is out of contact from now. */
  connectionLost(wasConnected: boolean): void {
    this.probe = null;
    if (wasConnected) this.lostContactAt = this.clock.now();
  }

  sessionExpired(): void {
    this.lostContactAt = null;
    this.probe = null;
  }

  private scheduleWatchdog(): void {
    const tickMs = Math.max(10, Math.min(250, Math.floor(this.target.sessionTimeoutMs / 12)));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.target.state === 'closed') return;
      this.checkLiveness();
      this.scheduleWatchdog();
    }, tickMs);
  }

  private checkLiveness(): void {
    const now = this.clock.now();
    const target = this.target;
    const sessionTimeoutMs = target.sessionTimeoutMs;
    if (target.state === 'connected') {
      const silentMs = now - this.lastHeardAt;
      const readTimeoutMs = Math.floor((sessionTimeoutMs * 2) / 3);
      if (silentMs >= readTimeoutMs) {
        // Only when a socket was really dropped: otherwise the library is between sockets
        // and reports the disconnect itself (and we must not refuse requests while it is
        // still connected).
        if (target.dropEstablishedConnection()) {
          this.logger.warn({ sessionId: target.sessionId, silentMs }, 'ZooKeeper: nothing heard within the read timeout; dropped the connection');
          target.treatAsDisconnected(`nothing was heard from ZooKeeper for ${silentMs} ms`);
        } else {
          this.logger.debug({ silentMs }, 'ZooKeeper: read timeout passed but there is no established socket to drop');
        }
      } else if (silentMs >= Math.floor(sessionTimeoutMs / 3) && this.probe === null) {
        this.sendProbe();
      }
      return;
    }
    // A session out of contact for longer than the servers keep it is gone: start anew.
    if (target.state === 'disconnected' && this.lostContactAt !== null && now - this.lostContactAt >= sessionTimeoutMs * 1.5) {
      this.logger.warn(
        { sessionId: target.sessionId, outOfContactMs: Math.round(now - this.lostContactAt) },
        'ZooKeeper: the session could not be resumed within 1.5 session timeouts (the servers have expired it, or lost their data); starting a new session',
      );
      target.treatAsExpired();
      return;
    }
    // Only a TCP-connected socket waits for the session handshake; sockets still
    // connecting have the library's own connect timeout.
    const socket = target.establishedSocket();
    if (socket === undefined) {
      this.handshakeWait = null;
      return;
    }
    if (this.handshakeWait?.socket !== socket) {
      this.handshakeWait = { socket, since: now };
      return;
    }
    const handshakeTimeoutMs = this.handshakeTimeoutOption ?? Math.max(250, Math.floor(sessionTimeoutMs / 3 / this.serverCount));
    if (now - this.handshakeWait.since >= handshakeTimeoutMs) {
      this.logger.warn({ connectString: this.connectString, waitedMs: now - this.handshakeWait.since }, 'ZooKeeper: handshake unanswered; trying again');
      this.handshakeWait = null;
      target.dropEstablishedConnection();
    }
  }

  private sendProbe(): void {
    const token = {};
    this.probe = token;
    try {
      this.target.probe((heard) => {
        if (this.probe === token) this.probe = null;
        if (heard) this.lastHeardAt = this.clock.now();
      });
    } catch {
      this.probe = null;
    }
  }
}
