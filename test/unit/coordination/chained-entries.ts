// Test entries with hash chain values: a log whose entry k has the term given, chained from
// a genesis of zeros (as a leader's log is), for tests that write segments.
import { chainNext } from '../../../src/core/chain.js';
import { type ChainedEntry, EntryType } from '../../../src/core/types.js';

/** Entries 1..terms.length with the given terms, data "<index>/<term>". */
export function chainedLog(terms: readonly number[]): ChainedEntry[] {
  let prev: Uint8Array = new Uint8Array(16);
  return terms.map((term, k) => {
    const base = { index: k + 1, term, type: EntryType.Normal, data: new TextEncoder().encode(`${k + 1}/${term}`) };
    const chain = chainNext(prev, base);
    prev = chain;
    return { ...base, chain };
  });
}
