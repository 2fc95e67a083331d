// The real ZkSession (node-zookeeper-client) against real ZooKeeper servers: the
// shared contracts (one server; and an ensemble of three whose follower-to-leader links
// can be held, to show what a lagging follower returns), plus what only a real network
// can show (fail-fast while the server is down, unknown outcomes, the read timeout, an
// ensemble losing a member, a cut link).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZkError, outcomeUnknown, type ZkSession } from '../../src/coordination/zk-api.js';
import { connectZk, type ZkClientOptions } from '../../src/coordination/zk-client.js';
import { expireSessionForTest } from '../../src/harness/zk-expire.js';
import { startEnsemble, startZooKeeper, type LocalEnsemble, type LocalZooKeeper } from '../../src/harness/zk-launcher.js';
import { startTcpProxy, type TcpProxy } from '../../src/harness/tcp-proxy.js';
import { armSessionClose } from '../../src/harness/zk-session-closer.js';
import { zkSessionPassword } from '../../src/harness/zk-session-password.js';
import { zkContractSuite } from '../contract/zk-contract-suite.js';
import { zkEnsembleContractSuite, type ZkEnsembleFixture } from '../contract/zk-ensemble-contract-suite.js';
import { bytes, expectZkError, recordStates, text, waitFor } from '../contract/zk-contract-helpers.js';
import { newSessionOffer, startHandshakeSniffer } from './zk-handshake-sniffer.js';

const env = { ZOOKEEPER_HOME: process.env['ZOOKEEPER_HOME'], JAVA_HOME: process.env['JAVA_HOME'] };

zkContractSuite('node-zookeeper-client against a real server', async () => {
  const zk = await startZooKeeper({ forceSync: false, env });
  return {
    async open() {
      const session = connectZk({ connectString: zk.connectString, sessionTimeoutMs: 4_000 });
      await session.waitConnected(10_000);
      return session;
    },
    expire: (session) => expireSessionForTest(session),
    restartServer: () => zk.restart(),
    teardown: () => zk.stop(),
  };
});

describe('real ZooKeeper only', () => {
  const sessions: ZkSession[] = [];
  const open = async (connectString: string, options: Partial<ZkClientOptions> = {}): Promise<ZkSession> => {
    const session = connectZk({ connectString, sessionTimeoutMs: 4_000, ...options });
    sessions.push(session);
    await session.waitConnected(10_000);
    return session;
  };

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  describe('one server that is paused, killed and restarted', () => {
    let zk: LocalZooKeeper;
    beforeAll(async () => {
      zk = await startZooKeeper({ forceSync: false, env });
    });
    afterAll(async () => {
      await zk?.stop();
    });

    it('times out on a silent server, drops the connection after the read timeout, and resumes the same session', async () => {
      const s = await open(zk.connectString, { sessionTimeoutMs: 4_000, requestTimeoutMs: 500 });
      await s.create('/paused', bytes('p'), 'persistent');
      const id = s.sessionId;
      const states = recordStates(s);
      await zk.pause();
      try {
        const started = Date.now();
        const err = await expectZkError(s.getData('/paused'), 'TIMEOUT');
        expect(outcomeUnknown(err.code)).toBe(true);
        expect(Date.now() - started).toBeGreaterThanOrEqual(450);
        // The library alone would stay "connected" forever; the read timeout (2/3 of 4 s) drops it.
        await waitFor(() => s.state === 'disconnected', 5_000, 'the read timeout to drop the connection');
        await expectZkError(s.getData('/paused'), 'NOT_CONNECTED');
      } finally {
        await zk.resume();
      }
      await s.waitConnected(5_000);
      expect(s.sessionId).toBe(id);
      expect(states).toEqual(['disconnected', 'connected']);
      expect(text((await s.getData('/paused')).data)).toBe('p');
    });

    it('fails fast with NOT_CONNECTED while the server is down, loses in-flight requests, and reconnects after a restart', async () => {
      const s = await open(zk.connectString, { sessionTimeoutMs: 10_000 });
      await s.create('/eph-restart', empty(), 'ephemeral');
      const id = s.sessionId;

      // A request in flight when the server dies: its outcome is unknown.
      await zk.pause();
      const inFlight = expectZkError(s.setData('/eph-restart', bytes('maybe'), -1), 'CONNECTION_LOSS');
      await new Promise((r) => setTimeout(r, 50));
      expect(s.state).toBe('connected'); // sent, unanswered
      await zk.kill();
      const lost = await inFlight;
      expect(outcomeUnknown(lost.code)).toBe(true);
      await waitFor(() => s.state === 'disconnected', 2_000, 'the disconnect');

      // Not connected: refused at once, never sent.
      const started = performance.now();
      const refused = await s.getData('/eph-restart').then(
        () => null,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(refused).toBeInstanceOf(ZkError);
      expect(['NOT_CONNECTED', 'CONNECTION_LOSS']).toContain((refused as ZkError).code);
      expect(elapsed).toBeLessThan(100);

      await zk.restart();
      await s.waitConnected(10_000);
      expect(s.sessionId).toBe(id);
      expect((await s.exists('/eph-restart'))?.ephemeralOwner).toBe(id);
    });

    it('creates creator-only znodes when auth is configured', async () => {
      const owner = await open(zk.connectString, { auth: { user: 'duoraft', password: 'secret' } });
      const stranger = await open(zk.connectString);
      await owner.create('/private', bytes('x'), 'persistent');
      expect(text((await owner.getData('/private')).data)).toBe('x');
      await expectZkError(stranger.getData('/private'), 'NO_AUTH');
      await expectZkError(stranger.setData('/private', bytes('y'), -1), 'NO_AUTH');
      // A new session with the same credentials is the same identity.
      const again = await open(zk.connectString, { auth: { user: 'duoraft', password: 'secret' } });
      expect(text((await again.getData('/private')).data)).toBe('x');
    });

    it('holds one pending watch per watcher and znode however often it is read: one event, no emitter-leak warning', async () => {
      const s = await open(zk.connectString);
      await s.create('/reread', bytes('1'), 'persistent');
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        let events = 0;
        const watcher = (): void => void events++;
        // A watch that re-reads an unchanged znode (a retry after its data failed to decode) 30 times.
        for (let i = 0; i < 30; i++) await s.getData('/reread', watcher);
        await s.exists('/reread', watcher);
        await s.setData('/reread', bytes('2'), -1);
        await waitFor(() => events > 0, 5_000, 'the watch event');
        await new Promise((r) => setTimeout(r, 200));
        // One data watch was pending (getData and exists of an existing znode share it in the
        // library), so one event; before, each read added a listener and each was called.
        expect(events).toBe(1);
        // Armed again after the event, by a fresh read.
        await s.getData('/reread', watcher);
        await s.setData('/reread', bytes('3'), -1);
        await waitFor(() => events > 1, 5_000, 'the second watch event');
        expect(events).toBe(2);
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    });

    it('rejects malformed paths and versions with BAD_ARGUMENTS without sending them', async () => {
      const s = await open(zk.connectString);
      await expectZkError(s.getData('no-slash'), 'BAD_ARGUMENTS');
      await expectZkError(s.create('/trailing/', empty(), 'persistent'), 'BAD_ARGUMENTS');
      await expectZkError(s.setData('/', empty(), -2), 'BAD_ARGUMENTS');
      await expectZkError(s.delete('/x', 1.5), 'BAD_ARGUMENTS');
      expect(s.state).toBe('connected');
    });
  });

  describe('an ensemble of three', () => {
    // One ensemble for both: the contract cases first (they need its first leader), then
    // the leader is killed.
    let started: Promise<LocalEnsemble> | null = null;
    const shared = (): Promise<LocalEnsemble> => (started ??= startEnsemble(3, { forceSync: false, env, proxiedQuorumLinks: true }));
    afterAll(async () => {
      await (await started)?.stop();
    });

    zkEnsembleContractSuite('three real servers, follower-to-leader links through proxies that can be held', { localSessions: false }, async () =>
      ensembleFixture(await shared()),
    );

    it('keeps serving after its leader is killed', async () => {
      const ensemble = await shared();
      const s = await open(ensemble.connectString);
      await s.create('/ensemble', bytes('before'), 'persistent');
      const leader = await ensemble.leader();
      expect(leader).not.toBeNull();
      await leader!.kill();

      // Writes may fail while a new leader is elected; each attempt is bounded, and so is the loop.
      const deadline = Date.now() + 20_000;
      let written = false;
      while (!written) {
        try {
          await s.setData('/ensemble', bytes('after'), -1);
          written = true;
        } catch (err) {
          if (!(err instanceof ZkError) || !['NOT_CONNECTED', 'CONNECTION_LOSS', 'TIMEOUT'].includes(err.code)) throw err;
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const survivors = ensemble.servers.filter((m) => m !== leader).map((m) => m.connectString).join(',');
      const reader = await open(survivors);
      await reader.sync('/ensemble');
      expect(text((await reader.getData('/ensemble')).data)).toBe('after');
      expect(await ensemble.leader()).not.toBeNull();
    });

    it("closes another client's session from a second server, knowing only its id (the chaos run's expire-session)", async () => {
      const ensemble = await shared();
      const live = ensemble.servers.filter((m) => m.pid !== -1);
      const [home, other] = [live[0]!, live[1]!];
      const s = connectZk({ connectString: home.connectString, sessionTimeoutMs: 4_000 });
      sessions.push(s);
      await s.waitConnected(10_000);
      // ZooKeeper derives the password from the id: what a node logs is enough.
      expect(zkSessionPassword(s.sessionId)).toEqual(s.sessionCredentials()!.password);
      await s.create('/closer-ephemeral', bytes('mine'), 'ephemeral');
      const states = recordStates(s);
      const oldId = s.sessionId;
      const closer = await armSessionClose(other.host, other.port);
      const verdict = await closer.fire(oldId, s.sessionTimeoutMs, 5_000);
      expect(['closed', 'dropped']).toContain(verdict);
      await waitFor(() => states.includes('expired'), 10_000, 'the expiry');
      await s.waitConnected(10_000);
      expect(s.sessionId).not.toBe(oldId);
      await s.sync('/');
      expect(await s.exists('/closer-ephemeral')).toBeNull();
      // A closed session cannot be resumed again.
      const again = await armSessionClose(other.host, other.port);
      expect(await again.fire(oldId, s.sessionTimeoutMs, 5_000)).toBe('gone');
    });
  });

  describe('an ensemble of three with local sessions', () => {
    let ensemble: LocalEnsemble | null = null;
    afterAll(async () => {
      await ensemble?.stop();
    });
    zkEnsembleContractSuite('three real servers with localSessionsEnabled, follower-to-leader links through proxies', { localSessions: true }, async () => {
      ensemble = await startEnsemble(3, {
        forceSync: false,
        env,
        proxiedQuorumLinks: true,
        extraConfig: [
          ['localSessionsEnabled', 'true'],
          ['localSessionsUpgradingEnabled', 'true'],
        ],
      });
      return ensembleFixture(ensemble);
    });
  });

  describe('through a TCP proxy', () => {
    let zk: LocalZooKeeper;
    let proxy: TcpProxy;
    beforeAll(async () => {
      zk = await startZooKeeper({ forceSync: false, env });
      proxy = await startTcpProxy({ host: zk.host, port: zk.port });
    });
    afterAll(async () => {
      await proxy?.close();
      await zk?.stop();
    });

    it('a reset cut disconnects at once; heal reconnects the same session', async () => {
      const s = await open(proxy.address, { sessionTimeoutMs: 6_000 });
      const id = s.sessionId;
      proxy.cut('reset');
      await waitFor(() => s.state === 'disconnected', 1_000, 'the disconnect');
      await expectZkError(s.exists('/'), 'NOT_CONNECTED');
      await new Promise((r) => setTimeout(r, 300)); // reconnect attempts are refused meanwhile
      expect(s.state).toBe('disconnected');
      proxy.heal();
      await s.waitConnected(3_000);
      expect(s.sessionId).toBe(id);
    });

    it('a blackhole cut is noticed by the read timeout; heal reconnects the same session', async () => {
      const s = await open(proxy.address, { sessionTimeoutMs: 4_500 });
      const id = s.sessionId;
      const started = Date.now();
      proxy.cut('blackhole');
      await waitFor(() => s.state === 'disconnected', 5_000, 'the read timeout');
      const noticedAfter = Date.now() - started;
      // Read timeout is 2/3 of the negotiated timeout (3 s); the last reply came at most one probe interval before the cut.
      expect(noticedAfter).toBeLessThan(3_500);
      proxy.heal();
      await s.waitConnected(3_000);
      expect(s.sessionId).toBe(id);
    });

    // The watchdog gives a session up after 1.5 session timeouts without contact. The
    // library client of that session must stop then: left alone it offers the old session
    // forever (a refusing server: a reconnect every spin delay) or waits on an unanswered
    // handshake forever (a partition), and one that reaches a server still holding the
    // session keeps it, and its ephemerals, alive. Asking it to close must not touch the new
    // session. Session timeout 1.2 s: given up 1.8 s after the cut.
    it.each(['refuse', 'hold'] as const)('a session the watchdog gives up (handshakes: %s) has its library client ended; the new session is untouched', async (how) => {
      const sniffer = await startHandshakeSniffer({ host: zk.host, port: zk.port });
      try {
        const s = await open(sniffer.address, { sessionTimeoutMs: 1_200 });
        const oldId = s.sessionId;
        const states = recordStates(s);
        sniffer.cut(how);
        await waitFor(() => states.includes('expired'), 5_000, 'the watchdog to give the session up');
        const offersOfOld = (): number => sniffer.offers.filter((id) => id === oldId).length;
        await sleep(300); // the old client's close takes effect
        const offeredThen = offersOfOld();
        const newOffersThen = sniffer.offers.filter((id) => id === newSessionOffer).length;
        await sleep(1_000);
        expect(offersOfOld(), 'the old client kept offering the old session').toBe(offeredThen);
        expect(sniffer.openOffering(oldId), 'the old client kept a connection open').toBe(0);
        if (how === 'refuse') expect(sniffer.offers.filter((id) => id === newSessionOffer).length).toBeGreaterThan(newOffersThen); // the new client tries meanwhile

        sniffer.heal();
        await s.waitConnected(5_000);
        expect(s.sessionId).not.toBe(oldId);
        const newId = s.sessionId;
        const statesAfter = recordStates(s);
        await s.create(`/after-watchdog-expiry-${how}`, empty(), 'ephemeral');
        await sleep(500); // a close of the new session would have been reported expired by now
        expect(statesAfter).not.toContain('expired');
        await s.waitConnected(5_000);
        expect(s.sessionId).toBe(newId);
        expect((await s.exists(`/after-watchdog-expiry-${how}`))?.ephemeralOwner).toBe(newId);
      } finally {
        await sniffer.close();
      }
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function empty(): Uint8Array {
  return new Uint8Array(0);
}

/**
 * The ensemble contract's fixture on real servers: each session reaches its one server
 * through a TCP proxy of its own (so it can be moved: retarget, reset); a follower is
 * held behind its leader by holding its quorum links.
 */
function ensembleFixture(ensemble: LocalEnsemble): ZkEnsembleFixture {
  const proxies = new Map<ZkSession, TcpProxy>();
  const member = (server: number): LocalEnsemble['servers'][number] => {
    const m = ensemble.servers[server];
    if (!m) throw new Error(`no server ${server}`);
    return m;
  };
  const start = async (server: number): Promise<ZkSession> => {
    const m = member(server);
    const proxy = await startTcpProxy({ host: m.host, port: m.port });
    const session = connectZk({ connectString: proxy.address, sessionTimeoutMs: 4_000 });
    proxies.set(session, proxy);
    return session;
  };
  return {
    async followers() {
      const leader = await ensemble.leader();
      const followers = ensemble.servers.map((m, i) => ({ m, i })).filter(({ m }) => m !== leader);
      if (!leader || followers.length < 2) throw new Error('the ensemble has no leader and two followers');
      return [followers[0]!.i, followers[1]!.i] as const;
    },
    async openOn(server) {
      const session = await start(server);
      await session.waitConnected(10_000);
      return session;
    },
    startOn: start,
    hold: (server) => Promise.resolve(ensemble.holdQuorumLinks(member(server).id)),
    moveTo(session, server) {
      const proxy = proxies.get(session);
      if (!proxy) throw new Error('moveTo: not a session of this fixture');
      const m = member(server);
      proxy.retarget({ host: m.host, port: m.port });
      proxy.cut('reset');
      proxy.heal();
    },
    sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    async teardown() {
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
}
