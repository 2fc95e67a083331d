// What the transfer-leader RPC answers for each outcome of the driver's transfer: only a
// transfer given up says "still leads"; one whose follower may still take over is
// UNKNOWN_OUTCOME, and tells the operator to look before transferring again (a second
// transfer would hand leadership back should the follower lead by then). The transfer fits
// within the request's deadline, or is not started when that leaves too little.
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../../src/common/errors.js';
import { execTransferLeadership, type KvMember } from '../../../src/server/kv-operations.js';
import type { TransferOutcome } from '../../../src/server/transfer-outcome.js';

/** A leader a with follower b whose transfer ends with `outcome` (only what the RPC asks of a member). */
function leaderA(outcome: TransferOutcome, given: number[] = []): KvMember {
  let leaderId = 'a';
  const member: Pick<KvMember, 'id' | 'status' | 'hint' | 'peerId' | 'transferLeadership' | 'transferUnderWay'> = {
    id: 'a',
    status: () => ({ id: 'a', role: leaderId === 'a' ? 'leader' : 'follower', term: 1, commitIndex: 0, appliedIndex: 0, lastIndex: 0, leaderId, address: 'a:1', snapshotIndex: 0, snapshotBytes: 0, zkBudget: null }),
    hint: () => ({ leaderId, leaderAddress: '' }),
    peerId: () => 'b',
    transferLeadership: (timeoutMs) => {
      given.push(timeoutMs);
      if (outcome === 'handed-over') leaderId = 'b';
      return Promise.resolve(outcome);
    },
    transferUnderWay: () => false,
  };
  return member as KvMember;
}

async function answer(outcome: TransferOutcome): Promise<{ leaderId?: string | null } | DuoraftError> {
  return execTransferLeadership({ current: leaderA(outcome) }, {}).catch((e: DuoraftError) => e);
}

describe('execTransferLeadership', () => {
  it('handed over: names the new leader', async () => {
    expect(await answer('handed-over')).toMatchObject({ leaderId: 'b' });
  });

  it('a request naming this leader (a retry after its hand-over): already leads, nothing handed over', async () => {
    const a = leaderA('handed-over');
    expect(await execTransferLeadership({ current: a }, { to: 'a' })).toEqual({ leaderId: 'a', tookMs: 0, alreadyLeader: true });
    expect(a.status().leaderId).toBe('a');
  });

  it('given up: TIMEOUT, and this node still leads', async () => {
    const e = await answer('still-leads');
    expect(e).toMatchObject({ code: 'TIMEOUT' });
    expect((e as DuoraftError).message).toContain('a still leads');
  });

  it('the follower may still take over: UNKNOWN_OUTCOME, never "still leads", and what to do', async () => {
    const e = await answer('unknown');
    expect(e).toMatchObject({ code: 'UNKNOWN_OUTCOME' });
    expect((e as DuoraftError).message).not.toContain('still leads');
    expect((e as DuoraftError).message).toContain('duoraft status');
  });

  it('fits the transfer within the time the caller still waits, keeping room for the answer', async () => {
    const given: number[] = [];
    for (const left of [Infinity, 10_000, 3000]) await execTransferLeadership({ current: leaderA('still-leads', given) }, { to: 'b' }, left).catch(() => undefined);
    expect(given).toEqual([5000, 5000, 2250]);
  });

  it('a request that leaves too little is refused before anything starts: TIMEOUT, still leads, and what to do', async () => {
    const given: number[] = [];
    const e = await execTransferLeadership({ current: leaderA('handed-over', given) }, { to: 'b' }, 1200).catch((err: DuoraftError) => err);
    expect(e).toMatchObject({ code: 'TIMEOUT' });
    expect((e as DuoraftError).message).toMatch(/not started: the request left 1200 ms, and a transfer needs at least 1750 ms .*a still leads: ask again with a longer deadline/);
    expect(given).toEqual([]);
  });

  it('a request that leaves too little while a transfer runs: UNKNOWN_OUTCOME, never "still leads" (that transfer may hand over)', async () => {
    // Review 40: the refusal said "a still leads: ask again" while another request's transfer
    // ran; asked again without --to once b led, the client names a and b hands leadership back.
    const given: number[] = [];
    const a = { ...leaderA('unknown', given), transferUnderWay: () => true } as KvMember;
    for (const left of [1200, 0, -50]) {
      const e = await execTransferLeadership({ current: a }, { to: 'b' }, left).catch((err: DuoraftError) => err);
      expect(e).toMatchObject({ code: 'UNKNOWN_OUTCOME' });
      expect((e as DuoraftError).message).not.toContain('still leads');
      expect((e as DuoraftError).message).toContain('duoraft status');
    }
    expect(given).toEqual([]);
  });

  it('a request naming this leader answers "already leads" however short its deadline', async () => {
    expect(await execTransferLeadership({ current: leaderA('handed-over') }, { to: 'a' }, 10)).toMatchObject({ alreadyLeader: true });
  });
});
