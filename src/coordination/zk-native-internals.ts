// The two things zk-client needs from node-zookeeper-client's internals, which its
// public API does not offer:
// - the socket, to drop a connection that no longer answers (the library has no read
//   timeout: with a silent server it pings forever and never notices, and a handshake
//   to a server that accepted the TCP connection but never answers has no timeout);
// - the ConnectionManager's state, to know when a retired client has really stopped.
// Both are read from `client.connectionManager` (lib/ConnectionManager.js), narrowed
// from unknown; if a future version changes them, these functions degrade to no-ops.
import net from 'node:net';

/** ConnectionManager.STATES in lib/ConnectionManager.js. */
export const managerStates = {
  DISCONNECTED: 0,
  CONNECTING: 1,
  CONNECTED: 2,
  CONNECTED_READ_ONLY: 3,
  CLOSING: -1,
  CLOSED: -2,
  SESSION_EXPIRED: -3,
  AUTHENTICATION_FAILED: -4,
} as const;

function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || !(name in value)) return undefined;
  return (value as Record<string, unknown>)[name];
}

/** The ConnectionManager's numeric state, or undefined when it cannot be read. */
export function managerState(connectionManager: unknown): number | undefined {
  const state = field(connectionManager, 'state');
  return typeof state === 'number' ? state : undefined;
}

/** The current socket if it is TCP-connected and not destroyed. */
export function establishedSocket(connectionManager: unknown): net.Socket | undefined {
  const socket = field(connectionManager, 'socket');
  if (!(socket instanceof net.Socket) || socket.destroyed || socket.connecting) return undefined;
  return socket;
}

/** The current socket if it exists and is not destroyed (connected or still connecting). */
export function liveSocket(connectionManager: unknown): net.Socket | undefined {
  const socket = field(connectionManager, 'socket');
  if (!(socket instanceof net.Socket) || socket.destroyed) return undefined;
  return socket;
}

/**
 * Destroys the established connection, as if the network had dropped it: the library
 * fails its pending requests with CONNECTION_LOSS and reconnects (same session).
 * Returns whether there was a connection to drop.
 */
export function dropEstablishedConnection(connectionManager: unknown): boolean {
  const socket = establishedSocket(connectionManager);
  if (socket === undefined) return false;
  socket.destroy();
  return true;
}
