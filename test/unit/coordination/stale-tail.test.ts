// Issue 9, hole 2: a stale tail after a new ZooKeeper session (PROTOCOL.md R3).
//
// The take-over survives SESSION_EXPIRED on purpose; the new session can land on a server
// that lags the fence and still shows an old tail. Reading it without sync() made the node
// truncate committed entries and seed its mirror with a stale version, and the mirror then
// accepted any tail while the epoch was unchanged, so the node declared its own entries
// committed at indexes where ZooKeeper holds the old leader's acknowledged writes.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { realClock } from '../../../src/common/real-clock.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeConfig, encodeEpoch, encodeLeader, encodeLease, encodeSegment, encodeTail } from '../../../src/coordination/records.js';
import { takeOver } from '../../../src/coordination/takeover.js';
import { WalMirror } from '../../../src/coordination/wal-mirror.js';
import { chainNext } from '../../../src/core/chain.js';
import { EntryType, type ChainedEntry } from '../../../src/core/types.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('t');
/** Entries with chain values: each chained onto the one before, from a genesis of zeros. */
const chained = new Map<string, ChainedEntry>();
const e = (index: number, term: number): ChainedEntry => {
  const key = `${index}/${term}`;
  const known = chained.get(key);
  if (known) return known;
  const prev = index === 1 ? new Uint8Array(16) : e(index - 1, index - 1 <= 3 ? 1 : term).chain;
  const base = { index, term, type: EntryType.Normal, data: new TextEncoder().encode(key) };
  const made = { ...base, chain: chainNext(prev, base) };
  chained.set(key, made);
  return made;
};

/** A's term 1: entries 1..5 committed in two segments; the tail at version 6. */
function clusterOfA(): ScriptedZk {
  const zk = new ScriptedZk();
  zk.put(paths.epoch, encodeEpoch({ term: 1, leaderId: 'a' }), 3);
  // The fence checks the config in which the taker is a voter.
  zk.put(paths.config, encodeConfig({ voters: ['a', 'b'], listeners: [] }), 1);
  zk.put(paths.lease, encodeLease({ term: 1, leaderId: 'a', seq: 9, durationMs: 110, driftBound: 0.05 }), 10);
  zk.put(paths.leader, encodeLeader({ id: 'a', term: 1, address: 'a:1' }), 0, 'aaaa');
  zk.put(paths.segment(1), encodeSegment(1, [e(1, 1), e(2, 1), e(3, 1)]), 0);
  // Linking back to segment 1, as the leader writes them, and the wal znode (empty: never
  // compacted), as cluster-init makes it: a replay from the commit index (3) walks back to it.
  zk.put(paths.segment(4), encodeSegment(1, [e(4, 1), e(5, 1)], 1), 0);
  zk.put(paths.wal, new Uint8Array(0), 0);
  zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 5, segmentFirstIndex: 4 }), 6);
  return zk;
}

const takeoverOptions = (zk: ScriptedZk, commit: number, unsafe = false) => ({
  zk,
  paths,
  clock: realClock,
  logger: silentLogger,
  selfId: 'b',
  address: 'b:1',
  request: { term: 1, leaseVersion: 10, commit, transfer: false },
  leaseDurationMs: 100,
  driftBound: 0.05,
  replayDeadlineMs: 2000,
  ...(unsafe ? { unsafeTailWithoutSync: true } : {}),
});

describe('take-over on a new session (R3)', () => {
  it('reads the tail fresh: sync() first when the session is not the fence session', async () => {
    const zk = clusterOfA();
    zk.afterMulti = (ops) => {
      if (!ops.some((o) => o.path === paths.epoch && o.type === 'setData')) return;
      zk.afterMulti = null;
      // Right after the fence: the session expires, and the new one lands on a server that
      // still shows the tail as it was two appends ago.
      zk.expireSession();
      zk.serveStale(paths.tail, encodeTail({ term: 1, lastIndex: 3, segmentFirstIndex: 1 }), 4);
    };
    const out = await takeOver(takeoverOptions(zk, 3));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.result.zkLastIndex).toBe(5);
    expect(out.tailVersion).toBe(6);
    // From the commit index itself (3): the core checks that entry is its own.
    expect(out.result.entries.map((x) => x.index)).toEqual([3, 4, 5]);
  });

  it('the broken build (tail-without-sync) reads the stale tail: the failure this test exists to catch', async () => {
    const zk = clusterOfA();
    zk.afterMulti = (ops) => {
      if (!ops.some((o) => o.path === paths.epoch && o.type === 'setData')) return;
      zk.afterMulti = null;
      zk.expireSession();
      zk.serveStale(paths.tail, encodeTail({ term: 1, lastIndex: 3, segmentFirstIndex: 1 }), 4);
    };
    const out = await takeOver(takeoverOptions(zk, 3, true));
    expect(out.ok && out.result.zkLastIndex).toBe(3);
  });

  it('in the fence session no sync is needed (a session reads its own writes): one round trip fewer', async () => {
    const zk = clusterOfA();
    const out = await takeOver(takeoverOptions(zk, 3));
    expect(out.ok && out.result.zkLastIndex).toBe(5);
    expect(zk.calls).not.toContain('sync');
  });

  it('refuses to lead when a fresh tail is below its commit index (ZooKeeper lost data), never truncating committed entries', async () => {
    const zk = clusterOfA();
    const out = await takeOver(takeoverOptions(zk, 7));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.result.reason).toMatch(/below this node's commit index 7/);
    expect(out.zkDataLost).toMatch(/lost committed data/);
  });

  it('the broken build hands a tail below its commit index on to the core, as the code before R3 did (no ZooKeeper-lost-data refusal)', async () => {
    const zk = clusterOfA();
    const out = await takeOver(takeoverOptions(zk, 7, true));
    expect(out.ok && out.result.zkLastIndex).toBe(5);
  });
});

describe('the WAL mirror accepts only a tail its own chain can have left (R3)', () => {
  function mirrorOfB(zk: ScriptedZk, unsafe = false) {
    const events: string[] = [];
    // B fenced term 2 (epoch version 5) but seeded its mirror from a stale tail: version 4,
    // last index 3. ZooKeeper really holds A's acknowledged 4..5 at version 6.
    zk.put(paths.epoch, encodeEpoch({ term: 2, leaderId: 'b' }), 5);
    const mirror = new WalMirror({
      zk,
      paths,
      clock: realClock,
      logger: silentLogger,
      term: 2,
      epochVersion: 5,
      tailVersion: 4,
      tailLastIndex: 3,
      maxInflight: 4,
      maxBatchBytes: 64 * 1024,
      maxQueuedEntries: 100,
      onCommitted: (i) => events.push(`committed ${i}`),
      onFenced: (r) => events.push(`fenced ${r}`),
      onFailed: (r) => events.push(`failed ${r}`),
      ...(unsafe ? { unsafeAcceptAnyTail: true } : {}),
    });
    return { mirror, events };
  }

  it('a tail of another term at a version none of our batches leaves is refused: the term ends', async () => {
    const zk = clusterOfA();
    const { mirror, events } = mirrorOfB(zk);
    mirror.enqueue([e(4, 2), e(5, 2)]);
    for (let k = 0; k < 50 && events.length === 0; k++) await new Promise((r) => setTimeout(r, 5));
    expect(events.some((x) => x.startsWith('committed'))).toBe(false);
    expect(events[0]).toMatch(/^failed the tail \(term 1, last index 5, version 6\) is not one our chain/);
  });

  it('the broken build accepts it and declares its own entries committed where ZooKeeper holds A\'s', async () => {
    const zk = clusterOfA();
    const { mirror, events } = mirrorOfB(zk, true);
    mirror.enqueue([e(4, 2), e(5, 2)]);
    for (let k = 0; k < 50 && events.length === 0; k++) await new Promise((r) => setTimeout(r, 5));
    expect(events[0]).toBe('committed 5');
  });

  it('a lost reply of our own batch is recognized and counted as committed', async () => {
    const zk = clusterOfA();
    zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 3, segmentFirstIndex: 1 }), 4);
    zk.tree.delete(paths.segment(4));
    const { mirror, events } = mirrorOfB(zk);
    zk.failNextMulti('CONNECTION_LOSS', true);
    mirror.enqueue([e(4, 2), e(5, 2)]);
    for (let k = 0; k < 50 && events.length === 0; k++) await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual(['committed 5']);
  });

  it('a batch ZooKeeper keeps refusing ends the term instead of looping', async () => {
    const zk = clusterOfA();
    zk.put(paths.tail, encodeTail({ term: 1, lastIndex: 3, segmentFirstIndex: 1 }), 4);
    zk.tree.delete(paths.segment(4));
    const { mirror, events } = mirrorOfB(zk);
    for (let k = 0; k < 20; k++) zk.failNextMulti('CONNECTION_LOSS', false);
    mirror.enqueue([e(4, 2), e(5, 2)]);
    for (let k = 0; k < 400 && events.length === 0; k++) await new Promise((r) => setTimeout(r, 5));
    expect(events[0]).toMatch(/^failed ZooKeeper refused the batch from index 4/);
  });
});
