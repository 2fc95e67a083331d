// restore-zk's writes go through the nodes' own code: the tree a restore leaves reads back
// exactly as a node reads a tree (readClusterState, readCommittedEntries, the snapshot
// list), a half-written one (the restoring marker) is refused by a starting node, and the
// inspection tells the cases apart.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ZkDataLostError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ensureClusterTree, readClusterState } from '../../../src/coordination/cluster-init.js';
import { deleteTree, inspectTree, RESTORE_LEADER, writeRestoredTree, type RestoredTree } from '../../../src/coordination/cluster-restore.js';
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeWalHead, encodeIdentity, encodeMember } from '../../../src/coordination/records.js';
import { readCommittedEntries } from '../../../src/coordination/zk-log-reader.js';
import { listCompleteSnapshots } from '../../../src/coordination/zk-snapshot-list.js';
import { realClock } from '../../../src/common/real-clock.js';
import { chainedLog } from './chained-entries.js';
import { ScriptedZk } from './scripted-zk.js';

const paths = new ClusterPaths('restored');
const identity = { cluster: 'restored', clusterId: 'ab'.repeat(16), createdAtMs: 1 };

function tree(o: { fromIndex: number; last: number; withSnapshot: boolean }): RestoredTree {
  const log = chainedLog(Array(o.last).fill(3));
  const bytes = new TextEncoder().encode('the snapshot file bytes');
  const snap = log[o.fromIndex - 1]!;
  return {
    identity,
    epochTerm: 4,
    voters: ['a', 'b'],
    entries: log.slice(o.fromIndex - 1),
    snapshot: o.withSnapshot
      ? {
          point: { index: snap.index, term: snap.term, chain: snap.chain },
          sizeBytes: bytes.length,
          sha256: new Uint8Array(createHash('sha256').update(bytes).digest()),
          chunks: async function* () {
            yield bytes;
          },
        }
      : null,
  };
}

const options = (zk: ScriptedZk) => ({ zk, paths, clock: realClock, logger: silentLogger, maxSegmentBytes: 64 });

describe('writeRestoredTree', () => {
  it('leaves a tree a node reads as whole: identity, epoch above the folder, the log from the snapshot on, the snapshot, no marker', async () => {
    const zk = new ScriptedZk();
    const t = tree({ fromIndex: 40, last: 100, withSnapshot: true });
    await writeRestoredTree(options(zk), t);
    const state = await readClusterState(zk, paths);
    expect(state.identity).toEqual(identity);
    expect(state.epoch).toMatchObject({ term: 4, leaderId: RESTORE_LEADER, version: 1 });
    expect(state.tail.lastIndex).toBe(100);
    expect(state.leaseVersion).toBe(1);
    // Small segments (64 bytes of entry data): many multis, chained on the tail's version.
    expect(state.tail.version).toBeGreaterThan(5);
    expect(decodeWalHead(paths.wal, zk.tree.get(paths.wal)!.data)).toEqual({ firstSegmentIndex: 40, snapshotIndex: 40 });
    const entries = await readCommittedEntries(zk, paths, 39, 100);
    expect(entries.map((e) => e.index)).toEqual(t.entries.map((e) => e.index));
    expect(entries.map((e) => Buffer.from(e.chain!).toString('hex'))).toEqual(t.entries.map((e) => Buffer.from(e.chain).toString('hex')));
    const snapshots = await listCompleteSnapshots(zk, paths, silentLogger);
    expect(snapshots.map((m) => m.point.index)).toEqual([40]);
    expect(zk.tree.has(paths.restoring)).toBe(false);
    // A ZooKeeper that lost everything has no /duoraft: the restore makes it first.
    expect(zk.tree.has('/duoraft')).toBe(true);
    expect(zk.calls.findIndex((c) => c === 'multi create /duoraft')).toBeLessThan(zk.calls.findIndex((c) => c.startsWith(`multi create ${paths.root},`)));
    // And a node of this identity starts on it.
    await expect(ensureClusterTree(zk, paths, { identity, holdsData: true })).resolves.toMatchObject({ identity });
  });

  it('a log from index 1 without a snapshot keeps the wal head empty (never compacted)', async () => {
    const zk = new ScriptedZk();
    await writeRestoredTree(options(zk), tree({ fromIndex: 1, last: 10, withSnapshot: false }));
    expect(zk.tree.get(paths.wal)!.data.length).toBe(0);
    expect((await readCommittedEntries(zk, paths, 0, 10)).length).toBe(10);
  });

  it('a restore that stops half way leaves the marker, and a starting node refuses the tree with ZK_DATA_LOST', async () => {
    const zk = new ScriptedZk();
    // The snapshot's bytes do not match its digest: the upload refuses, the marker stays.
    const t = tree({ fromIndex: 5, last: 20, withSnapshot: true });
    const broken: RestoredTree = { ...t, snapshot: { ...t.snapshot!, sha256: new Uint8Array(32) } };
    await expect(writeRestoredTree(options(zk), broken)).rejects.toThrow(/SHA-256/);
    expect(zk.tree.has(paths.restoring)).toBe(true);
    const err = await ensureClusterTree(zk, paths, { identity, holdsData: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkDataLostError);
    expect((err as Error).message).toContain(`${paths.restoring} exists`);
    const found = await inspectTree(zk, paths);
    expect(found).toMatchObject({ kind: 'tree', restoring: true });
  });

  it('refuses to write over an existing root (NODE_EXISTS), changing nothing', async () => {
    const zk = new ScriptedZk();
    zk.put(paths.root, encodeIdentity(identity), 0);
    await expect(writeRestoredTree(options(zk), tree({ fromIndex: 1, last: 3, withSnapshot: false }))).rejects.toMatchObject({ code: 'NODE_EXISTS' });
    expect([...zk.tree.keys()].sort()).toEqual(['/duoraft', paths.root]);
  });
});

describe('inspectTree and deleteTree', () => {
  it('tells nothing, an unreadable root, and a tree with registered members apart; deleteTree removes children before the root', async () => {
    const zk = new ScriptedZk();
    expect(await inspectTree(zk, paths)).toEqual({ kind: 'none' });
    zk.put(paths.root, new TextEncoder().encode('XXXX'), 0);
    expect(await inspectTree(zk, paths)).toMatchObject({ kind: 'unreadable' });
    zk.tree.clear();
    await writeRestoredTree(options(zk), tree({ fromIndex: 1, last: 5, withSnapshot: false }));
    zk.put(paths.member('a'), encodeMember({ id: 'a', address: '127.0.0.1:1', kind: 'voter' }), 0, zk.sessionId);
    const found = await inspectTree(zk, paths);
    expect(found).toMatchObject({ kind: 'tree', restoring: false, members: ['a'], leader: false, snapshots: 0 });
    expect(found.kind === 'tree' && found.state?.tail.lastIndex).toBe(5);
    const before = zk.tree.size - 1;
    expect(await deleteTree(zk, paths.root)).toBe(before);
    expect([...zk.tree.keys()]).toEqual(['/duoraft']);
  });
});
