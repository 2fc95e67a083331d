// Ending a library client, on a fake clock and a fake client: a retired client is no longer
// listened to, is asked to close only where told, has its socket destroyed only in the
// states where that is safe, and is watched for retireBoundMs at most; a graceful close
// waits for the disconnect, bounded.
import net from 'node:net';
import zookeeper from 'node-zookeeper-client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/common/logger.js';
import { managerStates } from '../../../src/coordination/zk-native-internals.js';
import {
  awaitNativeDisconnect,
  type ClosableClient,
  retireBoundMs,
  retireExpiredClient,
  retireNativeClient,
  retirePollMs,
} from '../../../src/coordination/zk-native-retire.js';
import { ManualClock } from '../server/manual-clock.js';

class FakeClient implements ClosableClient {
  /** What zk-native-internals.ts reads: the manager's state and its socket. */
  readonly connectionManager: { state: number; socket: net.Socket } = { state: managerStates.CONNECTED, socket: new net.Socket() };
  closes = 0;
  closeThrows = false;
  readonly listeners = new Set<(state: zookeeper.State) => void>();
  close(): void {
    this.closes += 1;
    if (this.closeThrows) throw new Error('no socket yet');
  }
  on(_event: 'state', listener: (state: zookeeper.State) => void): this {
    this.listeners.add(listener);
    return this;
  }
  removeListener(_event: 'state', listener: (state: zookeeper.State) => void): this {
    this.listeners.delete(listener);
    return this;
  }
  emit(state: zookeeper.State): void {
    for (const listener of [...this.listeners]) listener(state);
  }
}

function rig(): { clock: ManualClock; client: FakeClient; warnings: string[]; onState: () => void } {
  const clock = new ManualClock();
  const client = new FakeClient();
  const onState = (): void => undefined;
  client.on('state', onState);
  return { clock, client, warnings: [], onState };
}

function logger(warnings: string[]): Logger {
  return pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('retireNativeClient', () => {
  it('stops listening, and asks the client to close only when told to', () => {
    const asked = rig();
    retireNativeClient(asked.clock, logger(asked.warnings), asked.client, asked.onState, true);
    expect(asked.client.listeners.size).toBe(0);
    expect(asked.client.closes).toBe(1);

    const gone = rig();
    retireNativeClient(gone.clock, logger(gone.warnings), gone.client, gone.onState, false);
    expect(gone.client.listeners.size).toBe(0);
    expect(gone.client.closes).toBe(0);
  });

  it('a close the library refuses (no socket yet) is not an error', () => {
    const { clock, client, warnings, onState } = rig();
    client.closeThrows = true;
    expect(() => retireNativeClient(clock, logger(warnings), client, onState, true)).not.toThrow();
  });

  it('destroys the socket while closing, and stops watching once CLOSED', () => {
    const { clock, client, warnings, onState } = rig();
    client.connectionManager.state = managerStates.CLOSING;
    retireNativeClient(clock, logger(warnings), client, onState, true);
    expect(client.connectionManager.socket.destroyed).toBe(true);
    // The library reconnects; the next poll destroys the new socket too.
    client.connectionManager.socket = new net.Socket();
    clock.run(retirePollMs, retirePollMs);
    expect(client.connectionManager.socket.destroyed).toBe(true);
    client.connectionManager.state = managerStates.CLOSED;
    client.connectionManager.socket = new net.Socket();
    clock.run(retireBoundMs * 2, retirePollMs);
    expect(client.connectionManager.socket.destroyed).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('never destroys a socket in a state where that would strand the library (connecting, connected)', () => {
    const { clock, client, warnings, onState } = rig();
    client.connectionManager.state = managerStates.CONNECTING;
    retireNativeClient(clock, logger(warnings), client, onState, true);
    clock.run(1_000, retirePollMs);
    expect(client.connectionManager.socket.destroyed).toBe(false);
  });

  it('gives up with a warning after retireBoundMs, not before, and then stops polling', () => {
    const { clock, client, warnings, onState } = rig();
    client.connectionManager.state = managerStates.CONNECTING;
    retireNativeClient(clock, logger(warnings), client, onState, true);
    clock.run(retireBoundMs - retirePollMs, retirePollMs);
    expect(warnings).toEqual([]);
    clock.run(retireBoundMs, retirePollMs);
    expect(warnings).toEqual(['ZooKeeper: a retired client did not stop in time']);
    client.connectionManager.state = managerStates.CLOSING;
    clock.run(retireBoundMs * 2, retirePollMs);
    expect(client.connectionManager.socket.destroyed).toBe(false);
    expect(warnings).toHaveLength(1);
  });
});

/**
 * A fake client whose close() and socket close act as the library's ConnectionManager does:
 * close() moves it to CLOSING; a closed socket ends it in CLOSING, SESSION_EXPIRED and
 * AUTHENTICATION_FAILED, and makes it reconnect (a new socket, CONNECTING) in every other state.
 */
class LibraryLikeClient extends FakeClient {
  reconnects = 0;
  constructor(state: number) {
    super();
    this.connectionManager.state = state;
    this.watch(this.connectionManager.socket);
  }
  override close(): void {
    super.close();
    this.connectionManager.state = managerStates.CLOSING;
  }
  private watch(socket: net.Socket): void {
    socket.once('close', () => {
      const manager = this.connectionManager;
      if (manager.state === managerStates.CLOSING || manager.state === managerStates.SESSION_EXPIRED || manager.state === managerStates.AUTHENTICATION_FAILED) {
        manager.state = managerStates.CLOSED;
        return;
      }
      this.reconnects += 1;
      manager.state = managerStates.CONNECTING;
      manager.socket = new net.Socket();
      this.watch(manager.socket);
    });
  }
}

describe('retireExpiredClient', () => {
  it('a session the watchdog gave up: the client, still reconnecting, is asked to close and ends', async () => {
    const { clock, warnings, onState } = rig();
    const client = new LibraryLikeClient(managerStates.CONNECTING);
    client.on('state', onState);
    retireExpiredClient(clock, logger(warnings), client, onState, 'watchdog');
    expect(client.closes).toBe(1);
    expect(client.listeners.size).toBe(0);
    await flush(); // the destroyed socket's close event
    expect(client.connectionManager.state).toBe(managerStates.CLOSED);
    clock.run(retireBoundMs * 2, retirePollMs);
    expect(client.reconnects).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('a session the server expired: the client is not asked to close, and ends by itself', async () => {
    const { clock, warnings, onState } = rig();
    const client = new LibraryLikeClient(managerStates.SESSION_EXPIRED);
    client.on('state', onState);
    retireExpiredClient(clock, logger(warnings), client, onState, 'server');
    expect(client.closes).toBe(0);
    expect(client.listeners.size).toBe(0);
    await flush();
    expect(client.connectionManager.state).toBe(managerStates.CLOSED);
    clock.run(retireBoundMs * 2, retirePollMs);
    expect(warnings).toEqual([]);
  });
});

describe('awaitNativeDisconnect', () => {
  it('resolves when the client reports DISCONNECTED, and stops listening', async () => {
    const { clock, client } = rig();
    let done = false;
    void awaitNativeDisconnect(clock, client, () => client.close(), 3_000).then(() => (done = true));
    expect(client.closes).toBe(1);
    client.emit(zookeeper.State.SYNC_CONNECTED);
    await flush();
    expect(done).toBe(false);
    client.emit(zookeeper.State.DISCONNECTED);
    await flush();
    expect(done).toBe(true);
    expect(client.listeners.size).toBe(1); // only the session's own
  });

  it('resolves after its bound when no disconnect comes, not before', async () => {
    const { clock, client } = rig();
    let done = false;
    void awaitNativeDisconnect(clock, client, () => client.close(), 3_000).then(() => (done = true));
    clock.run(2_999, 1);
    await flush();
    expect(done).toBe(false);
    clock.run(3_000, 1);
    await flush();
    expect(done).toBe(true);
    expect(client.listeners.size).toBe(1);
  });

  it('resolves at once when the action throws', async () => {
    const { clock, client } = rig();
    client.closeThrows = true;
    let done = false;
    void awaitNativeDisconnect(clock, client, () => client.close(), 3_000).then(() => (done = true));
    await flush();
    expect(done).toBe(true);
    expect(client.listeners.size).toBe(1);
  });
});
