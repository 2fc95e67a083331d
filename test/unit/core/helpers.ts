import { RaftCore, SeededRandom, defaultCoreTicks, EntryType } from '../../../src/core/index.js';
import type { CoreConfig, Entry, Message, Ready, RestoredState } from '../../../src/core/index.js';

/** The genesis chain value of the tests' cluster. */
export const testGenesis = new Uint8Array(16);

export function config(id: string, peer: string, overrides: Partial<CoreConfig> = {}): CoreConfig {
  return { ...defaultCoreTicks, genesis: testGenesis, id, peer, ...overrides };
}

export function core(id: string, peer: string, restored: RestoredState = {}, overrides: Partial<CoreConfig> = {}, seed = 1): RaftCore {
  return new RaftCore(config(id, peer, overrides), new SeededRandom(seed), restored);
}

export function entry(index: number, term: number, data = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

export function entries(...spec: Array<[number, number]>): Entry[] {
  return spec.map(([i, t]) => entry(i, t));
}

/** A log whose entry k (1-based) has terms[k-1]. */
export function logOf(terms: number[]): Entry[] {
  return terms.map((t, k) => entry(k + 1, t));
}

export function drain(c: RaftCore): Ready {
  return c.ready();
}

export function messagesOf<T extends Message['type']>(rd: Ready, type: T): Array<Extract<Message, { type: T }>> {
  return rd.messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

export function tickN(c: RaftCore, n: number): Ready[] {
  const out: Ready[] = [];
  for (let i = 0; i < n; i++) {
    c.tick();
    out.push(c.ready());
  }
  return out;
}

/** Ticks until the core asks for a take-over (or gives up after limit ticks). */
export function tickUntilTakeover(c: RaftCore, limit = 200): Ready | undefined {
  for (let i = 0; i < limit; i++) {
    c.tick();
    const rd = c.ready();
    for (const m of rd.messages) {
      if (m.type === 'vote') c.step({ type: 'unreachable', from: m.to, to: m.from, term: 0 });
    }
    if (rd.takeover) return rd;
    const again = c.ready();
    if (again.takeover) return again;
  }
  return undefined;
}

/** Makes `c` the leader of `term` over an empty ZooKeeper log (or the given one). */
export function makeLeader(c: RaftCore, term: number, zkEntries: Entry[] = [], zkLastIndex = zkEntries.length ? zkEntries[zkEntries.length - 1]!.index : 0): Ready {
  const rd = tickUntilTakeover(c);
  if (!rd?.takeover) throw new Error('no take-over requested');
  c.takeoverResult({ ok: true, term, entries: zkEntries, zkLastIndex });
  return c.ready();
}
