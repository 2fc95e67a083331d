// PROTOCOL.md R1: a follower's reply leaves only once what it claims is durable (which
// replies: departureOf; when: WalSync).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { EntryType } from '../../../src/core/types.js';
import type { AppendEntriesReply, HeartbeatReply, Message } from '../../../src/core/messages.js';
import { departureOf, WalSync } from '../../../src/server/wal-sync.js';
import { MemoryWal } from '../../../src/storage/memory-wal.js';
import { ManualClock } from './manual-clock.js';

const entry = (index: number) => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array([index]) });

function setup(intervalMs = 20, urgentIntervalMs = 2, replyIntervalMs?: number) {
  const clock = new ManualClock();
  const completions: Array<() => void> = [];
  // fsyncs complete only when the test says so
  const wal = new MemoryWal({ scheduleSync: (complete) => completions.push(complete) });
  const sync = new WalSync({ wal, clock, logger: silentLogger, intervalMs, urgentIntervalMs, maxWaiting: 4, ...(replyIntervalMs === undefined ? {} : { replyIntervalMs }) });
  return { clock, wal, sync, completions };
}

const settle = () => new Promise((r) => setImmediate(r));

/** Entry 1 written and fsynced (the first fsync starts at once), then entry 2 written: the pace now decides when the next fsync starts. */
async function syncOneThenWriteAnother(t: Pick<ReturnType<typeof setup>, 'wal' | 'sync' | 'completions'>): Promise<void> {
  t.wal.appendEntries([entry(1)]);
  t.sync.written();
  t.completions.shift()!();
  await settle();
  t.wal.appendEntries([entry(2)]);
  t.sync.written();
}

describe('WalSync', () => {
  it('holds a reply until the fsync that covers the writes before it completes', async () => {
    const { clock, wal, sync, completions } = setup();
    wal.appendEntries([entry(1)]);
    sync.written();
    const sent: string[] = [];
    sync.afterDurable(() => sent.push('reply'));
    expect(sent).toEqual([]);
    expect(completions.length).toBe(1); // the first fsync starts at once
    // A crash now loses entry 1, and the reply never left.
    expect(wal.durableRecordCount).toBe(0);
    completions.shift()!();
    await settle();
    expect(sent).toEqual(['reply']);
    expect(wal.durableRecordCount).toBe(1);
    clock.jump(100);
  });

  it('a reply after writes that arrived during an fsync waits for the next one', async () => {
    const { clock, wal, sync, completions } = setup();
    wal.appendEntries([entry(1)]);
    sync.written();
    wal.appendEntries([entry(2)]);
    sync.written();
    const sent: string[] = [];
    sync.afterDurable(() => sent.push('after-2'), 'urgent');
    completions.shift()!(); // covers entry 1 only (the fsync started before entry 2)
    await settle();
    expect(sent).toEqual([]);
    clock.jump(clock.now() + 2); // the urgent pace, not the 20 ms one, because the leader waits on the reply
    expect(completions.length).toBe(1);
    completions.shift()!();
    await settle();
    expect(sent).toEqual(['after-2']);
  });

  it('holds a reply nobody waits on for the usual pace; an urgent one then hurries every reply held', async () => {
    const { clock, wal, sync, completions } = setup();
    await syncOneThenWriteAnother({ wal, sync, completions });
    const sent: string[] = [];
    sync.afterDurable(() => sent.push('usual-2'));
    clock.jump(clock.now() + 5);
    expect(completions.length).toBe(0); // paced like any write: no fsync 5 ms after the last
    wal.appendEntries([entry(3)]);
    sync.written();
    sync.afterDurable(() => sent.push('urgent-3'), 'urgent');
    expect(completions.length).toBe(1); // 5 ms > the urgent pace (2 ms): at once
    completions.shift()!();
    await settle();
    expect(sent).toEqual(['usual-2', 'urgent-3']);
    wal.appendEntries([entry(4)]);
    sync.written();
    sync.afterDurable(() => sent.push('usual-4'));
    clock.jump(clock.now() + 5);
    expect(completions.length).toBe(0); // the hurry ended with the reply it was for
    clock.jump(clock.now() + 20);
    expect(completions.length).toBe(1);
  });

  it('a reply waits at most the reply pace (the heartbeat interval), however slow the usual pace is', async () => {
    const { clock, wal, sync, completions } = setup(1000, 2, 20);
    await syncOneThenWriteAnother({ wal, sync, completions });
    clock.jump(clock.now() + 100);
    expect(completions.length).toBe(0); // no reply waits: the usual 1000 ms pace
    const sent: string[] = [];
    sync.afterDurable(() => sent.push('reply'));
    expect(completions.length).toBe(1); // 100 ms since the last fsync > the 20 ms reply pace
    completions.shift()!();
    await settle();
    expect(sent).toEqual(['reply']);
  });

  it('sends at once when nothing is pending, and paces fsyncs when no reply waits', async () => {
    const { clock, wal, sync, completions } = setup();
    const sent: string[] = [];
    sync.afterDurable(() => sent.push('now'));
    expect(sent).toEqual(['now']);
    await syncOneThenWriteAnother({ wal, sync, completions });
    clock.jump(clock.now() + 5);
    expect(completions.length).toBe(0); // paced: at most one fsync per 20 ms
    clock.jump(clock.now() + 20);
    expect(completions.length).toBe(1);
  });

  it('after a failed fsync waits SYNC_RETRY_MS (100 ms) before the next, even when an urgent reply or a write arrives', async () => {
    const clock = new ManualClock();
    const attempts: number[] = [];
    // A disk whose fsync fails at once, every time (FileWal's failure is sticky).
    class BrokenWal extends MemoryWal {
      override sync(): Promise<void> {
        attempts.push(clock.now());
        return Promise.reject(new Error('EIO'));
      }
    }
    const wal = new BrokenWal();
    const sync = new WalSync({ wal, clock, logger: silentLogger, intervalMs: 20, urgentIntervalMs: 2, maxWaiting: 4 });
    wal.appendEntries([entry(1)]);
    sync.written();
    await settle();
    expect(attempts).toEqual([0]);
    const sent: string[] = [];
    for (let t = 10; t <= 90; t += 10) {
      clock.jump(t);
      // A probe the leader waits on, and a heartbeat's reply nobody hurries, every 10 ms.
      sync.afterDurable(() => sent.push('urgent'), 'urgent');
      sync.afterDurable(() => sent.push('usual'));
      wal.appendEntries([entry(t / 10 + 1)]);
      sync.written();
      await settle();
    }
    expect(attempts).toEqual([0]); // a broken disk must not spin the loop
    clock.jump(100);
    await settle();
    expect(attempts).toEqual([0, 100]);
    expect(sent).toEqual([]); // nothing claims what no fsync made durable
  });

  it('bounds the replies waiting: the oldest are dropped, like lost replies', async () => {
    const { wal, sync, completions } = setup();
    wal.appendEntries([entry(1)]);
    sync.written();
    const sent: number[] = [];
    for (let k = 0; k < 6; k++) sync.afterDurable(() => sent.push(k));
    completions.shift()!();
    await settle();
    expect(sent).toEqual([2, 3, 4, 5]);
  });
});

describe('departureOf: which peer messages wait for the local WAL', () => {
  const base = { from: 'a', to: 'b', term: 3 };
  const appendReply: AppendEntriesReply = { ...base, type: 'appendReply', success: true, matchIndex: 7, rejectedIndex: 0, xTerm: 0, xIndex: 0, xLen: 0 };
  const heartbeatReply: HeartbeatReply = { ...base, type: 'heartbeatReply', lastIndex: 7, leaderMatch: 7 };

  it("holds a follower's AppendEntries and heartbeat replies until durable, urgently when the leader waits on them", () => {
    expect(departureOf(appendReply, undefined)).toBe('usual');
    expect(departureOf(heartbeatReply, {})).toBe('usual');
    expect(departureOf({ ...appendReply, awaited: true }, undefined)).toBe('urgent');
    expect(departureOf({ ...heartbeatReply, awaited: true }, undefined)).toBe('urgent');
    expect(departureOf({ ...appendReply, awaited: false }, undefined)).toBe('usual');
  });

  it('sends every other message at once', () => {
    const others: Message[] = [
      { ...base, type: 'append', prevLogIndex: 6, prevLogTerm: 3, entries: [entry(7)], leaderCommit: 6, awaited: true },
      { ...base, type: 'heartbeat', commit: 6, commitTerm: 3, awaited: true },
      { ...base, type: 'vote', lastLogIndex: 7, lastLogTerm: 3, preVote: true, transfer: false },
      { ...base, type: 'voteReply', granted: false, preVote: true, reason: 'leader-alive' },
    ];
    for (const m of others) expect(departureOf(m, undefined)).toBe('now');
  });

  it('the commit-without-term broken build sends the replies before the fsync (issue 9, hole 1)', () => {
    expect(departureOf({ ...appendReply, awaited: true }, { commitWithoutTerm: true })).toBe('now');
    expect(departureOf(heartbeatReply, { commitWithoutTerm: true })).toBe('now');
  });
});
