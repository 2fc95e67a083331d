// The operator's transfer request on its own (transfer-request.ts), over a fake core and host,
// the real role waiters and a manual clock:
// - a request that joins a transfer counts TimeoutNows from that transfer's start: one that
//   left before it joined makes its answer `unknown`, one of an earlier transfer does not;
// - a TimeoutNow that left makes a deadline answer `unknown` (without one, `still-leads`);
// - stop() while it waits answers UNAVAILABLE, UNKNOWN_OUTCOME once a TimeoutNow left.
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../../src/common/errors.js';
import { BusyError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { RoleWaiters } from '../../../src/server/role-waiters.js';
import { type TransferRequestOptions, TransferRequests } from '../../../src/server/transfer-request.js';
import type { TransferOutcome } from '../../../src/server/transfer-outcome.js';
import { ManualClock } from './manual-clock.js';

/** The core's transfer calls, as flags the test moves (the core drives the real one). */
class FakeCore {
  transferring = false;
  /** Whether the next transferLeadership() starts one (false: no follower to hand to). */
  mayStart = true;
  calls: string[] = [];
  isTransferring(): boolean {
    return this.transferring;
  }
  transferLeadership(): boolean {
    this.calls.push('transferLeadership');
    if (this.mayStart) this.transferring = true;
    return this.mayStart;
  }
  abortTransfer(): void {
    this.calls.push('abortTransfer');
    this.transferring = false;
  }
  withdrawHandOver(): void {
    this.calls.push('withdrawHandOver');
  }
}

function setUp(): {
  transfers: TransferRequests;
  core: FakeCore;
  clock: ManualClock;
  waiters: RoleWaiters;
  node: { leads: boolean; stopped: boolean; scheduled: number };
} {
  const clock = new ManualClock();
  const waiters = new RoleWaiters(clock, 8);
  const core = new FakeCore();
  const node = { leads: true, stopped: false, scheduled: 0 };
  const options: TransferRequestOptions = {
    clock,
    logger: silentLogger,
    core,
    host: {
      leads: () => node.leads,
      stopped: () => node.stopped,
      schedule: () => void node.scheduled++,
      waitForRoleChange: (deadline, busyMessage) => waiters.wait(deadline, () => new BusyError(20, { leaderId: 'a', leaderAddress: 'a:1' }, busyMessage)),
      peer: () => 'b',
    },
  };
  return { transfers: new TransferRequests(options), core, clock, waiters, node };
}

/** A request's answer once settled: its outcome, or its error's code (null: still waiting). */
function track(p: Promise<TransferOutcome>): () => TransferOutcome | string | null {
  let answer: TransferOutcome | string | null = null;
  p.then(
    (o) => (answer = o),
    (e: DuoraftError) => (answer = e.code),
  );
  return () => answer;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('TransferRequests', () => {
  it('not leading: handed over, nothing started', async () => {
    const { transfers, core, node } = setUp();
    node.leads = false;
    expect(await transfers.transferLeadership(1000)).toBe('handed-over');
    expect(core.calls).toEqual([]);
  });

  it('a transfer the core will not start (no follower): still leads, at once', async () => {
    const { transfers, core, node } = setUp();
    core.mayStart = false;
    expect(await transfers.transferLeadership(1000)).toBe('still-leads');
    expect(node.scheduled).toBe(0);
  });

  it('the follower took over while it waited: handed over', async () => {
    const { transfers, waiters, node } = setUp();
    const answer = track(transfers.transferLeadership(1000));
    await settle();
    expect(answer()).toBeNull();
    expect(node.scheduled).toBe(1);
    node.leads = false;
    waiters.wake();
    await settle();
    expect(answer()).toBe('handed-over');
  });

  it('underWay: exactly while a request arriving would join a transfer (led, and the core transfers)', async () => {
    const { transfers, core, clock, node } = setUp();
    expect(transfers.underWay()).toBe(false);
    const first = track(transfers.transferLeadership(1000));
    await settle();
    expect(transfers.underWay()).toBe(true);
    node.leads = false;
    expect(transfers.underWay()).toBe(false);
    node.leads = true;
    clock.jump(1000);
    await settle();
    expect(first()).toBe('still-leads');
    expect(core.transferring).toBe(false);
    expect(transfers.underWay()).toBe(false);
  });

  it('a joined request counts the TimeoutNows that left since the transfer started, before it joined too', async () => {
    const { transfers, core, waiters } = setUp();
    const first = track(transfers.transferLeadership(1000));
    await settle();
    transfers.timeoutNowLeft();
    const joined = track(transfers.transferLeadership(1000));
    await settle();
    expect(core.calls).toEqual(['transferLeadership']);
    // The core gives the transfer up (its own timeout): the lease is taken back, but the
    // follower may still fence against the relinquished record.
    core.transferring = false;
    waiters.transferring(true);
    waiters.transferring(false);
    await settle();
    expect(joined()).toBe('unknown');
    expect(first()).toBe('unknown');
  });

  it("a joined request does not count an earlier transfer's TimeoutNow", async () => {
    const { transfers, core, clock, waiters } = setUp();
    // An earlier transfer handed over a TimeoutNow, then ran out at its deadline.
    const earlier = track(transfers.transferLeadership(100));
    await settle();
    transfers.timeoutNowLeft();
    clock.jump(100);
    await settle();
    expect(earlier()).toBe('unknown');
    // A new one starts, a request joins it, and the core gives it up before any TimeoutNow.
    const second = track(transfers.transferLeadership(1000));
    await settle();
    const joined = track(transfers.transferLeadership(1000));
    await settle();
    core.transferring = false;
    waiters.wake();
    await settle();
    expect(joined()).toBe('still-leads');
    expect(second()).toBe('still-leads');
  });

  it('a joined request leaves a transfer still running to its starter: unknown at its own deadline, nothing aborted', async () => {
    const { transfers, core, clock } = setUp();
    const first = track(transfers.transferLeadership(1000));
    await settle();
    const joined = track(transfers.transferLeadership(100));
    await settle();
    clock.jump(100);
    await settle();
    expect(joined()).toBe('unknown');
    expect(first()).toBeNull();
    expect(core.calls).toEqual(['transferLeadership']);
  });

  it('a deadline with no TimeoutNow out: given up, lease taken back, still leads', async () => {
    const { transfers, core, clock, node } = setUp();
    const answer = track(transfers.transferLeadership(500));
    await settle();
    clock.jump(499);
    await settle();
    expect(answer()).toBeNull();
    clock.jump(500);
    await settle();
    expect(answer()).toBe('still-leads');
    expect(core.calls).toEqual(['transferLeadership', 'abortTransfer', 'withdrawHandOver']);
    expect(node.scheduled).toBe(2);
  });

  it('a deadline after a TimeoutNow left: unknown, though the transfer is given up', async () => {
    const { transfers, core, clock } = setUp();
    const answer = track(transfers.transferLeadership(500));
    await settle();
    transfers.timeoutNowLeft();
    clock.jump(500);
    await settle();
    expect(core.transferring).toBe(false);
    expect(answer()).toBe('unknown');
  });

  it('stop() while it waits: UNAVAILABLE at once, nothing aborted', async () => {
    const { transfers, core, clock, waiters, node } = setUp();
    const answer = track(transfers.transferLeadership(5000));
    await settle();
    node.stopped = true;
    waiters.close();
    await settle();
    expect(clock.now()).toBe(0);
    expect(answer()).toBe('UNAVAILABLE');
    expect(core.calls).toEqual(['transferLeadership']);
  });

  it('stop() while it waits after a TimeoutNow left: UNKNOWN_OUTCOME (a retry could hand leadership back)', async () => {
    const { transfers, waiters, node } = setUp();
    const answer = track(transfers.transferLeadership(5000));
    await settle();
    transfers.timeoutNowLeft();
    node.stopped = true;
    waiters.close();
    await settle();
    expect(answer()).toBe('UNKNOWN_OUTCOME');
  });

  it('stop() while it waits, and the node no longer leads: handed over', async () => {
    const { transfers, waiters, node } = setUp();
    const answer = track(transfers.transferLeadership(5000));
    await settle();
    node.leads = false;
    node.stopped = true;
    waiters.close();
    await settle();
    expect(answer()).toBe('handed-over');
  });
});
