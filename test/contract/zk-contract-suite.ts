// The ZkSession contract: what every implementation (the real client over
// node-zookeeper-client, the simulator's in-memory model) must do. Each case states a
// ZooKeeper guarantee duoraft relies on and is built so that an implementation that
// breaks it fails the case.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ZkSession, ZkStat } from '../../src/coordination/zk-api.js';
import { bytes, expectZkError, recordingWatcher, recordStates, text, waitFor } from './zk-contract-helpers.js';

export interface ZkContractFixture {
  /** A new session, already connected. */
  open(): Promise<ZkSession>;
  /** Makes the session's current ZooKeeper session expire; resolves once it reported 'expired'. */
  expire(session: ZkSession): Promise<void>;
  /** Restarts the server (sessions must survive when it is back within their timeout). Optional. */
  restartServer?(): Promise<void>;
  teardown(): Promise<void>;
}

const empty = new Uint8Array(0);
/** Bound for waiting on watch events and reconnects. */
const eventBoundMs = 5_000;

export function zkContractSuite(name: string, setup: () => Promise<ZkContractFixture>): void {
  describe(`ZkSession contract: ${name}`, () => {
    let fixture: ZkContractFixture | undefined;
    const opened: ZkSession[] = [];
    let counter = 0;

    beforeAll(async () => {
      fixture = await setup();
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    afterAll(async () => {
      await fixture?.teardown();
    });

    const fix = (): ZkContractFixture => {
      if (!fixture) throw new Error('fixture not set up');
      return fixture;
    };

    const open = async (): Promise<ZkSession> => {
      const session = await fix().open();
      opened.push(session);
      return session;
    };

    /** A fresh persistent parent znode for one case, so cases never share state. */
    const freshDir = async (session: ZkSession, label: string): Promise<string> => {
      counter += 1;
      const path = `/contract-${counter}-${label}`;
      await session.create(path, empty, 'persistent');
      return path;
    };

    it('create, getData, setData and delete honour versions', async () => {
      const s = await open();
      const dir = await freshDir(s, 'crud');
      const path = `${dir}/node`;
      expect(await s.create(path, bytes('one'), 'persistent')).toBe(path);

      const first = await s.getData(path);
      expect(text(first.data)).toBe('one');
      expect(first.stat.version).toBe(0);
      expect(first.stat.dataLength).toBe(3);
      expect(first.stat.ephemeralOwner).toBe('');

      const second = await s.setData(path, bytes('two'), 0);
      expect(second.version).toBe(1);
      expect(second.mzxid > first.stat.mzxid).toBe(true);
      await expectZkError(s.setData(path, bytes('stale'), 0), 'BAD_VERSION');
      expect(text((await s.getData(path)).data)).toBe('two');

      const third = await s.setData(path, bytes('three'), -1);
      expect(third.version).toBe(2);

      await expectZkError(s.delete(path, 1), 'BAD_VERSION');
      expect(await s.exists(path)).not.toBeNull();
      await s.delete(path, 2);
      expect(await s.exists(path)).toBeNull();
    });

    it('version 0 outside multi is a real condition, not "any version"', async () => {
      const s = await open();
      const dir = await freshDir(s, 'v0');
      const path = `${dir}/node`;
      await s.create(path, bytes('a'), 'persistent');
      await s.setData(path, bytes('b'), 0); // now at version 1
      await expectZkError(s.setData(path, bytes('c'), 0), 'BAD_VERSION');
      await expectZkError(s.delete(path, 0), 'BAD_VERSION');
      expect(text((await s.getData(path)).data)).toBe('b');
    });

    it('reports NO_NODE, NODE_EXISTS and NOT_EMPTY', async () => {
      const s = await open();
      const dir = await freshDir(s, 'errors');
      await expectZkError(s.getData(`${dir}/missing`), 'NO_NODE');
      await expectZkError(s.setData(`${dir}/missing`, empty, -1), 'NO_NODE');
      await expectZkError(s.delete(`${dir}/missing`, -1), 'NO_NODE');
      await expectZkError(s.create(`${dir}/missing/child`, empty, 'persistent'), 'NO_NODE');
      await s.create(`${dir}/a`, empty, 'persistent');
      await expectZkError(s.create(`${dir}/a`, empty, 'persistent'), 'NODE_EXISTS');
      await s.create(`${dir}/a/b`, empty, 'persistent');
      await expectZkError(s.delete(`${dir}/a`, -1), 'NOT_EMPTY');
      expect(await s.exists(`${dir}/a/b`)).not.toBeNull();
    });

    it('exists returns null for a missing znode and the stat of a present one', async () => {
      const s = await open();
      const dir = await freshDir(s, 'exists');
      expect(await s.exists(`${dir}/nope`)).toBeNull();
      await s.create(`${dir}/yes`, bytes('12345'), 'persistent');
      const stat = await s.exists(`${dir}/yes`);
      expect(stat).not.toBeNull();
      expect(stat?.dataLength).toBe(5);
      expect(stat?.version).toBe(0);
      expect(stat?.numChildren).toBe(0);
    });

    it('round-trips empty and binary data exactly', async () => {
      const s = await open();
      const dir = await freshDir(s, 'data');
      const binary = Uint8Array.from([0, 255, 1, 0, 128, 0]);
      await s.create(`${dir}/bin`, binary, 'persistent');
      await s.create(`${dir}/empty`, empty, 'persistent');
      const got = await s.getData(`${dir}/bin`);
      expect(got.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(got.data)).toEqual(Array.from(binary));
      expect((await s.getData(`${dir}/empty`)).data.length).toBe(0);
    });

    it('sequential znodes get increasing 10-digit zero-padded suffixes', async () => {
      const s = await open();
      const dir = await freshDir(s, 'seq');
      const created: string[] = [];
      for (let i = 0; i < 3; i++) created.push(await s.create(`${dir}/n-`, bytes(String(i)), 'persistent_sequential'));
      created.push(await s.create(`${dir}/e-`, empty, 'ephemeral_sequential'));
      for (const path of created) expect(path).toMatch(new RegExp(`^${dir}/[ne]-\\d{10}$`));
      const suffixes = created.map((p) => Number(p.slice(-10)));
      for (let i = 1; i < suffixes.length; i++) expect(suffixes[i]).toBeGreaterThan(suffixes[i - 1]!);
      expect(created[0]).toBe(`${dir}/n-${String(suffixes[0]).padStart(10, '0')}`);
      const owner = (await s.exists(created[3]!))?.ephemeralOwner;
      expect(owner).toBe(s.sessionId);
    });

    it('getChildren lists the children, sorted, and fails with NO_NODE for a missing parent', async () => {
      const s = await open();
      const dir = await freshDir(s, 'children');
      expect(await s.getChildren(dir)).toEqual([]);
      for (const child of ['b', 'c', 'a']) await s.create(`${dir}/${child}`, empty, 'persistent');
      expect(await s.getChildren(dir)).toEqual(['a', 'b', 'c']);
      expect((await s.exists(dir))?.numChildren).toBe(3);
      await expectZkError(s.getChildren(`${dir}/missing`), 'NO_NODE');
    });

    it('multi applies every op and returns one result per op', async () => {
      const s = await open();
      const dir = await freshDir(s, 'multi-ok');
      await s.create(`${dir}/x`, bytes('x0'), 'persistent');
      await s.create(`${dir}/gone`, empty, 'persistent');
      const results = await s.multi([
        { type: 'check', path: dir, version: -1 },
        { type: 'create', path: `${dir}/new`, data: bytes('n'), mode: 'persistent' },
        { type: 'create', path: `${dir}/s-`, data: empty, mode: 'persistent_sequential' },
        { type: 'setData', path: `${dir}/x`, data: bytes('x1'), version: -1 },
        { type: 'delete', path: `${dir}/gone`, version: -1 },
      ]);
      expect(results.map((r) => r.type)).toEqual(['check', 'create', 'create', 'setData', 'delete']);
      const [, created, sequential, set] = results;
      expect(created).toEqual({ type: 'create', path: `${dir}/new` });
      expect(sequential?.type === 'create' && /\/s-\d{10}$/.test(sequential.path)).toBe(true);
      expect(set?.type === 'setData' ? set.stat.version : -2).toBe(1);
      expect(text((await s.getData(`${dir}/new`)).data)).toBe('n');
      expect(text((await s.getData(`${dir}/x`)).data)).toBe('x1');
      expect(await s.exists(`${dir}/gone`)).toBeNull();

      // Versions >= 1 are conditions inside multi.
      await s.multi([{ type: 'setData', path: `${dir}/x`, data: bytes('x2'), version: 1 }]);
      expect((await s.exists(`${dir}/x`))?.version).toBe(2);
    });

    it('a failing multi applies nothing and reports the failing op and its code', async () => {
      const s = await open();
      const dir = await freshDir(s, 'multi-fail');
      await s.create(`${dir}/v`, empty, 'persistent');
      await s.setData(`${dir}/v`, bytes('1'), 0); // version 1

      const atTwo = await expectZkError(
        s.multi([
          { type: 'create', path: `${dir}/a`, data: empty, mode: 'persistent' },
          { type: 'setData', path: `${dir}/v`, data: bytes('2'), version: 1 },
          { type: 'setData', path: `${dir}/missing`, data: empty, version: -1 },
          { type: 'create', path: `${dir}/b`, data: empty, mode: 'persistent' },
        ]),
        'NO_NODE',
      );
      expect(atTwo.failedOp).toBe(2);
      expect(await s.exists(`${dir}/a`)).toBeNull();
      expect(await s.exists(`${dir}/b`)).toBeNull();
      const v = await s.getData(`${dir}/v`);
      expect(v.stat.version).toBe(1);
      expect(text(v.data)).toBe('1');

      const atZero = await expectZkError(
        s.multi([
          { type: 'check', path: `${dir}/v`, version: 5 },
          { type: 'create', path: `${dir}/c`, data: empty, mode: 'persistent' },
        ]),
        'BAD_VERSION',
      );
      expect(atZero.failedOp).toBe(0);
      expect(await s.exists(`${dir}/c`)).toBeNull();

      const atOne = await expectZkError(
        s.multi([
          { type: 'create', path: `${dir}/d`, data: empty, mode: 'persistent' },
          { type: 'create', path: `${dir}/v`, data: empty, mode: 'persistent' },
        ]),
        'NODE_EXISTS',
      );
      expect(atOne.failedOp).toBe(1);
      expect(await s.exists(`${dir}/d`)).toBeNull();
    });

    it('multi refuses version 0 in check, setData and delete with BAD_ARGUMENTS, sending nothing', async () => {
      const s = await open();
      const dir = await freshDir(s, 'multi-v0');
      const target = `${dir}/t`;
      await s.create(target, bytes('t0'), 'persistent');
      await s.setData(target, bytes('t1'), 0);
      await s.setData(target, bytes('t2'), 1); // version 2: sent as "any version", each op below would succeed
      const withVersionZero = [
        { type: 'check', path: target, version: 0 },
        { type: 'setData', path: target, data: bytes('bad'), version: 0 },
        { type: 'delete', path: target, version: 0 },
      ] as const;
      for (const op of withVersionZero) {
        const err = await expectZkError(s.multi([{ type: 'create', path: `${dir}/side-effect`, data: empty, mode: 'persistent' }, op]), 'BAD_ARGUMENTS');
        expect(err.failedOp).toBe(1);
      }
      expect(await s.exists(`${dir}/side-effect`)).toBeNull();
      const after = await s.getData(target);
      expect(text(after.data)).toBe('t2');
      expect(after.stat.version).toBe(2);
    });

    it('ephemeral znodes belong to their session and vanish when it closes', async () => {
      const owner = await open();
      const other = await open();
      const dir = await freshDir(other, 'eph-close');
      const path = `${dir}/e`;
      await owner.create(path, bytes('mine'), 'ephemeral');
      const stat = await other.exists(path);
      expect(stat?.ephemeralOwner).toBe(owner.sessionId);
      expect(owner.sessionId).not.toBe(other.sessionId);
      await expectZkError(owner.create(`${path}/child`, empty, 'persistent'), 'NO_CHILDREN_FOR_EPHEMERALS');
      await owner.close();
      expect(owner.state).toBe('closed');
      expect(await other.exists(path)).toBeNull();
    });

    it('a closed session refuses requests with CLOSED', async () => {
      const s = await open();
      await s.close();
      await expectZkError(s.getData('/'), 'CLOSED');
      await expectZkError(s.create('/never', empty, 'persistent'), 'CLOSED');
      await s.close(); // idempotent
    });

    it('after expiry the session reports expired, then connected with a new id; its ephemerals are gone', async () => {
      const s = await open();
      const other = await open();
      const dir = await freshDir(other, 'expiry');
      await s.create(`${dir}/e`, empty, 'ephemeral');
      const oldId = s.sessionId;
      const states = recordStates(s);
      await fix().expire(s);
      await s.waitConnected(eventBoundMs);
      const expiredAt = states.indexOf('expired');
      expect(expiredAt, `states: ${states.join(',')}`).toBeGreaterThanOrEqual(0);
      expect(states.slice(expiredAt + 1)).toContain('connected');
      expect(states.at(-1)).toBe('connected');
      expect(s.sessionId).not.toBe('');
      expect(s.sessionId).not.toBe(oldId);
      expect(await other.exists(`${dir}/e`)).toBeNull();
      // The new session works and owns what it creates.
      await s.create(`${dir}/e2`, empty, 'ephemeral');
      expect((await other.exists(`${dir}/e2`))?.ephemeralOwner).toBe(s.sessionId);
    });

    it('watches set on an expired session never fire', async () => {
      const s = await open();
      const other = await open();
      const dir = await freshDir(other, 'expiry-watch');
      await other.create(`${dir}/w`, bytes('0'), 'persistent');
      const { events, watcher } = recordingWatcher();
      await s.getData(`${dir}/w`, watcher);
      await fix().expire(s);
      await s.waitConnected(eventBoundMs);
      await other.setData(`${dir}/w`, bytes('1'), -1);
      await s.getData(`${dir}/w`); // barrier: notifications precede later replies
      expect(events).toEqual([]);
    });

    it('data watches are one-shot and fire for dataChanged', async () => {
      const watcherSession = await open();
      const writer = await open();
      const dir = await freshDir(writer, 'watch-data');
      const path = `${dir}/w`;
      await writer.create(path, bytes('0'), 'persistent');
      const { events, watcher } = recordingWatcher();
      await watcherSession.getData(path, watcher);
      await writer.setData(path, bytes('1'), -1);
      await waitFor(() => events.length >= 1, eventBoundMs, 'the dataChanged event');
      await writer.setData(path, bytes('2'), -1);
      await watcherSession.getData(path); // barrier: a second event would arrive before this reply
      expect(events).toEqual([{ type: 'dataChanged', path }]);
    });

    it('watches fire for deleted (via getData) and created (via exists on a missing znode)', async () => {
      const watcherSession = await open();
      const writer = await open();
      const dir = await freshDir(writer, 'watch-exist');
      const path = `${dir}/w`;

      const created = recordingWatcher();
      expect(await watcherSession.exists(path, created.watcher)).toBeNull();
      await writer.create(path, empty, 'persistent');
      await waitFor(() => created.events.length >= 1, eventBoundMs, 'the created event');
      expect(created.events).toEqual([{ type: 'created', path }]);

      const deleted = recordingWatcher();
      await watcherSession.getData(path, deleted.watcher);
      await writer.delete(path, -1);
      await waitFor(() => deleted.events.length >= 1, eventBoundMs, 'the deleted event');
      expect(deleted.events).toEqual([{ type: 'deleted', path }]);
      await watcherSession.exists(path); // barrier
      expect(created.events).toHaveLength(1);
    });

    it('a read that fails with NO_NODE sets no watch', async () => {
      const watcherSession = await open();
      const writer = await open();
      const dir = await freshDir(writer, 'watch-nonode');
      const path = `${dir}/w`;
      const { events, watcher } = recordingWatcher();
      await expectZkError(watcherSession.getData(path, watcher), 'NO_NODE');
      await writer.create(path, empty, 'persistent');
      await writer.setData(path, bytes('x'), -1);
      await watcherSession.getData(path); // barrier
      expect(events).toEqual([]);
    });

    it('child watches are one-shot and fire for childrenChanged', async () => {
      const watcherSession = await open();
      const writer = await open();
      const dir = await freshDir(writer, 'watch-children');
      const { events, watcher } = recordingWatcher();
      expect(await watcherSession.getChildren(dir, watcher)).toEqual([]);
      await writer.create(`${dir}/c1`, empty, 'persistent');
      await waitFor(() => events.length >= 1, eventBoundMs, 'the childrenChanged event');
      await writer.create(`${dir}/c2`, empty, 'persistent');
      await writer.setData(dir, bytes('not a child change'), -1);
      await watcherSession.getChildren(dir); // barrier
      expect(events).toEqual([{ type: 'childrenChanged', path: dir }]);
    });

    it('a second session sees the first one\'s writes', async () => {
      const first = await open();
      const second = await open();
      const dir = await freshDir(first, 'visibility');
      await first.create(`${dir}/k`, bytes('v1'), 'persistent');
      await first.setData(`${dir}/k`, bytes('v2'), 0);
      const seen = await second.getData(`${dir}/k`);
      expect(text(seen.data)).toBe('v2');
      expect(seen.stat.version).toBe(1);
      expect(await second.getChildren(dir)).toEqual(['k']);
    });

    it('requests of one session complete in the order they were issued (FIFO)', async () => {
      const s = await open();
      const dir = await freshDir(s, 'fifo');
      const path = `${dir}/f`;
      const order: number[] = [];
      const track = <T>(index: number, p: Promise<T>): Promise<T> =>
        p.then(
          (v) => {
            order.push(index);
            return v;
          },
          (e: unknown) => {
            order.push(index);
            throw e;
          },
        );
      // None awaited before the next is issued.
      const created = track(0, s.create(path, bytes('0'), 'persistent'));
      const set1 = track(1, s.setData(path, bytes('1'), 0));
      const stale = track(2, s.setData(path, bytes('stale'), 7));
      const set2 = track(3, s.setData(path, bytes('2'), 1));
      const child = track(4, s.create(`${path}/c`, empty, 'persistent'));
      const read = track(5, s.getData(path));
      const staleOutcome = expectZkError(stale, 'BAD_VERSION');
      const [, stat1, , stat2, , got] = await Promise.all([created, set1, staleOutcome, set2, child, read]);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      expect((stat1 as ZkStat).version).toBe(1);
      expect((stat2 as ZkStat).version).toBe(2);
      expect(text(got.data)).toBe('2');
      expect(got.stat.version).toBe(2);
      expect(got.stat.numChildren).toBe(1);
    });

    it('sync resolves and a read after it sees writes committed before it', async () => {
      const reader = await open();
      const writer = await open();
      const dir = await freshDir(writer, 'sync');
      await writer.create(`${dir}/s`, bytes('synced'), 'persistent');
      await reader.sync(`${dir}/s`);
      expect(text((await reader.getData(`${dir}/s`)).data)).toBe('synced');
    });

    it('a session survives a server restart within its timeout (when the fixture can restart)', async (ctx) => {
      const restart = fix().restartServer;
      if (!restart) {
        ctx.skip();
        return;
      }
      const s = await open();
      const dir = await freshDir(s, 'restart');
      await s.create(`${dir}/e`, empty, 'ephemeral');
      const id = s.sessionId;
      const states = recordStates(s);
      await restart.call(fix());
      await waitFor(() => states.includes('disconnected'), eventBoundMs, 'the disconnect');
      await s.waitConnected(eventBoundMs * 2);
      expect(s.sessionId).toBe(id);
      expect(states).not.toContain('expired');
      expect((await s.exists(`${dir}/e`))?.ephemeralOwner).toBe(id);
    });
  });
}
