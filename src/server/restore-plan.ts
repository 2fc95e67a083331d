// Whether, and how, duoraft admin restore-zk may re-seed ZooKeeper from a data folder: a
// pure decision over what the folder(s) and ZooKeeper hold. Every refusal is a
// RestoreRefusedError saying why and what to do; some yield to --force after the operator
// checked by hand.
import { RestoreRefusedError } from '../common/errors.js';
import type { TreeFound } from '../coordination/cluster-restore.js';
import { sameChain } from '../core/chain.js';
import type { FolderReport } from './data-folder-report.js';

/** How the chosen folder compares with the other node's (--compare-data-dir). */
export interface FolderComparison {
  readonly otherDir: string;
  /** The index both chains were compared at (null: no index both folders know at or below both commit indexes). */
  readonly index: number | null;
  /** Whether the chain values there are equal (null: nothing compared). */
  readonly agree: boolean | null;
  readonly thisChain: Uint8Array | null;
  readonly otherChain: Uint8Array | null;
  /** Whether the other folder holds more: a committed entry past this one's end, or a more up-to-date log (Raft's order). */
  readonly otherAhead: boolean;
}

export interface RestoreDecision {
  /** The restored epoch's term: above every term the folder(s) and a tree of the same identity saw. */
  readonly epochTerm: number;
  /** What exists at the root and will be deleted first (null: nothing there). */
  readonly replaces: string | null;
  readonly comparison: FolderComparison | null;
  /** What may be lost or changed by the restore, for the operator to read before confirming. */
  readonly mayBeLost: readonly string[];
}

export interface RestoreInputs {
  readonly folder: FolderReport;
  readonly other: FolderReport | null;
  readonly tree: TreeFound;
  readonly force: boolean;
}

/** Compares two folders' chains at the highest index both know at or below both commit indexes. */
export function compareFolders(a: FolderReport, b: FolderReport): FolderComparison {
  const top = Math.min(a.commitIndex, b.commitIndex, a.lastIndex, b.lastIndex);
  const snapshotFloor = Math.max(a.snapshot?.point.index ?? 0, b.snapshot?.point.index ?? 0);
  let index: number | null = null;
  for (const candidate of [top, snapshotFloor]) {
    if (candidate <= top && a.chainAt(candidate) && b.chainAt(candidate)) {
      index = candidate;
      break;
    }
  }
  const thisChain = index === null ? null : a.chainAt(index)!;
  const otherChain = index === null ? null : b.chainAt(index)!;
  const otherAhead = b.commitIndex > a.lastIndex || b.lastTerm > a.lastTerm || (b.lastTerm === a.lastTerm && b.lastIndex > a.lastIndex);
  return {
    otherDir: b.dataDir,
    index,
    agree: thisChain && otherChain ? sameChain(thisChain, otherChain) : null,
    thisChain,
    otherChain,
    otherAhead,
  };
}

/** Decides, or throws RestoreRefusedError. */
export function decideRestore(i: RestoreInputs): RestoreDecision {
  const { folder, other, tree, force } = i;
  const id = folder.identity.clusterId;
  const forceHint = 'check by hand, then run again with --force to restore from this folder anyway';
  let comparison: FolderComparison | null = null;
  if (other) {
    if (other.identity.clusterId !== id) {
      throw new RestoreRefusedError('other-identity', `${other.dataDir} belongs to cluster identity ${other.identity.clusterId}, ${folder.dataDir} to ${id}: they are not two nodes of one cluster`);
    }
    comparison = compareFolders(folder, other);
    if (comparison.agree === false && !force) {
      throw new RestoreRefusedError(
        'chains-disagree',
        `the two folders' committed prefixes differ: the chain values at index ${comparison.index} are ${hex(comparison.thisChain)} (${folder.dataDir}) and ${hex(comparison.otherChain)} (${other.dataDir}). ` +
          `One of them holds an entry ZooKeeper never committed (a forged or diverged one), and restoring would make it committed; ${forceHint}`,
      );
    }
    if (comparison.otherAhead && !force) {
      throw new RestoreRefusedError(
        'other-folder-ahead',
        `${other.dataDir} holds more (last index ${other.lastIndex} of term ${other.lastTerm}, commit ${other.commitIndex}) than ${folder.dataDir} (last index ${folder.lastIndex} of term ${folder.lastTerm}): restore from it instead (swap --data-dir and --compare-data-dir), or ${forceHint}`,
      );
    }
  }
  if (tree.kind !== 'none' && (tree.members.length > 0 || tree.leader)) {
    const who = tree.members.length > 0 ? `members ${tree.members.join(', ')} are registered` : 'a leader znode exists';
    throw new RestoreRefusedError('nodes-registered', `${who} in ZooKeeper: nodes are running against it. Stop the nodes first (every voter and listener of the cluster), then run restore-zk again`);
  }
  let replaces: string | null = null;
  let lostFromTree: string | null = null;
  let treeTerm = 0;
  if (tree.kind === 'unreadable') {
    if (!force) throw new RestoreRefusedError('foreign-tree', `ZooKeeper holds a tree at the cluster's root whose identity does not verify (${tree.problem}): it may belong to something else; ${forceHint} (the tree is deleted first)`);
    replaces = `a tree whose identity does not verify (${tree.problem})`;
  } else if (tree.kind === 'tree' && tree.identity.clusterId !== id) {
    const holdsData = tree.state === null || tree.state.tail.lastIndex > 0 || tree.snapshots > 0;
    if (holdsData && !force) {
      throw new RestoreRefusedError(
        'foreign-tree',
        `ZooKeeper holds a tree of another identity (${tree.identity.clusterId}) with data (${tree.state ? `tail at index ${tree.state.tail.lastIndex}, ${tree.snapshots} snapshots` : tree.problem}): another cluster of the same name may be using it; ${forceHint} (the tree is deleted first)`,
      );
    }
    replaces = `a tree of another identity (${tree.identity.clusterId}${holdsData ? ', holding data' : ', empty: created by a node that started with an empty data folder'})`;
  } else if (tree.kind === 'tree') {
    if (tree.state) treeTerm = tree.state.epoch.term;
    if (tree.restoring) replaces = 'a restore that did not finish (the restoring marker is there)';
    else if (tree.state === null) replaces = `a partial tree of this identity (${tree.problem})`;
    else if (tree.state.tail.lastIndex >= folder.commitIndex) {
      if (!force) {
        throw new RestoreRefusedError(
          'nothing-to-restore',
          `ZooKeeper holds a live tree of this cluster (identity ${id}) whose tail (index ${tree.state.tail.lastIndex}) is at or beyond this folder's commit index ${folder.commitIndex}: it lost nothing this folder knows. Start the nodes; they catch up from it ` +
            `(to rewrite a tree whose segments do not verify, CORRUPT_ZNODE at start, run again with --force)`,
        );
      }
      replaces = `a live tree of this identity (tail at index ${tree.state.tail.lastIndex}), replaced because of --force`;
      if (tree.state.tail.lastIndex > folder.lastIndex) lostFromTree = `--force: ZooKeeper's entries ${folder.lastIndex + 1}..${tree.state.tail.lastIndex} are not in this folder and are lost.`;
    } else replaces = `a tree of this identity whose tail (index ${tree.state.tail.lastIndex}) is below this folder's commit index ${folder.commitIndex}: ZooKeeper lost data`;
  }
  const mayBeLost = [
    `Writes ZooKeeper acknowledged after index ${folder.lastIndex} (this folder's last) cannot be known from this folder: they are lost unless another node's folder holds them${other ? '' : ' (compare with --compare-data-dir)'}.`,
  ];
  if (lostFromTree) mayBeLost.push(lostFromTree);
  if (folder.lastIndex > folder.commitIndex) {
    mayBeLost.push(`Entries ${folder.commitIndex + 1}..${folder.lastIndex} are in this folder but not known to have been committed: the restore commits them (a client that got no answer for one may find it applied).`);
  }
  if (other && comparison?.agree === null) mayBeLost.push(`The two folders share no index at or below both commit indexes, so their chains could not be compared.`);
  if (other && force && (comparison?.agree === false || comparison?.otherAhead)) mayBeLost.push(`--force: restoring from ${folder.dataDir} although ${comparison.agree === false ? 'the folders disagree' : `${other.dataDir} holds more`}; the other node will set its log aside and rebuild.`);
  mayBeLost.push(...folder.warnings.map((w) => `In this folder: ${w}.`));
  const epochTerm = Math.max(folder.maxTerm, other?.maxTerm ?? 0, treeTerm) + 1;
  return { epochTerm, replaces, comparison, mayBeLost };
}

function hex(c: Uint8Array | null): string {
  return c ? Buffer.from(c).toString('hex') : '(none)';
}
