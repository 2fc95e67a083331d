// The ZooKeeper budget's ceiling (budget + a quarter): past it the leader holds the writes
// that add data (BUSY) until a publish compacts wal/ back under; below it, even over the
// budget itself, writes go on while the snapshots catch up.
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { type SnapshotPoint, zeroChain } from '../../../src/common/snapshot-point.js';
import type { ZkUsage } from '../../../src/coordination/zk-inspect.js';
import type { ZkSnapshotStore } from '../../../src/coordination/zk-snapshot-store.js';
import { defaultSnapshotPolicy, Snapshotter, type SnapshotterHost } from '../../../src/server/snapshotter.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { SessionTable } from '../../../src/statemachine/sessions.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import { ManualClock } from './manual-clock.js';

const MiB = 1024 * 1024;
const point = (index: number): SnapshotPoint => ({ index, term: 1, chain: zeroChain() });

/** A store whose count says wal/ holds `walBytes`, and whose uploads fail (nothing compacts). */
function storeHolding(walBytes: number): ZkSnapshotStore {
  const usage = { wal: { dataBytes: walBytes }, snapshots: [], groups: { snapshots: { dataBytes: 0 } } };
  const fake = {
    chunkBytes: 256 * 1024,
    list: () => Promise.resolve([]),
    // Only the fields the budget reads.
    inspect: () => Promise.resolve(usage as unknown as ZkUsage),
    upload: () => Promise.reject(new UnavailableError('ZooKeeper refused the upload (test)')),
    prune: () => Promise.resolve([]),
    compactWal: () => Promise.reject(new UnavailableError('test')),
    compactThrough: () => Promise.reject(new UnavailableError('test')),
    fetchNewest: () => Promise.resolve(null),
  };
  return fake as unknown as ZkSnapshotStore;
}

async function leaderCounted(walBytes: number): Promise<Snapshotter> {
  const kv = new KvStore({ data: new Map([['k', new Uint8Array([1])]]), sessions: new SessionTable(), appliedIndex: 10, lastStampMs: 0 });
  const host: SnapshotterHost = { kv: () => kv, pointAt: point, compactLocal: () => Promise.resolve(), leaderEpochVersion: () => 3, install: () => true };
  const s = new Snapshotter({
    storage: new MemorySnapshotStore({ cluster: 'c' }),
    zk: storeHolding(walBytes),
    host,
    policy: { ...defaultSnapshotPolicy, zkBudgetBytes: 64 * MiB },
    clock: new ManualClock(),
    logger: silentLogger,
    initial: null,
  });
  // The publish counts ZooKeeper first, then fails its upload.
  expect((await s.takeAndPublish()).publish).toMatch(/^failed/);
  return s;
}

describe('Snapshotter: the ZooKeeper budget ceiling', () => {
  it('past budget + 1/4 (80 MiB of a 64 MiB budget) the leader says why writes must wait', async () => {
    const s = await leaderCounted(90 * MiB);
    expect(s.ceilingReached()).toMatch(/over the 80\.0 MiB ceiling of its 64\.0 MiB budget/);
    s.stop();
  });

  it('over the budget but under its ceiling, writes go on', async () => {
    const s = await leaderCounted(70 * MiB);
    expect(s.ceilingReached()).toBeNull();
    s.stop();
  });
});
