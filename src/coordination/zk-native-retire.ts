// Ending a node-zookeeper-client client, bounded, for zk-client.ts. A connected session's
// graceful close waits for the library to report the disconnect (awaitNativeDisconnect);
// every client that is closed, or replaced after its session expired, is then retired
// (retireNativeClient): no longer listened to, asked to close where its session is not
// gone already, and its socket destroyed until its ConnectionManager reaches CLOSED,
// giving up with a warning after retireBoundMs. retireExpiredClient decides, for an
// expired session, whether the client must be asked to close.
import zookeeper from 'node-zookeeper-client';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { dropEstablishedConnection, managerState, managerStates } from './zk-native-internals.js';

/** The parts of a library client (zookeeper.Client) that closing and retiring it use. */
export interface ClosableClient {
  close(): void;
  on(event: 'state', listener: (state: zookeeper.State) => void): unknown;
  removeListener(event: 'state', listener: (state: zookeeper.State) => void): unknown;
  /** Internal to the library; read through zk-native-internals.ts. */
  readonly connectionManager: unknown;
}

/** How long a retired client may take to reach CLOSED before we stop watching it. */
export const retireBoundMs = 10_000;
export const retirePollMs = 50;

/**
 * Runs `action` (a close) and resolves once the client reports DISCONNECTED, or after
 * boundMs, or at once if `action` throws.
 */
export function awaitNativeDisconnect(clock: Clock, client: ClosableClient, action: () => void, boundMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(() => done(), boundMs);
    const onState = (state: zookeeper.State): void => {
      if (state.code === zookeeper.State.DISCONNECTED.code) done();
    };
    function done(): void {
      timer.cancel();
      client.removeListener('state', onState);
      resolve();
    }
    client.on('state', onState);
    try {
      action();
    } catch {
      done();
    }
  });
}

/**
 * Makes a library client stop for good: stops listening to it (`onState`), asks it to close
 * (unless its session is gone already) and destroys its socket until its ConnectionManager
 * reaches CLOSED. Bounded.
 */
export function retireNativeClient(
  clock: Clock,
  logger: Logger,
  client: ClosableClient,
  onState: (state: zookeeper.State) => void,
  askToClose: boolean,
): void {
  client.removeListener('state', onState);
  if (askToClose) {
    try {
      client.close();
    } catch {
      // The library throws when it has no socket yet; it then closes at its next attempt.
    }
  }
  const manager = client.connectionManager;
  const deadline = clock.now() + retireBoundMs;
  const poll = (): void => {
    const state = managerState(manager);
    if (state === undefined || state === managerStates.CLOSED) return;
    // Destroying a socket that is still connecting would leave the library's connect
    // timer behind (it is only cleared on connect or error); wait until it connected.
    if (state === managerStates.CLOSING || state === managerStates.SESSION_EXPIRED || state === managerStates.AUTHENTICATION_FAILED) {
      dropEstablishedConnection(manager);
    }
    if (clock.now() >= deadline) {
      logger.warn({ state }, 'ZooKeeper: a retired client did not stop in time');
      return;
    }
    clock.setTimeout(poll, retirePollMs);
  };
  poll();
}

/** Who found a session expired: the server (it told the library), or the session's watchdog (1.5 session timeouts without contact). */
export type ExpiryFinder = 'server' | 'watchdog';

/**
 * Retires the library client of an expired session, asking it to close only when the
 * watchdog gave the session up.
 *
 * The server's verdict leaves the ConnectionManager in SESSION_EXPIRED, where the library
 * stops by itself (onSocketClosed does not reconnect) and the session is gone: nothing to
 * ask. The watchdog's leaves it reconnecting (CONNECTING: onSocketClosed reconnects in every
 * state but CLOSING, SESSION_EXPIRED and AUTHENTICATION_FAILED), offering the old session
 * for ever to a server that refuses it (one that lost its data) or waiting for ever on an
 * unanswered handshake; and if it reached a server that still holds the session, it would
 * resume it and keep it, and its ephemerals, alive. close() moves it to CLOSING: a socket
 * still connecting ends by the library's connect timeout or the server's refusal, an
 * established one is destroyed by retireNativeClient's poll, a socket the library opens
 * after the close (its reconnect was scheduled) is in CLOSING too, and onSocketClosed in
 * CLOSING ends at CLOSED. The CLOSE_SESSION goes on this client's own connection, whose
 * handshake offers the old session id only: it cannot close the session of another client.
 */
export function retireExpiredClient(
  clock: Clock,
  logger: Logger,
  client: ClosableClient,
  onState: (state: zookeeper.State) => void,
  foundBy: ExpiryFinder,
): void {
  retireNativeClient(clock, logger, client, onState, foundBy === 'watchdog');
}
