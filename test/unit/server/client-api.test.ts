// The client-facing API (client-api.ts), without a node: a write is proposed only on a
// member whose loop last carried out leadership, within the mirror's bound and one segment
// znode, and is answered when the applier applies its entry; a request that reaches a
// candidate waits for the role to settle; a stopped member refuses requests and says why; a
// lease read skips the ReadIndex round only while the lease holds; a stale read waits for
// its minimum index; status and figures report the core, the applier and the leader term.
import { describe, expect, it } from 'vitest';
import { BusyError, InvalidArgumentError, NotLeaderError, UnavailableError } from '../../../src/common/errors.js';
import type { CoreStatus, ProposeResult, SoftState } from '../../../src/core/raft.js';
import { EntryType } from '../../../src/core/types.js';
import { Applier } from '../../../src/server/applier.js';
import { ClientApi, type ClientApiOptions } from '../../../src/server/client-api.js';
import { defaultLimits, defaultTiming, type LimitsConfig, type NodeConfig } from '../../../src/server/node-config.js';
import { ReadIndexQueue } from '../../../src/server/read-index.js';
import type { KvCommand } from '../../../src/statemachine/command.js';
import { ManualClock } from './manual-clock.js';
import { settled } from './promise-state.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (key: string, value: string): KvCommand => ({ kind: 'put', key, value: enc(value) });
/** Lets every microtask run (an async request goes through several awaits before it proposes). */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The driver and core as a request sees them, set by each test. */
interface World {
  soft: SoftState;
  leading: { backlog: number; lease: boolean } | null;
  stopped: boolean;
  commit: number;
  committedInTerm: boolean;
  transferring: boolean;
  propose: ProposeResult;
  /** What the role becomes when a request waits for it to change. */
  nextSoft: SoftState | null;
  readIndex: number;
  /** What happens meanwhile when a request waits for the role to change (e.g. the member stops). */
  duringRoleWait: (() => void) | null;
}

/**
 * The ReadIndex queue the driver builds (node-driver.ts), over the same world: it serves reads
 * only while a leader term is under way, and re-checks only when the driver's loop kicks it.
 */
function driversReadQueue(world: World, clock: ManualClock): ClientApiOptions['reads'] {
  return new ReadIndexQueue(
    {
      canServeReads: () => world.committedInTerm && world.leading !== null,
      isLeader: () => world.soft.role === 'leader',
      commitIndex: () => world.commit,
      confirmLeadership: () => Promise.resolve(),
      hint: () => ({ leaderId: world.soft.leaderId, leaderAddress: '' }),
    },
    clock,
    8,
  );
}

function rig(
  limits: Partial<LimitsConfig> = {},
  readsFor?: (world: World, clock: ManualClock) => ClientApiOptions['reads'],
): {
  api: ClientApi;
  applier: Applier;
  world: World;
  proposed: Uint8Array[][];
  scheduled: () => number;
  roleWaits: () => number;
  readIndexRounds: () => number;
} {
  const clock = new ManualClock();
  const config: NodeConfig = { id: 'a', cluster: 't', advertise: 'a:1', timing: defaultTiming, limits: { ...defaultLimits, ...limits } };
  const applier = new Applier({ clock, initial: null, maxPendingProposals: 8, maxPendingReads: 8, noteApplied: () => {} });
  const world: World = {
    soft: { role: 'leader', term: 3, leaderId: 'a' },
    leading: { backlog: 0, lease: false },
    stopped: false,
    commit: 0,
    committedInTerm: true,
    transferring: false,
    propose: { ok: true, firstIndex: 1, term: 3 },
    nextSoft: null,
    readIndex: 0,
    duringRoleWait: null,
  };
  const proposed: Uint8Array[][] = [];
  let scheduled = 0;
  let roleWaits = 0;
  let readIndexRounds = 0;
  const status = (): CoreStatus => ({
    id: 'a',
    role: world.soft.role,
    term: world.soft.term,
    leaderId: world.soft.leaderId,
    commit: world.commit,
    applied: 0,
    firstIndex: 1,
    lastIndex: world.commit,
    lastTerm: world.soft.term,
    transferring: world.transferring,
    leaseLapsed: false,
    trustedTerm: world.soft.term,
    commitHeld: false,
  });
  const api = new ClientApi({
    host: {
      soft: () => world.soft,
      leading: () => (world.leading ? { mirrorBacklog: () => world.leading?.backlog ?? 0, leaseHolds: () => world.leading?.lease ?? false } : null),
      stopped: () => world.stopped,
      hint: () => ({ leaderId: world.soft.leaderId, leaderAddress: '' }),
      zkConnected: () => true,
      schedule: () => void scheduled++,
      waitForRoleChange: () => {
        roleWaits++;
        if (world.nextSoft) world.soft = world.nextSoft;
        world.duringRoleWait?.();
        return Promise.resolve();
      },
    },
    config,
    clock,
    core: {
      propose: (data) => {
        proposed.push([...data]);
        return world.propose;
      },
      status,
      commitIndex: () => world.commit,
      committedInCurrentTerm: () => world.committedInTerm,
      isTransferring: () => world.transferring,
      softState: () => world.soft,
      entryAt: () => undefined,
      ticksSinceLeaderContact: () => 4,
    },
    applier,
    reads: readsFor?.(world, clock) ?? {
      request: () => {
        readIndexRounds++;
        return Promise.resolve(world.readIndex);
      },
    },
    snapshotter: {
      status: () => ({ index: 0, sizeBytes: 0, taking: false, installing: false, lastError: '' }),
      zkBudget: () => null,
    },
  });
  return { api, applier, world, proposed, scheduled: () => scheduled, roleWaits: () => roleWaits, readIndexRounds: () => readIndexRounds };
}

describe('ClientApi', () => {
  it('proposes a write on the leader, asks the loop to run, and answers it once the applier applies its entry', async () => {
    const { api, applier, proposed, scheduled } = rig();
    const answer = api.submit(put('k', 'v'));
    await drain();
    expect(proposed).toHaveLength(1);
    expect(proposed[0]).toHaveLength(1);
    expect(scheduled()).toBe(1);
    expect(await settled(answer)).toBe('pending');
    const data = proposed[0]?.[0] ?? new Uint8Array(0);
    applier.apply([{ index: 1, term: 3, type: EntryType.Normal, data }]);
    await expect(answer).resolves.toEqual({ index: 1, result: { ok: true, kind: 'put' } });
  });

  it('refuses a write when the role the loop last carried out is not leader, and proposes nothing', async () => {
    const { api, world, proposed } = rig();
    world.soft = { role: 'follower', term: 3, leaderId: 'b' };
    await expect(api.submit(put('k', 'v'))).rejects.toBeInstanceOf(NotLeaderError);
    world.soft = { role: 'leader', term: 3, leaderId: 'a' };
    world.leading = null;
    await expect(api.submit(put('k', 'v'))).rejects.toBeInstanceOf(NotLeaderError);
    expect(proposed).toHaveLength(0);
  });

  it('answers BUSY when the mirror backlog reaches the bound on waiting writes', async () => {
    const { api, world, proposed } = rig({ maxPendingProposals: 4 });
    world.leading = { backlog: 4, lease: false };
    await expect(api.submit(put('k', 'v'))).rejects.toBeInstanceOf(BusyError);
    expect(proposed).toHaveLength(0);
  });

  it('refuses a command that cannot fit one segment znode before it is in the log', async () => {
    const { api, proposed } = rig({ maxSegmentBytes: 256 });
    await expect(api.submit(put('k', 'v'.repeat(300)))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(proposed).toHaveLength(0);
  });

  it("tells a write the core turned away why (a transfer, a lapsed lease)", async () => {
    const { api, world } = rig();
    world.propose = { ok: false, reason: 'transferring', leaderId: 'a' };
    await expect(api.submit(put('k', 'v'))).rejects.toThrow('leadership is being transferred; retry shortly');
    world.propose = { ok: false, reason: 'lease-lapsed', leaderId: 'a' };
    await expect(api.submit(put('k', 'v'))).rejects.toThrow('the leader cannot reach ZooKeeper right now; retry shortly');
  });

  it('holds a request that reaches a candidate until the role settles, then points it at the leader', async () => {
    const { api, world, proposed, roleWaits } = rig();
    world.soft = { role: 'candidate', term: 4, leaderId: '' };
    world.nextSoft = { role: 'follower', term: 4, leaderId: 'b' };
    const err = await api.submit(put('k', 'v')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe('b');
    expect(roleWaits()).toBe(1);
    expect(proposed).toHaveLength(0);
  });

  it('a stopped member refuses requests; once it stopped serving it says why, and its figures report it', async () => {
    const { api, world } = rig();
    world.stopped = true;
    await expect(api.submit(put('k', 'v'))).rejects.toThrow('this member is shutting down');
    expect(api.fatalReason()).toBeNull();
    api.stoppedServing('diverged at 7');
    const err = await api.read('k', 'stale').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe('this member stopped serving: diverged at 7; it rebuilds from ZooKeeper when restarted');
    expect(api.fatalReason()).toBe('diverged at 7');
    expect(api.figures()).toMatchObject({ stopped: true, fatalReason: 'diverged at 7' });
  });

  it('serves a lease read at the commit index only while the lease holds; otherwise it waits for a read index', async () => {
    const { api, applier, world, readIndexRounds } = rig();
    applier.apply([{ index: 1, term: 3, type: EntryType.Noop, data: new Uint8Array(0) }]);
    world.commit = 1;
    world.readIndex = 1;
    world.leading = { backlog: 0, lease: true };
    await expect(api.read('k', 'lease')).resolves.toMatchObject({ found: false, index: 1 });
    expect(readIndexRounds()).toBe(0);
    world.leading = { backlog: 0, lease: false };
    await expect(api.read('k', 'lease')).resolves.toMatchObject({ index: 1 });
    expect(readIndexRounds()).toBe(1);
    await expect(api.read('k', 'linearizable')).resolves.toMatchObject({ index: 1 });
    expect(readIndexRounds()).toBe(2);
  });

  it('a stale read waits until the state machine reaches its minimum index, on any role', async () => {
    const { api, applier, world } = rig();
    world.soft = { role: 'follower', term: 3, leaderId: 'b' };
    const r = api.read('k', 'stale', 1);
    expect(await settled(r)).toBe('pending');
    applier.apply([{ index: 1, term: 3, type: EntryType.Noop, data: new Uint8Array(0) }]);
    await expect(r).resolves.toMatchObject({ index: 1 });
    await expect(api.read('k', 'stale', -1)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('reports the core, the applier and the leader term in status and figures', () => {
    const { api, world } = rig();
    world.commit = 5;
    world.leading = { backlog: 3, lease: true };
    expect(api.status()).toMatchObject({ id: 'a', role: 'leader', term: 3, commitIndex: 5, appliedIndex: 0, lastIndex: 5, leaderId: 'a', address: 'a:1' });
    expect(api.figures()).toMatchObject({ mirrorBacklog: 3, leaseHolds: true, leaderContactAgeMs: 4 * defaultTiming.tickMs, stopped: false, fatalReason: null });
    world.leading = null;
    expect(api.figures()).toMatchObject({ mirrorBacklog: 0, leaseHolds: false });
    expect(api.inspect()).toMatchObject({ commitIndex: 5, appliedIndex: 0, leaseHolds: false });
  });

  // The driver's stop() closes the leader term and fails the reads and writes waiting, but
  // leaves the soft state as it was (still 'leader'): a request that passed the stopped check
  // before stop() and goes on after it must be refused as stopped, not pointed at this member
  // as the leader, nor queued for a ReadIndex round that no loop will ever kick.
  it('a read held by a transfer while the member stops is refused as stopped, not left waiting for ever', async () => {
    const { api, world } = rig({}, driversReadQueue);
    world.transferring = true;
    world.duringRoleWait = () => {
      // stop(): stopped, stopLeading() (no leader term any more), the role left as it was.
      world.stopped = true;
      world.leading = null;
    };
    const r = api.read('k', 'linearizable');
    expect(await settled(r)).toBe('rejected');
    await expect(r).rejects.toThrow(new UnavailableError('this member is shutting down'));
  });

  it('a write whose member stops before it proposes is refused as stopped, with the reason it stopped serving', async () => {
    const { api, world, proposed } = rig();
    const w = api.submit(put('k', 'v'));
    // The driver's fail(): the reason, then stop() (synchronously up to its first await).
    api.stoppedServing('diverged at 7');
    world.stopped = true;
    world.leading = null;
    const err = await w.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe('this member stopped serving: diverged at 7; it rebuilds from ZooKeeper when restarted');
    expect(proposed).toHaveLength(0);
  });
});
