// The apply-and-answer path (applier.ts), without a node: committed entries applied in
// order, the write waiting on each index answered with its result (or told another
// leader's entry took the index), the reads waiting for an index woken, and the snapshot
// trigger told last; an installed snapshot becomes the state machine; write stamps never
// go back.
import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '../../../src/core/types.js';
import { NotLeaderError } from '../../../src/common/errors.js';
import { Applier } from '../../../src/server/applier.js';
import { encodeCommand, type KvCommand } from '../../../src/statemachine/command.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { ManualClock } from './manual-clock.js';
import { settled } from './promise-state.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A read with its value as text (decoded values are Buffers, which toEqual tells from a Uint8Array). */
const readText = (applier: Applier, key: string): { found: boolean; value: string; index: number } => {
  const r = applier.read(key);
  return { found: r.found, value: new TextDecoder().decode(r.value), index: r.index };
};
const put = (key: string, value: string): KvCommand => ({ kind: 'put', key, value: enc(value) });
const entry = (index: number, term: number, c: KvCommand, stampMs = 1000): Entry => ({ index, term, type: EntryType.Normal, data: encodeCommand(c, stampMs) });

function applierWith(noteApplied: (entries: readonly Entry[]) => void = () => {}, initial: KvStore | null = null): { applier: Applier; clock: ManualClock } {
  const clock = new ManualClock();
  return { applier: new Applier({ clock, initial, maxPendingProposals: 8, maxPendingReads: 8, noteApplied }), clock };
}

describe('Applier', () => {
  it('applies committed entries in order and answers the write waiting on each index with its result', async () => {
    const { applier } = applierWith();
    const first = applier.proposals.add(1, 3, 10_000);
    const second = applier.proposals.add(2, 3, 10_000);
    applier.apply([entry(1, 3, put('a', 'x')), entry(2, 3, { kind: 'incr', key: 'n', delta: 5 })]);
    await expect(first).resolves.toEqual({ index: 1, result: { ok: true, kind: 'put' } });
    await expect(second).resolves.toMatchObject({ index: 2, result: { ok: true } });
    expect(applier.appliedIndex()).toBe(2);
    expect(applier.proposals.size()).toBe(0);
    expect(readText(applier, 'a')).toEqual({ found: true, value: 'x', index: 2 });
    expect(readText(applier, 'missing')).toEqual({ found: false, value: '', index: 2 });
  });

  it("tells a write whose index another leader's entry took that it did not take effect", async () => {
    const { applier } = applierWith();
    const mine = applier.proposals.add(1, 3, 10_000);
    applier.apply([entry(1, 4, put('a', 'theirs'))]);
    const err = await mine.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).message).toContain('superseded by a new leader');
  });

  it('wakes the reads waiting for an index once it is applied, not before', async () => {
    const { applier } = applierWith();
    const atTwo = applier.appliedWaiters.waitFor(2, 10_000);
    applier.apply([entry(1, 1, put('a', '1'))]);
    expect(await settled(atTwo)).toBe('pending');
    applier.apply([entry(2, 1, put('a', '2'))]);
    expect(await settled(atTwo)).toBe('resolved');
    expect(applier.read('a').index).toBe(2);
  });

  it('tells the snapshot trigger every batch, after its writes and reads were answered', () => {
    const seen: Array<{ indexes: number[]; applied: number; writesWaiting: number }> = [];
    const { applier } = applierWith((entries) => seen.push({ indexes: entries.map((e) => e.index), applied: applier.appliedIndex(), writesWaiting: applier.proposals.size() }));
    void applier.proposals.add(2, 1, 10_000);
    applier.apply([entry(1, 1, put('a', '1')), entry(2, 1, put('b', '2'))]);
    applier.apply([entry(3, 1, put('c', '3'))]);
    expect(seen).toEqual([
      { indexes: [1, 2], applied: 2, writesWaiting: 0 },
      { indexes: [3], applied: 3, writesWaiting: 0 },
    ]);
  });

  it('an installed snapshot becomes the state machine and wakes the reads it covers', async () => {
    const { applier } = applierWith();
    const atFive = applier.appliedWaiters.waitFor(5, 10_000);
    const atNine = applier.appliedWaiters.waitFor(9, 10_000);
    const snapshot = new KvStore();
    for (let i = 1; i <= 6; i++) snapshot.apply(entry(i, 2, put('k', `v${i}`)));
    applier.install(snapshot);
    expect(applier.store()).toBe(snapshot);
    expect(await settled(atFive)).toBe('resolved');
    expect(await settled(atNine)).toBe('pending');
    expect(readText(applier, 'k')).toEqual({ found: true, value: 'v6', index: 6 });
    // Applying goes on from the snapshot's index.
    applier.apply([entry(7, 2, put('k', 'v7'))]);
    expect(applier.appliedIndex()).toBe(7);
  });

  it('starts from the state machine it is given', () => {
    const initial = new KvStore();
    initial.apply(entry(1, 1, put('k', 'v')));
    const { applier } = applierWith(() => {}, initial);
    expect(applier.store()).toBe(initial);
    expect(readText(applier, 'k')).toEqual({ found: true, value: 'v', index: 1 });
  });

  it('stamps writes with the wall clock, never below the last stamp given or the log time applied', () => {
    const { applier } = applierWith();
    expect(applier.nextStamp(1000.7)).toBe(1000);
    // The wall clock went back: the stamp does not.
    expect(applier.nextStamp(500)).toBe(1000);
    // The state machine applied a later stamp (another leader's clock ran ahead): stamps follow it.
    applier.apply([entry(1, 1, put('a', '1'), 5000)]);
    expect(applier.nextStamp(2000)).toBe(5000);
    expect(applier.nextStamp(6000.2)).toBe(6000);
  });
});
