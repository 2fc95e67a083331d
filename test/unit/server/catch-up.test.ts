// A follower its leader does not feed, far behind ZooKeeper's tail: it loads ZooKeeper's
// newest snapshot first when that is far ahead of it, instead of reading tens of thousands
// of entries a segment at a time (PROPOSED FIX, lead's area: see catch-up.ts).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { encodeTail } from '../../../src/coordination/records.js';
import { ZkError, type ZkSession } from '../../../src/coordination/zk-api.js';
import type { Role } from '../../../src/core/raft.js';
import { FollowerCatchUp, PREFER_SNAPSHOT_BEHIND } from '../../../src/server/catch-up.js';
import { ManualClock } from './manual-clock.js';

const paths = new ClusterPaths('c');

/** A ZooKeeper holding only the tail record; every other read finds nothing (and is counted). */
function zkWithTail(lastIndex: number): { zk: ZkSession; otherReads: string[] } {
  const otherReads: string[] = [];
  const zk = {
    getData: async (path: string) => {
      if (path === paths.tail) return { data: encodeTail({ term: 1, lastIndex, segmentFirstIndex: lastIndex }), stat: { version: 1 } };
      otherReads.push(path);
      throw new ZkError('NO_NODE', path, 'no node');
    },
    exists: async (path: string) => {
      otherReads.push(path);
      return null;
    },
  } as unknown as ZkSession;
  return { zk, otherReads };
}

async function stallOnce(commitAt: number, tail: number, snapshotReaches: number | null): Promise<{ asked: number[]; otherReads: string[]; commit: number }> {
  const clock = new ManualClock();
  const { zk, otherReads } = zkWithTail(tail);
  let commit = commitAt;
  const asked: number[] = [];
  const host = {
    commitIndex: () => commit,
    role: (): Role => 'follower',
    committedFromZk: () => undefined,
    // The contract: load a snapshot that reaches at least firstAvailable - 1.
    needsSnapshot: async (_wanted: number, firstAvailable: number) => {
      const reach = firstAvailable - 1;
      asked.push(reach);
      if (snapshotReaches === null || snapshotReaches < reach) return false;
      commit = snapshotReaches;
      return true;
    },
  };
  const c = new FollowerCatchUp({ zk, paths, clock, logger: silentLogger, host });
  // Two stall checks with no commit progress between them: the second finds it stalled.
  for (let k = 0; k < 2; k++) {
    clock.jump(clock.now() + 1000);
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
  await new Promise((r) => setTimeout(r, 10));
  c.stop();
  return { asked, otherReads, commit };
}

describe('a stalled follower far behind ZooKeeper', () => {
  it('loads the newest snapshot in ZooKeeper when it is far ahead, and reads no log it covers', async () => {
    const r = await stallOnce(100, 50_000, 50_000);
    expect(r.asked).toEqual([100 + PREFER_SNAPSHOT_BEHIND]);
    expect(r.commit).toBe(50_000);
    expect(r.otherReads).toEqual([]);
  });

  it('reads the log when ZooKeeper has no snapshot that far ahead', async () => {
    const r = await stallOnce(100, 50_000, null);
    expect(r.asked).toEqual([100 + PREFER_SNAPSHOT_BEHIND]);
    expect(r.otherReads.length).toBeGreaterThan(0);
  });

  it('reads the log without asking for a snapshot when only a little behind', async () => {
    const r = await stallOnce(100, 100 + PREFER_SNAPSHOT_BEHIND - 1, 50_000);
    expect(r.asked).toEqual([]);
    expect(r.otherReads.length).toBeGreaterThan(0);
  });
});
