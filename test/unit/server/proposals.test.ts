// The writes waiting for their entry (proposals.ts): a second write at an index a write
// still waits on must not leave the first one waiting for ever (review 28). The driver fails
// every waiting write above the commit index when leadership is lost, before a newer term can
// propose there, so this is a defence: should that order ever break, the replaced write's
// client is told what happened instead of never hearing back (its own timer checks that the
// map still holds it, and so never fires).
import { describe, expect, it } from 'vitest';
import { NotLeaderError, UnknownOutcomeError } from '../../../src/common/errors.js';
import { PendingProposals } from '../../../src/server/proposals.js';
import { ManualClock } from './manual-clock.js';
import { settled } from './promise-state.js';

const putResult = { ok: true, kind: 'put' } as const;

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe('PendingProposals: a write added at an index another write waits on', () => {
  it("a newer term's write at the index: the older one is told it did not take effect (NOT_LEADER), the newer one is answered", async () => {
    const clock = new ManualClock();
    const pending = new PendingProposals(clock, 8);
    const older = pending.add(5, 3, 10_000);
    clock.jump(5_000);
    const newer = pending.add(5, 4, 10_000);
    // Past the older write's own deadline (before the fix it was still waiting here, for ever).
    clock.jump(10_000);
    expect(await settled(older)).toBe('rejected');
    const err = await errorOf(older);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).message).toContain('did not take effect');
    expect(pending.size()).toBe(1);
    pending.applied(5, 4, putResult);
    await expect(newer).resolves.toEqual({ index: 5, result: putResult });
  });

  it('a write of the same term at the index (no leader does that): the older one is told its outcome is unknown', async () => {
    const clock = new ManualClock();
    const pending = new PendingProposals(clock, 8);
    const older = pending.add(5, 3, 10_000);
    const newer = pending.add(5, 3, 10_000);
    expect(await settled(older)).toBe('rejected');
    const err = await errorOf(older);
    expect(err).toBeInstanceOf(UnknownOutcomeError);
    expect(pending.size()).toBe(1);
    // The replaced write's timer is gone with it; the newer one still times out on its own.
    clock.jump(10_000);
    expect(await settled(newer)).toBe('rejected');
    expect(pending.size()).toBe(0);
  });
});
