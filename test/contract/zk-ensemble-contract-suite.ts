// The ZkSession contract of a ZooKeeper ensemble: what a server that lags behind its
// leader may and may not return. Run against the simulator's model ensemble
// (test/simulation/zk-ensemble-contract-model.test.ts) and against three real servers
// whose follower-to-leader links go through TCP proxies that can be held
// (test/integration/zk-client.test.ts): both must pass, so the model is no kinder (and
// no harsher) than the real thing on these points.
//
// A held link carries nothing either way and closes nothing: the follower keeps serving
// its clients from what it has, and everything that needs the leader waits.
//
// Two variants: ZooKeeper's default (a new session is a transaction of the ensemble), and
// localSessionsEnabled (a new session is known to its server only, until it creates an
// ephemeral). They differ in what a new session may read, and in whether a session can
// move before it created an ephemeral.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ZkConnectionState, ZkSession } from '../../src/coordination/zk-api.js';
import { bytes, recordingWatcher, recordStates, text, waitFor } from './zk-contract-helpers.js';

export interface ZkEnsembleFixture {
  /** Two servers that follow (not the ZooKeeper leader), as indexes the other methods take. */
  followers(): Promise<readonly [number, number]>;
  /** A new session whose connect string names server `server` only, once connected. */
  openOn(server: number): Promise<ZkSession>;
  /** The same, without waiting for its handshake. */
  startOn(server: number): Promise<ZkSession>;
  /** Holds `server`'s link to the ZooKeeper leader; resolves with the function that releases it. */
  hold(server: number): Promise<() => void>;
  /** The session's connection drops now, and from now on it connects to `server` only. */
  moveTo(session: ZkSession, server: number): void;
  /** Waits `ms` (of the fixture's time: virtual for the model). */
  sleep(ms: number): Promise<void>;
  teardown(): Promise<void>;
}

/** How long a case watches a held follower refuse or hold something. */
const observeMs = 300;
/** Bound on a session connecting once its server caught up. */
const connectBoundMs = 5_000;

/** Whether `promise` has settled by now (it is left to settle; its outcome is kept). */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const p = promise.finally(() => {
    done = true;
  });
  p.catch(() => undefined);
  return { promise: p, settled: () => done };
}

export interface ZkEnsembleVariant {
  /** The servers run with localSessionsEnabled (and localSessionsUpgradingEnabled). */
  readonly localSessions: boolean;
}

export function zkEnsembleContractSuite(name: string, variant: ZkEnsembleVariant, setup: () => Promise<ZkEnsembleFixture>): void {
  describe(`ZkSession contract of an ensemble (${variant.localSessions ? 'local' : 'global'} sessions): ${name}`, () => {
    let fixture: ZkEnsembleFixture | undefined;
    const opened: ZkSession[] = [];
    const releases: Array<() => void> = [];
    let counter = 0;

    beforeAll(async () => {
      fixture = await setup();
    });

    afterEach(async () => {
      for (const release of releases.splice(0)) release();
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    afterAll(async () => {
      await fixture?.teardown();
    });

    const fix = (): ZkEnsembleFixture => {
      if (!fixture) throw new Error('fixture not set up');
      return fixture;
    };
    const openOn = async (server: number): Promise<ZkSession> => {
      const s = await fix().openOn(server);
      opened.push(s);
      return s;
    };
    const startOn = async (server: number): Promise<ZkSession> => {
      const s = await fix().startOn(server);
      opened.push(s);
      return s;
    };
    const hold = async (server: number): Promise<() => void> => {
      const release = await fix().hold(server);
      let released = false;
      const once = (): void => {
        if (released) return;
        released = true;
        release();
      };
      releases.push(once);
      return once;
    };
    /** A fresh znode `value` under a fresh directory, written through `writer`, and read by `reader` after a sync (so both are current). */
    const freshKey = async (writer: ZkSession, reader: ZkSession, value: string): Promise<{ dir: string; key: string }> => {
      counter += 1;
      const dir = `/ensemble-${counter}`;
      await writer.create(dir, new Uint8Array(0), 'persistent');
      await writer.create(`${dir}/k`, bytes(value), 'persistent');
      await reader.sync(dir);
      expect(text((await reader.getData(`${dir}/k`)).data)).toBe(value);
      return { dir, key: `${dir}/k` };
    };

    it('a follower held behind its leader serves stale reads, and its watches fire only once it caught up', async () => {
      const [lagging, other] = await fix().followers();
      const writer = await openOn(other);
      const reader = await openOn(lagging);
      const { dir, key } = await freshKey(writer, reader, 'v1');
      const watch = recordingWatcher();
      await reader.getData(key, watch.watcher);

      const release = await hold(lagging);
      await writer.setData(key, bytes('v2'), -1); // acknowledged: the leader and the other follower have it
      await writer.create(`${dir}/new`, new Uint8Array(0), 'persistent');
      // The lagging server answers from what it has: the old value, no new child, no event.
      expect(text((await reader.getData(key)).data)).toBe('v1');
      expect(await reader.exists(`${dir}/new`)).toBeNull();
      expect(await reader.getChildren(dir)).toEqual(['k']);
      expect(watch.events).toEqual([]);

      release();
      await waitFor(() => watch.events.length > 0, connectBoundMs, 'the dataChanged event once the follower caught up');
      expect(watch.events).toEqual([{ type: 'dataChanged', path: key }]);
      await reader.sync(dir);
      expect(text((await reader.getData(key)).data)).toBe('v2');
    });

    it('sync() and a session\'s own writes wait for the held follower to catch up; reads after them are fresh', async () => {
      const [lagging, other] = await fix().followers();
      const writer = await openOn(other);
      const reader = await openOn(lagging);
      const { dir, key } = await freshKey(writer, reader, 'v1');

      const release = await hold(lagging);
      await writer.setData(key, bytes('v2'), -1);
      const own = tracked(reader.create(`${dir}/mine`, bytes('mine'), 'persistent'));
      const synced = tracked(reader.sync(key));
      await fix().sleep(observeMs);
      // Both need the leader: nothing comes back while the link is held.
      expect(own.settled()).toBe(false);
      expect(synced.settled()).toBe(false);

      release();
      expect(await own.promise).toBe(`${dir}/mine`);
      await synced.promise;
      expect(text((await reader.getData(key)).data)).toBe('v2');
      expect(text((await reader.getData(`${dir}/mine`)).data)).toBe('mine');
    });

    if (!variant.localSessions) {
      it('a new session on a held follower connects only once that server applied its creation, so it reads what was acknowledged before', async () => {
        const [lagging, other] = await fix().followers();
        const writer = await openOn(other);
        const reader = await openOn(lagging);
        const { key } = await freshKey(writer, reader, 'v1');

        const release = await hold(lagging);
        await writer.setData(key, bytes('v2'), -1);
        const late = await startOn(lagging);
        await fix().sleep(observeMs);
        expect(late.state).not.toBe('connected');

        release();
        await late.waitConnected(connectBoundMs);
        expect(text((await late.getData(key)).data)).toBe('v2');
      });
    } else {
      it('a new local session on a held follower connects at once and reads that server\'s state, older than what was acknowledged before it connected', async () => {
        const [lagging, other] = await fix().followers();
        const writer = await openOn(other);
        const reader = await openOn(lagging);
        const { key } = await freshKey(writer, reader, 'v1');

        const release = await hold(lagging);
        await writer.setData(key, bytes('v2'), -1);
        const late = await startOn(lagging);
        await late.waitConnected(connectBoundMs);
        expect(text((await late.getData(key)).data)).toBe('v1');
        release();
        await late.sync(key);
        expect(text((await late.getData(key)).data)).toBe('v2');
      });

      it('a local session that moves to another server is told it expired; one that created an ephemeral (upgraded) moves', async () => {
        const [first, second] = await fix().followers();
        const local = await openOn(first);
        const upgraded = await openOn(first);
        counter += 1;
        await upgraded.create(`/ensemble-upgraded-${counter}`, new Uint8Array(0), 'ephemeral');
        const localStates = recordStates(local);
        const upgradedId = upgraded.sessionId;
        fix().moveTo(local, second);
        fix().moveTo(upgraded, second);
        await waitFor(() => localStates.includes('expired'), connectBoundMs, 'the local session to be told it expired');
        await upgraded.waitConnected(connectBoundMs);
        expect(upgraded.sessionId).toBe(upgradedId);
      });
    }

    it('a session is refused by a server behind what it has seen, until that server caught up; it keeps its session', async () => {
      const [lagging, other] = await fix().followers();
      const s = await openOn(other);
      const { dir, key } = await freshKey(s, s, 'v1');
      // An ephemeral makes a local session global (upgraded): it can then move.
      await s.create(`${dir}/e`, new Uint8Array(0), 'ephemeral');
      const id = s.sessionId;

      const release = await hold(lagging);
      await s.setData(key, bytes('v2'), -1); // s has seen this zxid; the lagging server has not
      const states: ZkConnectionState[] = recordStates(s);
      fix().moveTo(s, lagging);
      await fix().sleep(observeMs);
      expect(s.state).toBe('disconnected');
      expect(states).not.toContain('connected');

      release();
      await s.waitConnected(connectBoundMs);
      expect(s.sessionId).toBe(id);
      expect(states).not.toContain('expired');
      expect(text((await s.getData(key)).data)).toBe('v2');
    });
  });
}
