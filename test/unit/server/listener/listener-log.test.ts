// The listener log applies committed entries only when they continue its log exactly:
// the next index and a chain value that follows from the one before (S3).
import { describe, expect, it } from 'vitest';
import { ListenerFeedError } from '../../../../src/common/errors.js';
import { silentLogger } from '../../../../src/common/logger.js';
import { chainNext, genesisChain } from '../../../../src/core/chain.js';
import { type ChainedEntry, EntryType } from '../../../../src/core/types.js';
import { ListenerLog } from '../../../../src/server/listener/listener-log.js';
import { encodeCommand } from '../../../../src/statemachine/command.js';
import { KvStore } from '../../../../src/statemachine/kv-store.js';
import { MemoryWal } from '../../../../src/storage/memory-wal.js';

const genesis = genesisChain('test-cluster');

/** A committed log of puts k-i = v-i, chained from genesis. */
function log(n: number): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  let prev = genesis;
  for (let i = 1; i <= n; i++) {
    const e = { index: i, term: 1, type: EntryType.Normal, data: encodeCommand({ kind: 'put', key: `k-${i}`, value: new TextEncoder().encode(`v-${i}`) }, 1000 + i) };
    const chain = chainNext(prev, e);
    out.push({ ...e, chain });
    prev = chain;
  }
  return out;
}

function fresh(wal = new MemoryWal()): ListenerLog {
  return new ListenerLog({ wal, logger: silentLogger, store: new KvStore(), point: { index: 0, term: 0, chain: genesis } });
}

const text = (b: Uint8Array | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);

describe('listener log', () => {
  it('applies a chained log in batches, writes it to the WAL with the commit index, and keeps it for listeners below', async () => {
    const wal = new MemoryWal();
    const l = fresh(wal);
    const entries = log(10);
    expect(l.accept(entries.slice(0, 4), 'up')).toBe(4);
    expect(l.accept(entries.slice(4), 'up')).toBe(6);
    expect(l.applied()).toBe(10);
    expect(text(l.store().get('k-7'))).toBe('v-7');
    expect(l.entryAt(3)?.chain).toEqual(entries[2]!.chain);
    expect(l.chainAt(10)).toEqual(entries[9]!.chain);
    await wal.sync();
    const r = wal.recovery();
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.hardState?.commit).toBe(10);
  });

  it('a resent batch that matches is skipped; one that holds another entry at an applied index is refused', () => {
    const l = fresh();
    const entries = log(6);
    l.accept(entries.slice(0, 5), 'up');
    expect(l.accept(entries.slice(2), 'up')).toBe(1);
    const forged = { ...entries[3]!, chain: new Uint8Array(16).fill(7) };
    expect(() => l.accept([forged], 'up')).toThrow(ListenerFeedError);
  });

  it('a gap is refused and nothing of the batch is applied', () => {
    const l = fresh();
    const entries = log(6);
    l.accept(entries.slice(0, 2), 'up');
    expect(() => l.accept([entries[2]!, entries[4]!], 'up')).toThrow(/expected 4/);
    expect(l.applied()).toBe(2);
  });

  it('an entry whose chain value does not follow (changed data, another cluster) is refused before anything is applied', () => {
    const l = fresh();
    const entries = log(4);
    const changed = { ...entries[2]!, data: encodeCommand({ kind: 'put', key: 'k-3', value: new TextEncoder().encode('FORGED') }, 1003) };
    expect(() => l.accept([entries[0]!, entries[1]!, changed], 'up')).toThrow(/does not follow/);
    expect(l.applied()).toBe(0);
    const other = new ListenerLog({ wal: new MemoryWal(), logger: silentLogger, store: new KvStore(), point: { index: 0, term: 0, chain: genesisChain('another') } });
    expect(() => other.accept(entries, 'up')).toThrow(ListenerFeedError);
    expect(other.applied()).toBe(0);
  });

  it('an entry without its chain value is refused from an upstream', () => {
    const l = fresh();
    const { chain: _chain, ...bare } = log(1)[0]!;
    expect(() => l.accept([bare], 'up')).toThrow(/without its chain value/);
  });

  it('a snapshot replaces the state and restarts the local log after it', async () => {
    const wal = new MemoryWal();
    const l = fresh(wal);
    const entries = log(8);
    l.accept(entries.slice(0, 3), 'up');
    const store = new KvStore();
    for (const e of entries.slice(0, 6)) store.apply(e);
    l.installSnapshot({ index: 6, term: 1, chain: entries[5]!.chain }, store);
    expect(l.applied()).toBe(6);
    expect(l.entryAt(3)).toBeUndefined();
    l.accept(entries.slice(6), 'up');
    expect(text(l.store().get('k-8'))).toBe('v-8');
    await wal.sync();
    expect(wal.recovery().entries.map((e) => e.index)).toEqual([7, 8]);
  });
});
