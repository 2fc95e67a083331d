// The checker's reference replica: the state machine a replica has after applying
// ZooKeeper's log up to an index, for comparing a node's state machine (or a snapshot)
// against. States are compared in a canonical form (keys sorted, sessions by id, every
// remembered result), so two stores are equal exactly when they would answer every later
// command alike.
import type { Entry } from '../../../src/core/types.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A canonical text of everything a state machine holds. */
export function canonicalState(kv: KvStore): string {
  const keys = [...kv.entries()].map(([k, v]) => `${k}=${hex(v)}`).sort();
  const sessions = kv.sessions
    .ids()
    .sort((a, b) => a - b)
    .map((id) => {
      const image = kv.sessions.get(id)!.image();
      const results = [...image.results].sort((a, b) => a[0] - b[0]).map(([seq, r]) => [seq, r.ok && r.kind === 'cas' ? { ...r, current: r.current && hex(r.current) } : r]);
      return { ...image, results };
    });
  const expiries = kv.sessions.expiryHistory();
  // Plain JSON: the only bytes inside (a cas result's current value) are hex already.
  return JSON.stringify({ applied: kv.applied(), lastStampMs: kv.lastStampMs(), keys, sessions, expiries });
}

/** Where the first difference of two canonical states is (for a readable violation). */
export function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at character ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 40), i + 60))} vs ${JSON.stringify(b.slice(Math.max(0, i - 40), i + 60))}`;
}

export class ReferenceStates {
  private store = new KvStore();
  /** Canonical states asked for, by index (a run asks for a few dozen). */
  private readonly memo = new Map<number, string>();

  /** `entry(i)`: ZooKeeper's entry at i as the checker recorded it. */
  constructor(private readonly entry: (index: number) => Entry | undefined) {}

  /** The canonical state after applying entries 1..index, or null if the checker lacks one of them. */
  at(index: number): string | null {
    const known = this.memo.get(index);
    if (known !== undefined) return known;
    if (index < this.store.applied()) this.store = new KvStore();
    while (this.store.applied() < index) {
      const e = this.entry(this.store.applied() + 1);
      if (!e) return null;
      this.store.apply(e);
    }
    const state = canonicalState(this.store);
    this.memo.set(index, state);
    return state;
  }
}
