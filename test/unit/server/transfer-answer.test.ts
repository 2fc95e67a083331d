// What the transfer-leader RPC answers for each outcome of the driver's transfer: only a
// transfer given up says "still leads"; one whose follower may still take over is
// UNKNOWN_OUTCOME, and tells the operator to look before transferring again (a second
// transfer would hand leadership back should the follower lead by then).
import { describe, expect, it } from 'vitest';
import type { DuoraftError } from '../../../src/common/errors.js';
import { execTransferLeadership, type KvMember } from '../../../src/server/kv-operations.js';
import type { TransferOutcome } from '../../../src/server/transfer-outcome.js';

/** A leader a with follower b whose transfer ends with `outcome` (only what the RPC asks of a member). */
function leaderA(outcome: TransferOutcome): KvMember {
  let leaderId = 'a';
  const member: Pick<KvMember, 'id' | 'status' | 'hint' | 'peerId' | 'transferLeadership'> = {
    id: 'a',
    status: () => ({ id: 'a', role: leaderId === 'a' ? 'leader' : 'follower', term: 1, commitIndex: 0, appliedIndex: 0, lastIndex: 0, leaderId, address: 'a:1', snapshotIndex: 0, snapshotBytes: 0, zkBudget: null }),
    hint: () => ({ leaderId, leaderAddress: '' }),
    peerId: () => 'b',
    transferLeadership: () => {
      if (outcome === 'handed-over') leaderId = 'b';
      return Promise.resolve(outcome);
    },
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
});
