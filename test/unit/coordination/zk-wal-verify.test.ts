// The start-time check of wal/: every segment from the one holding the node's commit index
// to the tail is decoded and chained; the first that does not verify is named.
import { describe, expect, it } from 'vitest';
import { CompactedError, CorruptZnodeError } from '../../../src/common/errors.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeSegment, encodeWalHead } from '../../../src/coordination/records.js';
import { verifyWalFrom } from '../../../src/coordination/zk-wal-verify.js';
import { genesisChain } from '../../../src/core/chain.js';
import { RaftLog } from '../../../src/core/log.js';
import { EntryType, type ChainedEntry } from '../../../src/core/types.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('verify');
const genesis = genesisChain('cd'.repeat(16));
const log: ChainedEntry[] = RaftLog.chainFrom(
  genesis,
  Array.from({ length: 100 }, (_, k) => ({ index: k + 1, term: 1, type: EntryType.Normal, data: new TextEncoder().encode(`e${k + 1}`) })),
);

/** Segments of 10 entries (1..10, 11..20, ...), each linking back; from `first` on (a compacted head before it). */
function tree(first = 1): ScriptedZk {
  const zk = new ScriptedZk();
  zk.put(paths.wal, first > 1 ? encodeWalHead({ firstSegmentIndex: first, snapshotIndex: first - 1 }) : new Uint8Array(0), 1);
  for (let f = first; f <= 100; f += 10) zk.put(paths.segment(f), encodeSegment(1, log.slice(f - 1, f + 9), f > first ? f - 10 : 0), 0);
  return zk;
}

const opts = { tailLastIndex: 100, tailSegmentFirstIndex: 91, genesis };

describe('verifyWalFrom', () => {
  for (const listingLimit of [20_000, 0]) {
    const how = listingLimit > 0 ? 'listed' : 'walked';
    it(`${how}: reads from the segment holding the commit index to the tail, checking the chain from the genesis`, async () => {
      const zk = tree();
      expect(await verifyWalFrom(zk, paths, { ...opts, fromIndex: 0, listingLimit })).toMatchObject({ segments: 10, firstIndex: 1, lastIndex: 100, how });
      expect(await verifyWalFrom(zk, paths, { ...opts, fromIndex: 55, listingLimit })).toMatchObject({ segments: 5, firstIndex: 51, lastIndex: 100, how });
    });

    it(`${how}: garbage in a segment is CORRUPT_ZNODE naming it`, async () => {
      const zk = tree();
      zk.put(paths.segment(61), new TextEncoder().encode('XXXX'), 3);
      const err = await verifyWalFrom(zk, paths, { ...opts, fromIndex: 30, listingLimit }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptZnodeError);
      expect((err as CorruptZnodeError).path).toBe(paths.segment(61));
      // A node that holds everything up to 75 does not depend on it.
      await expect(verifyWalFrom(zk, paths, { ...opts, fromIndex: 75, listingLimit })).resolves.toMatchObject({ segments: 3 });
    });

    it(`${how}: a segment whose checksums hold but whose entries do not chain (a forged entry) is named`, async () => {
      const zk = tree();
      const forged = log.slice(40, 50).map((e) => (e.index === 45 ? { ...e, data: new TextEncoder().encode('FORGED') } : e));
      zk.put(paths.segment(41), encodeSegment(1, forged, 31), 3);
      const err = await verifyWalFrom(zk, paths, { ...opts, fromIndex: 1, listingLimit }).catch((e: unknown) => e);
      expect((err as CorruptZnodeError).path).toBe(paths.segment(41));
      expect((err as Error).message).toContain('hash chain broken at index 45');
    });

    it(`${how}: a missing segment is named`, async () => {
      const zk = tree();
      zk.tree.delete(paths.segment(71));
      await expect(verifyWalFrom(zk, paths, { ...opts, fromIndex: 1, listingLimit })).rejects.toBeInstanceOf(CorruptZnodeError);
    });
  }

  it('a commit index behind the compaction point is CompactedError (the node loads a snapshot, then checks from the head)', async () => {
    const zk = tree(41);
    await expect(verifyWalFrom(zk, paths, { ...opts, fromIndex: 20 })).rejects.toBeInstanceOf(CompactedError);
    await expect(verifyWalFrom(zk, paths, { ...opts, fromIndex: 41 })).resolves.toMatchObject({ segments: 6 });
  });

  it('nothing to check when the node holds the tail already', async () => {
    expect(await verifyWalFrom(tree(), paths, { ...opts, fromIndex: 101 })).toMatchObject({ segments: 0, how: 'none' });
  });
});
