// Review 10, finding 5: a local snapshot whose write finishes after a newer snapshot was
// installed (from the leader) must not become the one the node serves: as leader later it
// would offer a follower that needs more the older one, again and again.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { type SnapshotPoint, zeroChain } from '../../../src/common/snapshot-point.js';
import { defaultSnapshotPolicy, Snapshotter, type SnapshotterHost } from '../../../src/server/snapshotter.js';
import { SessionTable } from '../../../src/statemachine/sessions.js';
import { KvStore } from '../../../src/statemachine/kv-store.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import type { StateView } from '../../../src/statemachine/kv-store.js';
import { ManualClock } from './manual-clock.js';

const point = (index: number): SnapshotPoint => ({ index, term: 1, chain: zeroChain() });
const storeAt = (index: number): KvStore => new KvStore({ data: new Map([[`k${index}`, new Uint8Array([index])]]), sessions: new SessionTable(), appliedIndex: index, lastStampMs: 0 });

/** A store whose save waits until the test lets it finish. */
class GatedSaveStore extends MemorySnapshotStore {
  private release: (() => void) | null = null;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  open(): void {
    this.release?.();
  }
  override async save(p: SnapshotPoint, view: StateView): ReturnType<MemorySnapshotStore['save']> {
    await this.gate;
    return super.save(p, view);
  }
}

describe('Snapshotter: a slow local snapshot and an install', () => {
  it('the newer installed snapshot stays the one served; the older one is kept locally only', async () => {
    const storage = new GatedSaveStore({ cluster: 'c' });
    let kv = storeAt(10);
    const host: SnapshotterHost = {
      kv: () => kv,
      pointAt: point,
      compactLocal: () => Promise.resolve(),
      leaderEpochVersion: () => null,
      install: (_p, store) => {
        kv = store;
        return true;
      },
    };
    const s = new Snapshotter({ storage, zk: null, host, policy: defaultSnapshotPolicy, clock: new ManualClock(), logger: silentLogger, initial: null });
    const taking = s.takeNow();

    // Meanwhile the leader's snapshot at 20 arrives and is installed.
    const leader = new MemorySnapshotStore({ cluster: 'c' });
    const offered = await leader.save(point(20), storeAt(20).openView());
    const installed = await s.installFromChunks({ point: offered.point, sizeBytes: offered.sizeBytes, sha256: offered.sha256, source: 'leader' }, leader.chunks(offered, 1 << 20));
    expect(installed).toBe(true);
    expect(s.newest()?.point.index).toBe(20);

    storage.open();
    const older = await taking;
    expect(older.point.index).toBe(10);
    expect(s.newest()?.point.index).toBe(20);
    // What it serves to a follower is the newer one.
    await expect(s.readRange(10, older.sha256, 0, 16)).rejects.toThrow(/not the one this node serves/);
    expect((await s.readRange(20, offered.sha256, 0, 16)).length).toBeGreaterThan(0);
  });

  it('a snapshot asked for while one is being installed is refused with a clear error', async () => {
    const storage = new MemorySnapshotStore({ cluster: 'c' });
    const host: SnapshotterHost = { kv: () => storeAt(5), pointAt: point, compactLocal: () => Promise.resolve(), leaderEpochVersion: () => null, install: () => true };
    const s = new Snapshotter({ storage, zk: null, host, policy: defaultSnapshotPolicy, clock: new ManualClock(), logger: silentLogger, initial: null });
    let releaseChunks: (() => void) | null = null;
    const held = new Promise<void>((r) => (releaseChunks = r));
    async function* slowChunks(): AsyncGenerator<Uint8Array> {
      await held;
      yield new Uint8Array(0);
    }
    const install = s.installFromChunks({ point: point(30), sizeBytes: 0, sha256: '00', source: 'leader' }, slowChunks());
    await expect(s.takeNow()).rejects.toThrow(/installing a snapshot; try again/);
    releaseChunks!();
    await install.catch(() => undefined);
  });
});
