// `duoraft admin remove-listener` (removeListener): one compare-and-set on `config`, refused
// while the listener's member znode exists, with that check in the same multi as the write,
// so a listener that starts between the check and the write is never removed under its feet;
// an id no longer listed is success (a re-run), and ZooKeeper's errors come out typed.
// On the ZooKeeper model (one server), with the real removeListener.
import { describe, expect, it } from 'vitest';
import { DuoraftError, ListenerIsVoterError, RemovalRefusedError } from '../../src/common/errors.js';
import { clusterTreeOps, createParentIfMissing } from '../../src/coordination/cluster-init.js';
import { ClusterPaths } from '../../src/coordination/layout.js';
import { registerListener, removeListener } from '../../src/coordination/listener-config.js';
import { decodeConfig, encodeConfig, encodeMember } from '../../src/coordination/records.js';
import { ZkError, type ZkErrorCode, type ZkSession } from '../../src/coordination/zk-api.js';
import { silentLogger } from '../../src/common/logger.js';
import { registerAgain, registerAgainOnce } from '../../src/server/listener/register-again.js';
import { type MemberRole, watchRole } from '../../src/server/listener/role-watch.js';
import { SimClock, SimScheduler, settle } from './sim-scheduler.js';
import { ZkModel } from './zk-model.js';

const paths = new ClusterPaths('remove');

async function drive<T>(sched: SimScheduler, promise: Promise<T>, limitMs = 30_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  const deadline = sched.now() + limitMs;
  for (let events = 0; !done && events < 200_000 && sched.nextAt() <= deadline; events++) await sched.step();
  if (!done) throw new Error(`not settled by virtual time ${deadline}`);
  return promise;
}

/** Voters a and b; listeners l1 (running: its member znode) and l2 (gone). */
async function world(seed: number): Promise<{ sched: SimScheduler; model: ZkModel; admin: ZkSession; l1: ZkSession; l2: ZkSession }> {
  const sched = new SimScheduler(seed);
  const model = new ZkModel(sched, { servers: 1 });
  const a = model.connect('a');
  const l1 = model.connect('l1');
  const l2 = model.connect('l2');
  const admin = model.connect('admin');
  await drive(sched, Promise.all([a, l1, l2, admin].map((s) => s.waitConnected(5000))));
  await drive(sched, createParentIfMissing(a));
  await drive(
    sched,
    a.multi(
      clusterTreeOps(paths, {
        identity: { cluster: paths.cluster, clusterId: 'c1', createdAtMs: 0 },
        epoch: { term: 1, leaderId: 'a' },
        tail: { term: 0, lastIndex: 0, segmentFirstIndex: 0 },
        config: { voters: ['a', 'b'], listeners: [] },
        walHead: null,
      }),
    ),
  );
  await drive(sched, registerListener(l1, paths, 'l1'));
  await drive(sched, registerListener(l2, paths, 'l2'));
  await drive(sched, l1.create(paths.member('l1'), encodeMember({ id: 'l1', address: 'l1:1', kind: 'listener' }), 'ephemeral'));
  return { sched, model, admin, l1, l2 };
}

const configOf = (model: ZkModel): { voters: readonly string[]; listeners: readonly string[] } => decodeConfig(paths.config, model.dataOf(paths.config)!);

async function refusal(sched: SimScheduler, p: Promise<unknown>): Promise<RemovalRefusedError> {
  const err = await drive(sched, p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RemovalRefusedError);
  return err as RemovalRefusedError;
}

describe('removeListener', () => {
  it('removes a listener that is not running, and nothing else', async () => {
    const w = await world(1);
    const change = await drive(w.sched, removeListener(w.admin, paths, 'l2'));
    expect(change.before.listeners).toEqual(['l1', 'l2']);
    expect(change.after).toEqual({ voters: ['a', 'b'], listeners: ['l1'] });
    expect(configOf(w.model)).toEqual({ voters: ['a', 'b'], listeners: ['l1'] });
  });

  it('refuses a running listener (retryable) and a voter, and changes nothing', async () => {
    const w = await world(2);
    const running = await refusal(w.sched, removeListener(w.admin, paths, 'l1'));
    expect(running.code).toBe('REMOVAL_REFUSED');
    expect(running.retryable).toBe(true);
    expect(running.message).toMatch(/listener l1 is running/);
    const voter = await refusal(w.sched, removeListener(w.admin, paths, 'a'));
    expect(voter.retryable).toBe(false);
    expect(voter.message).toMatch(/a is a voter/);
    expect(configOf(w.model)).toEqual({ voters: ['a', 'b'], listeners: ['l1', 'l2'] });
    // Once its session is gone, it can be removed.
    await drive(w.sched, w.l1.close());
    await drive(w.sched, removeListener(w.admin, paths, 'l1'));
    expect(configOf(w.model).listeners).toEqual(['l2']);
  });

  it('a member znode that appears after the check still refuses it: the check is in the multi', async () => {
    const w = await world(3);
    // The admin's exists() answers "absent" (as if l1 started just after it), but the znode is there.
    const late = new Proxy(w.admin, {
      get(target, prop, receiver) {
        if (prop === 'exists') return async () => null;
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const err = await refusal(w.sched, removeListener(late, paths, 'l1'));
    expect(err.message).toMatch(/listener l1 is running/);
    expect(configOf(w.model).listeners).toEqual(['l1', 'l2']);
  });

  it('a listener removed while it starts (registered, no member znode yet) registers again instead of stopping', async () => {
    // l2 is registered but has no member znode: run-listener.ts between registerListener and
    // parts.start() (its WAL opening, its snapshot loading), or after its session expired.
    const { sched, model, admin, l2 } = await world(4);
    const clock = new SimClock(sched);
    const told: Array<MemberRole | null> = [];
    let again: Promise<boolean> | null = null;
    const watch = watchRole({
      zk: l2,
      paths,
      clock,
      logger: silentLogger,
      selfId: 'l2',
      current: 'listener',
      onChange: (to) => told.push(to),
      onUnlisted: () => (again = registerAgain({ zk: l2, paths, id: 'l2', clock, logger: silentLogger, attempts: 3, stopping: () => false })),
    });
    await drive(sched, new Promise<void>((r) => sched.schedule(100, r)));
    const removed = await drive(sched, removeListener(admin, paths, 'l2'));
    expect(removed.after.listeners).toEqual(['l1']);
    await drive(sched, new Promise<void>((r) => sched.schedule(1000, r)));
    expect(again).not.toBeNull();
    expect(await drive(sched, again!)).toBe(true);
    await drive(sched, new Promise<void>((r) => sched.schedule(1000, r)));
    watch.stop();
    // Listed again, and never told "removed" (which made node-command.ts exit with a voter's advice).
    expect(configOf(model).listeners).toEqual(['l1', 'l2']);
    expect(told).toEqual([]);
  });

  it('a voter in neither list is still told it was removed (replaced)', async () => {
    const { sched, model, admin } = await world(5);
    const b = model.connect('b');
    await drive(sched, b.waitConnected(5000));
    const told: Array<MemberRole | null> = [];
    const watch = watchRole({ zk: b, paths, clock: new SimClock(sched), logger: silentLogger, selfId: 'b', current: 'voter', onChange: (to) => told.push(to), onUnlisted: () => told.push('listener') });
    const { data, stat } = await drive(sched, admin.getData(paths.config));
    const cfg = decodeConfig(paths.config, data);
    await drive(sched, admin.setData(paths.config, encodeConfig({ voters: ['a', 'l2'], listeners: cfg.listeners.filter((l) => l !== 'l2') }), stat.version));
    await drive(sched, new Promise<void>((r) => sched.schedule(1000, r)));
    watch.stop();
    expect(told).toEqual([null]);
  });

  it('an id not listed (a re-run after a lost reply, or never a listener) is success that changed nothing', async () => {
    const w = await world(6);
    expect((await drive(w.sched, removeListener(w.admin, paths, 'l2'))).removed).toBe(true);
    const again = await drive(w.sched, removeListener(w.admin, paths, 'l2'));
    expect(again.removed).toBe(false);
    expect(again.after).toEqual(again.before);
    expect((await drive(w.sched, removeListener(w.admin, paths, 'zz'))).removed).toBe(false);
    expect(configOf(w.model)).toEqual({ voters: ['a', 'b'], listeners: ['l1'] });
  });

  it("ZooKeeper's errors come out typed, with a code that says what to do", async () => {
    const w = await world(7);
    const failing = (method: 'getData' | 'multi', code: ZkErrorCode): ZkSession =>
      new Proxy(w.admin, {
        get(target, prop, receiver) {
          if (prop === method) return async () => Promise.reject(new ZkError(code, method === 'getData' ? paths.config : ''));
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const failure = async (p: Promise<unknown>): Promise<DuoraftError> => {
      const err = await drive(w.sched, p).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DuoraftError);
      return err as DuoraftError;
    };
    // The cluster does not exist (a wrong --cluster).
    const missing = await failure(removeListener(w.admin, new ClusterPaths('nosuch'), 'l2'));
    expect(missing.code).toBe('CONFIG');
    expect(missing.message).toMatch(/cluster nosuch does not exist/);
    // The multi's reply was lost: it may have happened.
    const lost = await failure(removeListener(failing('multi', 'CONNECTION_LOSS'), paths, 'l2'));
    expect(lost.code).toBe('ZK_UNAVAILABLE');
    expect(lost.retryable).toBe(true);
    expect(lost.message).toMatch(/outcome unknown; re-running is safe/);
    const denied = await failure(removeListener(failing('getData', 'NO_AUTH'), paths, 'l2'));
    expect(denied.code).toBe('UNAUTHENTICATED');
    expect(denied.message).toMatch(/--zk-user/);
    // A lost reply before the multi (the first read): nothing was written, so it says so.
    const unread = await failure(removeListener(failing('getData', 'CONNECTION_LOSS'), paths, 'l2'));
    expect(unread.code).toBe('ZK_UNAVAILABLE');
    expect(unread.retryable).toBe(true);
    expect(unread.message).toMatch(/before anything was written: listener l2 was not removed/);
    expect(unread.message).not.toMatch(/outcome unknown/);
    const down = await failure(removeListener(failing('getData', 'NOT_CONNECTED'), paths, 'l2'));
    expect(down.code).toBe('ZK_UNAVAILABLE');
    expect(down.message).toMatch(/was not removed/);
    expect(configOf(w.model)).toEqual({ voters: ['a', 'b'], listeners: ['l1', 'l2'] });
  });

  it('registering a voter id as a listener is a typed ListenerIsVoterError (code CONFIG), and changes nothing', async () => {
    const w = await world(8);
    const err = await drive(w.sched, registerListener(w.admin, paths, 'a')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenerIsVoterError);
    expect((err as ListenerIsVoterError).code).toBe('CONFIG');
    expect((err as ListenerIsVoterError).memberId).toBe('a');
    expect(configOf(w.model)).toEqual({ voters: ['a', 'b'], listeners: ['l1', 'l2'] });
    // registerAgain takes it as "promoted meanwhile": done, nothing to retry.
    const clock = new SimClock(w.sched);
    expect(await drive(w.sched, registerAgain({ zk: w.admin, paths, id: 'a', clock, logger: silentLogger, attempts: 3, stopping: () => false }))).toBe(true);
  });

  it('a stopping listener does not list itself again, even between two tries', async () => {
    const { sched, model, admin, l2 } = await world(9);
    const clock = new SimClock(sched);
    await drive(sched, removeListener(admin, paths, 'l2'));
    // Stopping before the first try: no try at all.
    expect(await drive(sched, registerAgain({ zk: l2, paths, id: 'l2', clock, logger: silentLogger, attempts: 3, stopping: () => true }))).toBe(false);
    expect(configOf(model).listeners).toEqual(['l1']);
    // The first try fails (ZooKeeper lost the reply); the listener begins to stop during the sleep.
    let stopping = false;
    let tries = 0;
    const flaky = new Proxy(l2, {
      get(target, prop, receiver) {
        if (prop === 'getData') {
          return async () => {
            tries++;
            stopping = true;
            return Promise.reject(new ZkError('CONNECTION_LOSS', paths.config));
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    expect(await drive(sched, registerAgain({ zk: flaky, paths, id: 'l2', clock, logger: silentLogger, attempts: 3, stopping: () => stopping }))).toBe(false);
    expect(tries).toBe(1);
    expect(configOf(model).listeners).toEqual(['l1']);
  });

  it('one registerAgain loop at a time: callbacks during a loop start none; the next after it ends does', async () => {
    const { sched, model, admin, l2 } = await world(10);
    const clock = new SimClock(sched);
    await drive(sched, removeListener(admin, paths, 'l2'));
    let tries = 0;
    let failing = true;
    const flaky = new Proxy(l2, {
      get(target, prop, receiver) {
        if (prop === 'getData') {
          return async (path: string) => {
            tries++;
            if (failing) return Promise.reject(new ZkError('CONNECTION_LOSS', paths.config));
            return target.getData(path);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const again = registerAgainOnce({ zk: flaky, paths, id: 'l2', clock, logger: silentLogger, attempts: 3, stopping: () => false });
    // Five reconnects while unlisted: one loop of 3 tries, not five.
    for (let i = 0; i < 5; i++) again.onUnlisted();
    const first = again.running();
    expect(first).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      await drive(sched, new Promise<void>((r) => sched.schedule(400, r)));
      again.onUnlisted();
      expect(again.running()).toBe(first);
    }
    expect(await drive(sched, first!)).toBe(false);
    await settle();
    expect(tries).toBe(3);
    expect(again.running()).toBeNull();
    // Re-armed: the next callback starts a new loop, which lists it.
    failing = false;
    again.onUnlisted();
    expect(again.running()).not.toBeNull();
    expect(await drive(sched, again.running()!)).toBe(true);
    expect(tries).toBe(4);
    expect(configOf(model).listeners).toEqual(['l1', 'l2']);
  });
});
