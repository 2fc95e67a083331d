// The watchdog's decisions, on a fake clock and a fake connection: when it probes, when it
// drops a silent connection, when it gives up a session that cannot be resumed, and when it
// drops an unanswered handshake. The real client's use of it is covered by
// test/integration/zk-client.test.ts (a SIGSTOPped server, a server that never answers).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ZkConnectionState } from '../../../src/coordination/zk-api.js';
import { type WatchdogTarget, ZkConnectionWatchdog } from '../../../src/coordination/zk-connection-watchdog.js';
import { ManualClock } from '../server/manual-clock.js';

/** A session as the watchdog sees it; what the watchdog has it do is recorded. */
class FakeSession implements WatchdogTarget {
  state: ZkConnectionState = 'connected';
  readonly sessionId = '0x1';
  sessionTimeoutMs = 3_000;
  /** The TCP-connected socket, if any. */
  socket: object | undefined = {};
  drops = 0;
  /** Probes sent, with the function that answers each. */
  readonly probes: Array<(heard: boolean) => void> = [];
  readonly disconnects: string[] = [];
  expiries = 0;
  watchdog: ZkConnectionWatchdog | undefined;

  establishedSocket(): object | undefined {
    return this.socket;
  }
  dropEstablishedConnection(): boolean {
    if (this.socket === undefined) return false;
    this.socket = undefined;
    this.drops += 1;
    return true;
  }
  probe(answered: (heard: boolean) => void): void {
    this.probes.push(answered);
  }
  // As the session does: the watchdog hears of its own decisions through the session.
  treatAsDisconnected(reason: string): void {
    this.disconnects.push(reason);
    this.watchdog?.connectionLost(this.state === 'connected');
    this.state = 'disconnected';
  }
  treatAsExpired(): void {
    this.expiries += 1;
    this.watchdog?.sessionExpired();
    this.state = 'expired';
  }
}

interface Rig {
  clock: ManualClock;
  session: FakeSession;
  watchdog: ZkConnectionWatchdog;
  /** The log lines written, as objects. */
  lines: Array<{ level: number; msg: string } & Record<string, unknown>>;
}

function rig(options: { connectString?: string; handshakeTimeoutMs?: number; state?: ZkConnectionState; sessionTimeoutMs?: number } = {}): Rig {
  const clock = new ManualClock();
  const session = new FakeSession();
  session.state = options.state ?? 'connected';
  session.sessionTimeoutMs = options.sessionTimeoutMs ?? 3_000;
  const lines: Rig['lines'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Rig['lines'][number]) });
  const watchdog = new ZkConnectionWatchdog(session, {
    clock,
    logger,
    connectString: options.connectString ?? '127.0.0.1:2181',
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
  });
  session.watchdog = watchdog;
  watchdog.start();
  return { clock, session, watchdog, lines };
}

// With a 3000 ms session timeout the watchdog ticks every 250 ms, probes after 1000 ms of
// silence, drops the connection after 2000 ms, gives a lost session up after 4500 ms and
// allows a handshake 1000 ms per server (at least 250 ms).
const tick = 250;

describe('ZkConnectionWatchdog while connected', () => {
  it('probes once after a third of the session timeout of silence, not before, and one probe at a time', () => {
    const { clock, session } = rig();
    clock.run(750, tick);
    expect(session.probes).toHaveLength(0);
    clock.run(1_000, tick);
    expect(session.probes).toHaveLength(1);
    clock.run(1_750, tick);
    expect(session.probes).toHaveLength(1);
    expect(session.drops).toBe(0);
  });

  it('drops the connection after two thirds of the session timeout with no answer, not before', () => {
    const { clock, session, lines } = rig();
    clock.run(1_750, tick);
    expect(session.drops).toBe(0);
    expect(session.disconnects).toEqual([]);
    clock.run(2_000, tick);
    expect(session.drops).toBe(1);
    expect(session.disconnects).toEqual(['nothing was heard from ZooKeeper for 2000 ms']);
    expect(lines.find((l) => l.msg === 'ZooKeeper: nothing heard within the read timeout; dropped the connection')).toMatchObject({ sessionId: '0x1', silentMs: 2_000 });
  });

  it('an answered probe counts as heard: no drop, and the next probe comes a third of a timeout later', () => {
    const { clock, session } = rig();
    clock.run(1_000, tick);
    session.probes[0]?.(true);
    clock.run(2_750, tick);
    expect(session.drops).toBe(0);
    expect(session.probes).toHaveLength(2); // at 2000, 1000 ms after the answer
  });

  it('a probe answered on another connection (heard false) counts for nothing, but frees the probe slot', () => {
    const { clock, session } = rig();
    clock.run(1_000, tick);
    session.probes[0]?.(false);
    clock.run(1_250, tick);
    expect(session.probes).toHaveLength(2);
    clock.run(2_000, tick);
    expect(session.drops).toBe(1);
  });

  it('anything heard (a reply, a watch event) puts the probe off', () => {
    const { clock, session, watchdog } = rig();
    clock.run(750, tick);
    watchdog.heard();
    clock.run(1_500, tick);
    expect(session.probes).toHaveLength(0);
    clock.run(1_750, tick);
    expect(session.probes).toHaveLength(1);
  });

  it('a probe the library refuses at once frees the slot, so the next tick tries again', () => {
    const { clock, session } = rig();
    let refused = 0;
    session.probe = (): void => {
      refused += 1;
      throw new Error('no socket');
    };
    clock.run(1_250, tick);
    expect(refused).toBe(2);
  });

  it('past the read timeout with no established socket, it leaves the disconnect to the library', () => {
    const { clock, session, lines } = rig();
    session.socket = undefined;
    clock.run(2_500, tick);
    expect(session.disconnects).toEqual([]);
    expect(session.state).toBe('connected');
    expect(lines.some((l) => l.msg === 'ZooKeeper: read timeout passed but there is no established socket to drop')).toBe(true);
  });

  it('a new connection starts the silence anew', () => {
    const { clock, session, watchdog } = rig();
    clock.run(1_750, tick);
    watchdog.sessionConnected();
    clock.run(3_500, tick);
    expect(session.drops).toBe(0);
    expect(session.probes).toHaveLength(2); // one before, one 1000 ms after the new connection
  });
});

describe('ZkConnectionWatchdog while disconnected', () => {
  it('treats a session out of contact for 1.5 session timeouts as expired, not before, and once', () => {
    const { clock, session, watchdog, lines } = rig();
    session.state = 'disconnected';
    session.socket = undefined;
    watchdog.connectionLost(true);
    clock.run(4_250, tick);
    expect(session.expiries).toBe(0);
    clock.run(4_500, tick);
    expect(session.expiries).toBe(1);
    expect(lines.find((l) => l.msg.startsWith('ZooKeeper: the session could not be resumed'))).toMatchObject({ outOfContactMs: 4_500 });
    clock.run(20_000, tick);
    expect(session.expiries).toBe(1);
  });

  it('the out-of-contact time counts from the lost connection, after a read-timeout drop too', () => {
    const { clock, session } = rig();
    session.socket = {};
    clock.run(2_000, tick); // dropped here
    expect(session.state).toBe('disconnected');
    clock.run(6_250, tick);
    expect(session.expiries).toBe(0);
    clock.run(6_500, tick);
    expect(session.expiries).toBe(1);
  });

  it('a session that was never connected is not given up (there is none)', () => {
    const { clock, session, watchdog } = rig({ state: 'disconnected' });
    session.socket = undefined;
    watchdog.connectionLost(false);
    clock.run(20_000, tick);
    expect(session.expiries).toBe(0);
  });

  it('a reconnect in time keeps the session', () => {
    const { clock, session, watchdog } = rig();
    session.state = 'disconnected';
    session.socket = undefined;
    watchdog.connectionLost(true);
    clock.run(4_000, tick);
    session.state = 'connected';
    session.socket = {};
    watchdog.sessionConnected();
    clock.run(5_000, tick);
    expect(session.expiries).toBe(0);
  });
});

describe('ZkConnectionWatchdog during a handshake', () => {
  it('drops a TCP-connected socket whose handshake goes unanswered for a third of the session timeout per server', () => {
    const { clock, session, lines } = rig({ state: 'disconnected', connectString: '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3/chroot' });
    // First seen at 250; 3000 / 3 / 3 servers = 333 ms later.
    clock.run(500, tick);
    expect(session.drops).toBe(0);
    clock.run(750, tick);
    expect(session.drops).toBe(1);
    expect(lines.find((l) => l.msg === 'ZooKeeper: handshake unanswered; trying again')).toMatchObject({ waitedMs: 500 });
  });

  it('with one server the bound is a third of the session timeout', () => {
    const { clock, session } = rig({ state: 'disconnected' });
    clock.run(1_000, tick);
    expect(session.drops).toBe(0);
    clock.run(1_250, tick);
    expect(session.drops).toBe(1);
  });

  it('an explicit bound wins, and a new socket starts its own wait', () => {
    const { clock, session } = rig({ state: 'expired', handshakeTimeoutMs: 600 });
    clock.run(750, tick);
    session.socket = {}; // the library moved to another server
    clock.run(1_500, tick); // the first socket's wait would have ended at 1000
    expect(session.drops).toBe(0);
    clock.run(1_750, tick); // first seen at 1000
    expect(session.drops).toBe(1);
  });

  it('a socket still connecting (none established) is left to the library', () => {
    const { clock, session } = rig({ state: 'disconnected' });
    session.socket = undefined;
    clock.run(10_000, tick);
    expect(session.drops).toBe(0);
  });
});

describe('ZkConnectionWatchdog stopping', () => {
  it('stops ticking once the session is closed, and after stop()', () => {
    const closed = rig();
    closed.session.state = 'closed';
    closed.clock.run(10_000, tick);
    expect(closed.session.probes).toHaveLength(0);
    expect(closed.session.drops).toBe(0);

    const stopped = rig();
    stopped.watchdog.stop();
    stopped.clock.run(10_000, tick);
    expect(stopped.session.probes).toHaveLength(0);
    expect(stopped.session.drops).toBe(0);
  });

  it('ticks at a twelfth of the session timeout (at most 250 ms), so a short timeout is kept on time', () => {
    const { clock, session } = rig({ sessionTimeoutMs: 600 }); // ticks every 50 ms: probe at 200 ms, drop at 400 ms
    clock.run(350, 1);
    expect(session.probes).toHaveLength(1);
    expect(session.drops).toBe(0);
    clock.run(400, 1);
    expect(session.drops).toBe(1);
  });
});
