// A leader whose publishes to ZooKeeper keep failing retries them a bounded number of times
// per term (bd54075): before, it retried every 5 s for as long as it led.
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { type SnapshotPoint, zeroChain } from '../../../src/common/snapshot-point.js';
import type { ZkSnapshotStore } from '../../../src/coordination/zk-snapshot-store.js';
import { defaultSnapshotPolicy, Snapshotter, type SnapshotObserver, type SnapshotterHost } from '../../../src/server/snapshotter.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { SessionTable } from '../../../src/statemachine/sessions.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import { ManualClock } from './manual-clock.js';

const point = (index: number): SnapshotPoint => ({ index, term: 1, chain: zeroChain() });

/** A ZooKeeper snapshot store that holds no snapshot and cannot be counted (every count fails). */
function unreachableStore(calls: { inspect: number }): ZkSnapshotStore {
  const fake = {
    chunkBytes: 256 * 1024,
    list: () => Promise.resolve([]),
    inspect: () => {
      calls.inspect++;
      return Promise.reject(new UnavailableError('ZooKeeper is not reachable (test)'));
    },
    upload: () => Promise.reject(new UnavailableError('ZooKeeper is not reachable (test)')),
    prune: () => Promise.resolve([]),
    compactWal: () => Promise.reject(new UnavailableError('ZooKeeper is not reachable (test)')),
    compactThrough: () => Promise.reject(new UnavailableError('ZooKeeper is not reachable (test)')),
    fetchNewest: () => Promise.resolve(null),
  };
  // The snapshotter uses only the methods above.
  return fake as unknown as ZkSnapshotStore;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('Snapshotter: publishes that keep failing', () => {
  it('are retried at most 6 times in a term, then left to the next snapshot; a new term retries again', async () => {
    const clock = new ManualClock();
    const calls = { inspect: 0 };
    const outcomes: string[] = [];
    const observer: SnapshotObserver = { snapshotTaken: () => undefined, snapshotPublished: (s) => void outcomes.push(s.outcome), snapshotInstalled: () => undefined };
    let epoch: number | null = 7;
    const storeAt = (index: number): KvStore => new KvStore({ data: new Map([['k', new Uint8Array([index])]]), sessions: new SessionTable(), appliedIndex: index, lastStampMs: 0 });
    let kv = storeAt(10);
    const host: SnapshotterHost = { kv: () => kv, pointAt: point, compactLocal: () => Promise.resolve(), leaderEpochVersion: () => epoch, install: () => true };
    const s = new Snapshotter({ storage: new MemorySnapshotStore({ cluster: 'c' }), zk: unreachableStore(calls), host, policy: defaultSnapshotPolicy, clock, logger: silentLogger, initial: null, observer });

    const taken = await s.takeAndPublish();
    expect(taken.publish).toMatch(/^failed/);
    // Ten minutes of leading with ZooKeeper unreachable.
    for (let t = 0; t < 600; t++) {
      clock.jump(clock.now() + 1000);
      await settle();
    }
    const failed = outcomes.filter((o) => o === 'failed').length;
    expect(failed).toBe(1 + 6);

    // A new term (another epoch version) may retry again, as many times.
    epoch = 9;
    kv = storeAt(20);
    expect((await s.takeAndPublish()).publish).toMatch(/^failed/);
    for (let t = 0; t < 600; t++) {
      clock.jump(clock.now() + 1000);
      await settle();
    }
    expect(outcomes.filter((o) => o === 'failed').length).toBeGreaterThan(failed);
    expect(outcomes.filter((o) => o === 'failed').length).toBeLessThanOrEqual(failed + 1 + 6);
    s.stop();
  });
});
