// When restore-zk writes and when it refuses (RESTORE_REFUSED with a reason), over made-up
// folder reports and what ZooKeeper holds. Among them notes/fuzz.md finding 3: a folder
// whose commit index rests on a forged entry disagrees with the other folder's chain there.
import { describe, expect, it } from 'vitest';
import { RestoreRefusedError } from '../../../src/common/errors.js';
import type { TreeFound } from '../../../src/coordination/cluster-restore.js';
import type { ClusterState } from '../../../src/coordination/cluster-init.js';
import type { FolderReport } from '../../../src/server/data-folder-report.js';
import { decideRestore, type RestoreInputs } from '../../../src/server/restore-plan.js';

const ID = 'ab'.repeat(16);
const chainOf = (index: number, salt = ''): Uint8Array => new Uint8Array(Buffer.from(`${index}${salt}`.padEnd(16, '.').slice(0, 16)));

function folder(o: { dir?: string; id?: string; commit: number; last: number; lastTerm?: number; maxTerm?: number; forgedFrom?: number; snapshot?: number }): FolderReport {
  const snap = o.snapshot ?? 0;
  return {
    dataDir: o.dir ?? '/data/a',
    identity: { cluster: 'c', clusterId: o.id ?? ID, createdAtMs: 0 },
    snapshot: snap > 0 ? { point: { index: snap, term: 1, chain: chainOf(snap) }, file: 'f', sizeBytes: 1, sha256: '' } : null,
    skippedSnapshots: [],
    hardState: { term: o.lastTerm ?? 2, commit: o.commit },
    commitIndex: o.commit,
    lastIndex: o.last,
    lastTerm: o.lastTerm ?? 2,
    maxTerm: o.maxTerm ?? o.lastTerm ?? 2,
    entries: [],
    warnings: [],
    chainAt: (i) => (i >= snap && i <= o.last ? chainOf(i, o.forgedFrom !== undefined && i >= o.forgedFrom ? 'forged' : '') : undefined),
  };
}

function liveTree(tail: number, o: { id?: string; members?: string[]; epochTerm?: number; snapshots?: number } = {}): TreeFound {
  const state = { identity: { cluster: 'c', clusterId: o.id ?? ID, createdAtMs: 0 }, epoch: { term: o.epochTerm ?? 1, leaderId: 'a', version: 3 }, tail: { lastIndex: tail, term: 1, version: 4 } } as unknown as ClusterState;
  return { kind: 'tree', identity: state.identity, restoring: false, state, problem: null, members: o.members ?? [], leader: false, snapshots: o.snapshots ?? 0 };
}

const NONE: TreeFound = { kind: 'none' };

function refusal(i: RestoreInputs): string {
  try {
    decideRestore(i);
  } catch (err) {
    if (err instanceof RestoreRefusedError) return err.reason;
    throw err;
  }
  return 'none';
}

describe('decideRestore', () => {
  it('nothing in ZooKeeper: writes, at an epoch term above every term seen, and says what may be lost', () => {
    const d = decideRestore({ folder: folder({ commit: 90, last: 100, maxTerm: 7 }), other: folder({ dir: '/data/b', commit: 80, last: 85, maxTerm: 9 }), tree: NONE, force: false });
    expect(d.epochTerm).toBe(10);
    expect(d.replaces).toBeNull();
    expect(d.comparison).toMatchObject({ index: 80, agree: true, otherAhead: false });
    expect(d.mayBeLost.join('\n')).toContain('after index 100 (this folder\'s last) cannot be known');
    expect(d.mayBeLost.join('\n')).toContain('Entries 91..100 are in this folder but not known to have been committed');
  });

  it('refuses while nodes are registered, whatever --force says', () => {
    expect(refusal({ folder: folder({ commit: 10, last: 10 }), other: null, tree: liveTree(3, { members: ['a'] }), force: true })).toBe('nodes-registered');
  });

  it('refuses a live tree of the same identity that holds everything the folder knows committed', () => {
    expect(refusal({ folder: folder({ commit: 10, last: 12 }), other: null, tree: liveTree(10), force: false })).toBe('nothing-to-restore');
    // --force rewrites it (a tree whose segments do not verify), saying what only ZooKeeper held.
    const forced = decideRestore({ folder: folder({ commit: 10, last: 12 }), other: null, tree: liveTree(15), force: true });
    expect(forced.replaces).toContain('--force');
    expect(forced.mayBeLost.join('\n')).toContain("ZooKeeper's entries 13..15 are not in this folder and are lost");
    // A tail below the commit index: ZooKeeper lost data; the tree is replaced.
    const d = decideRestore({ folder: folder({ commit: 10, last: 12, maxTerm: 2 }), other: null, tree: liveTree(4, { epochTerm: 6 }), force: false });
    expect(d.replaces).toContain('below this folder\'s commit index');
    expect(d.epochTerm).toBe(7);
  });

  it('replaces an empty tree of another identity, refuses one with data unless --force, and an unreadable root unless --force', () => {
    const other = 'cd'.repeat(16);
    expect(decideRestore({ folder: folder({ commit: 5, last: 5 }), other: null, tree: liveTree(0, { id: other }), force: false }).replaces).toContain('another identity');
    expect(refusal({ folder: folder({ commit: 5, last: 5 }), other: null, tree: liveTree(1, { id: other }), force: false })).toBe('foreign-tree');
    expect(refusal({ folder: folder({ commit: 5, last: 5 }), other: null, tree: liveTree(0, { id: other, snapshots: 1 }), force: false })).toBe('foreign-tree');
    expect(refusal({ folder: folder({ commit: 5, last: 5 }), other: null, tree: liveTree(1, { id: other }), force: true })).toBe('none');
    const unreadable: TreeFound = { kind: 'unreadable', problem: 'XXXX', members: [], leader: false };
    expect(refusal({ folder: folder({ commit: 5, last: 5 }), other: null, tree: unreadable, force: false })).toBe('foreign-tree');
    expect(refusal({ folder: folder({ commit: 5, last: 5 }), other: null, tree: unreadable, force: true })).toBe('none');
  });

  it('a restoring marker or a partial tree of the same identity is replaced', () => {
    const t = liveTree(0);
    const marker: TreeFound = t.kind === 'tree' ? { ...t, restoring: true, state: null } : t;
    expect(decideRestore({ folder: folder({ commit: 5, last: 5 }), other: null, tree: marker, force: false }).replaces).toContain('did not finish');
    const partial: TreeFound = t.kind === 'tree' ? { ...t, state: null, problem: 'corrupt znode tail' } : t;
    expect(decideRestore({ folder: folder({ commit: 5, last: 5 }), other: null, tree: partial, force: false }).replaces).toContain('partial tree');
  });

  it('finding 3: a folder whose commit rests on a forged entry disagrees with the other folder at that index; refused unless --force', () => {
    // The follower counted a forged entry 50 as committed; the leader's entry 50 was the real one.
    const forged = folder({ dir: '/data/b', commit: 50, last: 50, forgedFrom: 50 });
    const real = folder({ dir: '/data/a', commit: 50, last: 50 });
    expect(refusal({ folder: forged, other: real, tree: NONE, force: false })).toBe('chains-disagree');
    expect(refusal({ folder: real, other: forged, tree: NONE, force: false })).toBe('chains-disagree');
    const d = decideRestore({ folder: real, other: forged, tree: NONE, force: true });
    expect(d.comparison).toMatchObject({ index: 50, agree: false });
    expect(d.mayBeLost.join('\n')).toContain('--force');
  });

  it('refuses a folder behind the other one (more entries, a later term, or committed entries it lacks) unless --force', () => {
    const a = folder({ commit: 40, last: 40, lastTerm: 2 });
    expect(refusal({ folder: a, other: folder({ dir: '/b', commit: 40, last: 45, lastTerm: 2 }), tree: NONE, force: false })).toBe('other-folder-ahead');
    expect(refusal({ folder: a, other: folder({ dir: '/b', commit: 30, last: 35, lastTerm: 3 }), tree: NONE, force: false })).toBe('other-folder-ahead');
    expect(refusal({ folder: a, other: folder({ dir: '/b', commit: 40, last: 45, lastTerm: 2 }), tree: NONE, force: true })).toBe('none');
    expect(refusal({ folder: a, other: folder({ dir: '/b', commit: 30, last: 35, lastTerm: 2 }), tree: NONE, force: false })).toBe('none');
  });

  it('refuses two folders of different identities', () => {
    expect(refusal({ folder: folder({ commit: 1, last: 1 }), other: folder({ dir: '/b', id: 'ef'.repeat(16), commit: 1, last: 1 }), tree: NONE, force: true })).toBe('other-identity');
  });

  it('compares at the newer snapshot when one folder holds no entry at the lower commit index', () => {
    // a: snapshot at 60, log to 80 (commit 80); b: snapshot at 20, log to 70 (commit 70) -> compared at 70.
    const d = decideRestore({ folder: folder({ commit: 80, last: 80, snapshot: 60 }), other: folder({ dir: '/b', commit: 70, last: 70, snapshot: 20 }), tree: NONE, force: false });
    expect(d.comparison).toMatchObject({ index: 70, agree: true });
    // b's log ends below a's snapshot: nothing in common at or below both commits.
    const e = decideRestore({ folder: folder({ commit: 80, last: 80, snapshot: 60 }), other: folder({ dir: '/b', commit: 50, last: 50, snapshot: 20 }), tree: NONE, force: false });
    expect(e.comparison).toMatchObject({ index: null, agree: null });
    expect(e.mayBeLost.join('\n')).toContain('could not be compared');
  });
});
