// The znode tree of a model server: znodes, stats, and the ops of create, setData,
// delete and check with ZooKeeper's checks in ZooKeeper's order. Data arrays are never
// modified once given (the client copies what it sends; reads hand out copies), so the
// servers of an ensemble share them. Ops of one multi apply
// one after the other (a later op sees an earlier one's effect, as on the real server)
// and are undone together when one fails, so a multi is all or nothing.
//
// Two counters of children, as in ZooKeeper: the persisted `childrenCreated` (the
// server's internal cversion, bumped only by creates) names sequential znodes, and the
// cversion clients see is childrenCreated * 2 - numChildren, i.e. +1 per child created
// or deleted. (Measured on 3.8: create x, delete x, then a sequential create gets
// suffix 0000000001 and the parent then shows cversion 3. The root shows -1: it was
// given /zookeeper without a create.)
import type { ZkCreateMode, ZkErrorCode, ZkOp, ZkOpResult, ZkStat, ZkWatchEventType } from '../../../src/coordination/zk-api.js';
import { nameOf, parentOf, serverRefusesPath, specialPaths } from './paths.js';

/** A change to the tree, as the watches it triggers see it. */
export interface TreeChange {
  readonly type: ZkWatchEventType;
  readonly path: string;
}

interface Znode {
  data: Uint8Array;
  version: number;
  childrenCreated: number;
  readonly ephemeralOwner: string;
  mzxid: bigint;
  /** zxid of the last child created or deleted (restoring watches after a reconnect compares it). */
  pzxid: bigint;
  readonly children: Set<string>;
}

/** One znode as the simulator's invariant checks see it. `data` is the model's own copy: do not modify it. */
export interface ZnodeSnapshot {
  readonly data: Uint8Array;
  readonly version: number;
  readonly cversion: number;
  readonly ephemeralOwner: string;
  readonly mzxid: bigint;
}

export type OpsOutcome =
  | { readonly ok: true; readonly results: ZkOpResult[]; readonly changes: TreeChange[] }
  | { readonly ok: false; readonly failedOp: number; readonly code: ZkErrorCode };

type OpOutcome = { readonly ok: true; readonly result: ZkOpResult } | { readonly ok: false; readonly code: ZkErrorCode };

/** What a multi in progress must be able to take back, and the changes it will report. */
interface Pending {
  readonly undo: Array<() => void>;
  readonly changes: TreeChange[];
}

function isSequential(mode: ZkCreateMode): boolean {
  return mode === 'persistent_sequential' || mode === 'ephemeral_sequential';
}

function isEphemeral(mode: ZkCreateMode): boolean {
  return mode === 'ephemeral' || mode === 'ephemeral_sequential';
}

function fail(code: ZkErrorCode): OpOutcome {
  return { ok: false, code };
}

function versionMatches(actual: number, expected: number): boolean {
  return expected === -1 || actual === expected;
}

export class ZnodeTree {
  private readonly nodes = new Map<string, Znode>();
  private zxid = 0n;

  constructor() {
    // What a fresh ZooKeeper 3.8 server holds, none of it counted as created.
    this.nodes.set('/', emptyZnode(new Set(['zookeeper'])));
    this.nodes.set('/zookeeper', emptyZnode(new Set(['config', 'quota'])));
    this.nodes.set('/zookeeper/config', emptyZnode(new Set()));
    this.nodes.set('/zookeeper/quota', emptyZnode(new Set()));
  }

  /** The zxid of the last transaction. */
  lastZxid(): bigint {
    return this.zxid;
  }

  /** Starts a transaction. Every write request takes one, whether it succeeds or fails, as on the real server. */
  nextZxid(): bigint {
    this.zxid += 1n;
    return this.zxid;
  }

  stat(path: string): ZkStat | null {
    const node = this.nodes.get(path);
    return node ? statOf(node) : null;
  }

  data(path: string): { data: Uint8Array; stat: ZkStat } | null {
    const node = this.nodes.get(path);
    return node ? { data: new Uint8Array(node.data), stat: statOf(node) } : null;
  }

  /** Children names, sorted (the real wrapper sorts them), or null when the znode is missing. */
  children(path: string): string[] | null {
    const node = this.nodes.get(path);
    return node ? [...node.children].sort() : null;
  }

  mzxid(path: string): bigint | null {
    return this.nodes.get(path)?.mzxid ?? null;
  }

  pzxid(path: string): bigint | null {
    return this.nodes.get(path)?.pzxid ?? null;
  }

  /** Applies `ops` as one transaction `zxid`: all of them, or none and the first failure. */
  apply(ops: readonly ZkOp[], owner: string, zxid: bigint): OpsOutcome {
    const pending: Pending = { undo: [], changes: [] };
    const results: ZkOpResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const outcome = this.applyOne(ops[i]!, owner, zxid, pending);
      if (!outcome.ok) {
        for (let u = pending.undo.length - 1; u >= 0; u--) pending.undo[u]!();
        return { ok: false, failedOp: i, code: outcome.code };
      }
      results.push(outcome.result);
    }
    return { ok: true, results, changes: pending.changes };
  }

  /** Deletes every ephemeral znode of `owner` (a session ending) in transaction `zxid`. */
  deleteEphemerals(owner: string, zxid: bigint): TreeChange[] {
    const paths = [...this.nodes].filter(([, node]) => node.ephemeralOwner === owner).map(([path]) => path);
    const pending: Pending = { undo: [], changes: [] };
    for (const path of paths.sort()) this.remove(path, zxid, pending);
    return pending.changes;
  }

  /** One znode as a snapshot (its data is the tree's own: do not modify it), or null. */
  znode(path: string): ZnodeSnapshot | null {
    const node = this.nodes.get(path);
    return node ? { data: node.data, version: node.version, cversion: reportedCversion(node), ephemeralOwner: node.ephemeralOwner, mzxid: node.mzxid } : null;
  }

  snapshot(): Map<string, ZnodeSnapshot> {
    const out = new Map<string, ZnodeSnapshot>();
    for (const [path, node] of this.nodes) {
      out.set(path, { data: node.data, version: node.version, cversion: reportedCversion(node), ephemeralOwner: node.ephemeralOwner, mzxid: node.mzxid });
    }
    return out;
  }

  private applyOne(op: ZkOp, owner: string, zxid: bigint, pending: Pending): OpOutcome {
    switch (op.type) {
      case 'create':
        return this.create(op.path, op.data, op.mode, owner, zxid, pending);
      case 'setData':
        return this.setData(op.path, op.data, op.version, zxid, pending);
      case 'delete':
        return this.delete(op.path, op.version, zxid, pending);
      case 'check':
        return this.check(op.path, op.version);
    }
  }

  // The order of the checks in each op is ZooKeeper's (PrepRequestProcessor).

  private create(path: string, data: Uint8Array, mode: ZkCreateMode, owner: string, zxid: bigint, pending: Pending): OpOutcome {
    if (path.includes('\u0000')) return fail('BAD_ARGUMENTS');
    if (path === '/') return fail('NODE_EXISTS');
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!parent) return fail('NO_NODE');
    const created = isSequential(mode) ? `${path}${String(parent.childrenCreated).padStart(10, '0')}` : path;
    if (serverRefusesPath(created)) return fail('BAD_ARGUMENTS');
    if (this.nodes.has(created)) return fail('NODE_EXISTS');
    if (parent.ephemeralOwner !== '') return fail('NO_CHILDREN_FOR_EPHEMERALS');

    const name = nameOf(created);
    const before = { childrenCreated: parent.childrenCreated, pzxid: parent.pzxid };
    this.nodes.set(created, {
      data,
      version: 0,
      childrenCreated: 0,
      ephemeralOwner: isEphemeral(mode) ? owner : '',
      mzxid: zxid,
      pzxid: zxid,
      children: new Set(),
    });
    parent.children.add(name);
    parent.childrenCreated += 1;
    parent.pzxid = zxid;
    pending.undo.push(() => {
      this.nodes.delete(created);
      parent.children.delete(name);
      parent.childrenCreated = before.childrenCreated;
      parent.pzxid = before.pzxid;
    });
    pending.changes.push({ type: 'created', path: created }, { type: 'childrenChanged', path: parentPath });
    return { ok: true, result: { type: 'create', path: created } };
  }

  private setData(path: string, data: Uint8Array, version: number, zxid: bigint, pending: Pending): OpOutcome {
    if (serverRefusesPath(path)) return fail('BAD_ARGUMENTS');
    const node = this.nodes.get(path);
    if (!node) return fail('NO_NODE');
    if (!versionMatches(node.version, version)) return fail('BAD_VERSION');
    const before = { data: node.data, version: node.version, mzxid: node.mzxid };
    node.data = data;
    node.version += 1;
    node.mzxid = zxid;
    pending.undo.push(() => {
      node.data = before.data;
      node.version = before.version;
      node.mzxid = before.mzxid;
    });
    pending.changes.push({ type: 'dataChanged', path });
    return { ok: true, result: { type: 'setData', stat: statOf(node) } };
  }

  private delete(path: string, version: number, zxid: bigint, pending: Pending): OpOutcome {
    if (path.includes('\u0000') || specialPaths.has(path)) return fail('BAD_ARGUMENTS');
    if (!this.nodes.has(parentOf(path))) return fail('NO_NODE');
    const node = this.nodes.get(path);
    if (!node) return fail('NO_NODE');
    if (!versionMatches(node.version, version)) return fail('BAD_VERSION');
    if (node.children.size > 0) return fail('NOT_EMPTY');
    this.remove(path, zxid, pending);
    return { ok: true, result: { type: 'delete' } };
  }

  private check(path: string, version: number): OpOutcome {
    if (serverRefusesPath(path)) return fail('BAD_ARGUMENTS');
    const node = this.nodes.get(path);
    if (!node) return fail('NO_NODE');
    if (!versionMatches(node.version, version)) return fail('BAD_VERSION');
    return { ok: true, result: { type: 'check' } };
  }

  /** Removes an existing childless znode. */
  private remove(path: string, zxid: bigint, pending: Pending): void {
    const node = this.nodes.get(path);
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!node || !parent) throw new Error(`zk model: removing ${path}, which is not in the tree`);
    const name = nameOf(path);
    const parentPzxid = parent.pzxid;
    this.nodes.delete(path);
    parent.children.delete(name);
    parent.pzxid = zxid;
    pending.undo.push(() => {
      this.nodes.set(path, node);
      parent.children.add(name);
      parent.pzxid = parentPzxid;
    });
    pending.changes.push({ type: 'deleted', path }, { type: 'childrenChanged', path: parentPath });
  }
}

function emptyZnode(children: Set<string>): Znode {
  return { data: new Uint8Array(0), version: 0, childrenCreated: 0, ephemeralOwner: '', mzxid: 0n, pzxid: 0n, children };
}

function reportedCversion(node: Znode): number {
  return node.childrenCreated * 2 - node.children.size;
}

function statOf(node: Znode): ZkStat {
  return {
    version: node.version,
    cversion: reportedCversion(node),
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren: node.children.size,
    mzxid: node.mzxid,
  };
}
