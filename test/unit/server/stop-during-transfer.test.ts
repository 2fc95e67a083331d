// Review 33: stop() while a leadership transfer waits (the driver on the scripted ZooKeeper
// and a manual clock: node a leads alone, b is configured but never runs, so a transfer
// waits until it gives up).
// - A transfer woken by stop() answers UNAVAILABLE (the member is shutting down), not false,
//   which the transfer-leader RPC reports as a TIMEOUT "still leads" that never timed out.
// - A stop that hands over first, joined by a second stop() meanwhile, shuts down once.
// - A stop that hands over first stops the node even when its transfer's wait is refused
//   (BUSY: the room of held requests is full); it used to reject and leave the node running.
import { describe, expect, it } from 'vitest';
import { defaultLimits, defaultTiming } from '../../../src/server/node-config.js';
import { leadingAlone, settle, settleMany, track } from './leading-alone.js';

describe('stop() while a leadership transfer waits', () => {
  it('answers a transfer it woke with UNAVAILABLE, at once', async () => {
    const { d, clock } = await leadingAlone();
    const transfer = track(d.transferLeadership(5000));
    await settleMany();
    expect(transfer.outcome()).toBeNull();
    const before = clock.now();
    const stopped = track(d.stop());
    await settleMany();
    expect(clock.now()).toBe(before);
    expect(stopped.outcome()).toEqual({ value: undefined });
    const o = transfer.outcome();
    expect(o !== null && 'error' in o ? o.error.code : o).toBe('UNAVAILABLE');
  });

  it('shuts down once when stopped again while it hands over', async () => {
    const { d, walCloses } = await leadingAlone();
    const handingOver = track(d.stop({ transfer: true, transferTimeoutMs: 5000 }));
    await settleMany();
    expect(handingOver.outcome()).toBeNull();
    const again = track(d.stop());
    await settleMany();
    expect(again.outcome()).toEqual({ value: undefined });
    expect(handingOver.outcome()).toEqual({ value: undefined });
    expect(walCloses()).toBe(1);
    expect(d.figures().stopped).toBe(true);
  });

  it('stops even when held requests fill the room its transfer waits in', async () => {
    const { d, clock } = await leadingAlone({ ...defaultLimits, maxPendingProposals: 4 });
    // A transfer (an operator's) holds writes; the room fills: 1 transfer + 3 writes.
    const first = track(d.transferLeadership(60_000));
    const writes = [1, 2, 3].map((k) => track(d.submit({ kind: 'put', key: `k${k}`, value: new Uint8Array([k]) })));
    await settleMany();
    expect(writes.map((w) => w.outcome())).toEqual([null, null, null]);
    // The transfer gives up in the core (b never catches up); the loop's next turn would
    // wake the room. Before that turn, a SIGTERM's stop hands over again.
    for (let i = 0; i < 10_000 && d.figures().transferring; i++) {
      clock.jump(clock.now() + defaultTiming.tickMs);
      if (!d.figures().transferring) break;
      await settle();
    }
    expect(d.figures().transferring).toBe(false);
    const stopped = track(d.stop({ transfer: true, transferTimeoutMs: 5000 }));
    for (let i = 0; i < 50 && stopped.outcome() === null; i++) {
      clock.jump(clock.now() + 10);
      await settle();
    }
    expect(stopped.outcome()).toEqual({ value: undefined });
    expect(d.figures().stopped).toBe(true);
    expect(first.outcome()).not.toBeNull();
  });
});
