// What snapshots make checkable, checked as it happens:
//   P1  a snapshot a node loads (at start, when installing one from its leader or from
//       ZooKeeper, when rebuilding from an empty disk) holds exactly the state a replica
//       has after applying ZooKeeper's log up to its index; so does every snapshot
//       uploaded to ZooKeeper (checked when its manifest is created, from the chunks then
//       in ZooKeeper). A snapshot a node makes durable is checked when it is used: loaded
//       (by itself at a restart, or by the follower it is offered to) or published (not
//       each as it is written: both nodes write one every few dozen entries, and one that
//       is never used cannot do harm).
//   P2  no such snapshot covers an index ZooKeeper's log does not hold (an uncommitted
//       one), and its term and chain value are those of ZooKeeper's entry at its index;
//   P3  compaction never deletes a segment of ZooKeeper's log that reaches past the newest
//       complete snapshot (a manifest whose chunks are all there).
import { createHash } from 'node:crypto';
import type { SnapshotPoint } from '../../../src/common/snapshot-point.js';
import { ClusterPaths, parseSegmentName, parseSnapshotName, SNAPSHOT_MANIFEST_NAME } from '../../../src/coordination/layout.js';
import { decodeSegment } from '../../../src/coordination/records.js';
import type { ZkOp } from '../../../src/coordination/zk-api.js';
import { chunkSizeAt, decodeChunk, decodeManifest, type ZkSnapshotManifest } from '../../../src/coordination/zk-snapshot-records.js';
import type { KvStore } from '../../../src/statemachine/kv-store.js';
import { type LoadedSnapshot, loadSnapshot } from '../../../src/statemachine/snapshot-loader.js';
import type { ZkModel } from '../zk-model.js';
import type { ZkLogView } from './invariants.js';
import { canonicalState, firstDifference, ReferenceStates } from './reference-states.js';
import type { SnapshotObserver } from './sim-snapshot-disk.js';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

const noYield = (): Promise<void> => Promise.resolve();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class SnapshotInvariants implements SnapshotObserver {
  readonly reference: ReferenceStates;
  private readonly paths: ClusterPaths;
  /** How many snapshots were checked, by what (a run reports them: a check that never runs proves nothing). */
  readonly counts = { loaded: 0, saved: 0, published: 0, compacted: 0 };

  constructor(
    private readonly zk: ZkLogView,
    private readonly model: ZkModel,
    private readonly cluster: string,
    private readonly fail: (message: string) => void,
    private readonly now: () => number,
  ) {
    this.paths = new ClusterPaths(cluster);
    this.reference = new ReferenceStates((i) => zk.entry(i));
    model.observeWrites((ops) => this.onWrite(ops));
  }

  loaded(who: string, loaded: LoadedSnapshot): void {
    this.counts.loaded++;
    this.check(`${who} loaded the snapshot at ${loaded.point.index}`, loaded.point, loaded.store);
  }

  saved(): void {
    this.counts.saved++;
  }

  /** The state of `store`, a snapshot at `point`, against the reference (P1, P2). */
  check(what: string, point: SnapshotPoint, store: KvStore): void {
    const at = `${what} (t=${this.now()})`;
    const problem = this.pointProblem(point);
    if (problem) {
      this.fail(`P2: ${at}: ${problem}`);
      return;
    }
    if (store.applied() !== point.index) this.fail(`P1: ${at}: its state machine has applied ${store.applied()}, not ${point.index}`);
    const reference = this.reference.at(point.index);
    if (reference === null) {
      this.fail(`P1: ${at}: the checker lacks ZooKeeper's entries up to ${point.index} to compare with`);
      return;
    }
    const mine = canonicalState(store);
    if (mine !== reference) this.fail(`P1: ${at}: its state differs from a replica that applied ZooKeeper's log up to ${point.index}, ${firstDifference(mine, reference)}`);
  }

  private checkBytes(what: string, point: SnapshotPoint, bytes: Uint8Array): void {
    loadSnapshot(what, once(bytes), { cluster: this.cluster, expectedPoint: point, yieldTurn: noYield }).then(
      (loaded) => this.check(what, point, loaded.store),
      (err: unknown) => this.fail(`P1: ${what} (t=${this.now()}): it does not load: ${(err as Error).message}`),
    );
  }

  private refreshLog(): void {
    const problems: string[] = [];
    this.zk.refresh(problems);
    for (const p of problems) this.fail(p);
  }

  /** Why `point` is not a committed point of ZooKeeper's log, or null. */
  private pointProblem(point: SnapshotPoint): string | null {
    this.refreshLog();
    const last = this.zk.lastIndex();
    if (point.index > last) return `it covers index ${point.index}, past ZooKeeper's log (last index ${last}): an uncommitted index`;
    const e = this.zk.entry(point.index);
    if (!e) return `the checker lacks ZooKeeper's entry ${point.index}`;
    if (e.term !== point.term) return `its term ${point.term} is not that of ZooKeeper's entry ${point.index} (term ${e.term})`;
    if (e.chain && !sameBytes(e.chain, point.chain)) return `its chain value is not that of ZooKeeper's entry ${point.index}`;
    return null;
  }

  /** Before the ZooKeeper leader applies a client's write: compaction (P3) and manifests (P1, P2). */
  private onWrite(ops: readonly ZkOp[]): ((ok: boolean) => void) | void {
    const problems: string[] = [];
    const manifests: ZkSnapshotManifest[] = [];
    let newestComplete: number | null = null;
    for (const op of ops) {
      if (op.type === 'delete' && op.path.startsWith(`${this.paths.wal}/`) && parseSegmentName(op.path.slice(this.paths.wal.length + 1)) !== null) {
        // Record its entries before they go (the checker reads ZooKeeper's log lazily, when a
        // commit index moves or a write is acknowledged; this is what keeps it complete).
        this.refreshLog();
        const data = this.model.dataOf(op.path);
        if (data === null) continue; // the delete fails
        const entries = decodeSegment(op.path, data).entries;
        const last = entries[entries.length - 1]?.index ?? 0;
        newestComplete ??= this.newestCompleteSnapshot();
        if (last > newestComplete) problems.push(`P3: compaction deletes ${op.path} (entries up to ${last}), past the newest complete snapshot in ZooKeeper (${newestComplete || 'none'}) (t=${this.now()})`);
        this.counts.compacted++;
      }
      if (op.type === 'create') {
        const index = this.manifestIndex(op.path);
        if (index !== null) {
          try {
            manifests.push(decodeManifest(op.path, op.data, index));
          } catch (err) {
            problems.push(`P1: a manifest that does not decode is created at ${op.path}: ${(err as Error).message}`);
          }
        }
      }
    }
    if (problems.length === 0 && manifests.length === 0) return;
    return (ok) => {
      if (!ok) return;
      for (const p of problems) this.fail(p);
      for (const m of manifests) this.checkPublished(m);
    };
  }

  /** A manifest was created: the chunks in ZooKeeper now must be the snapshot it names. */
  private checkPublished(m: ZkSnapshotManifest): void {
    this.counts.published++;
    const index = m.point.index;
    const what = `the snapshot at ${index} published to ZooKeeper by ${m.madeBy}`;
    const parts: Uint8Array[] = [];
    for (let n = 0; n < m.chunkCount; n++) {
      const path = this.paths.snapshotChunk(index, n);
      const data = this.model.dataOf(path);
      if (data === null) {
        this.fail(`P1: ${what} (t=${this.now()}): its chunk ${path} is missing as its manifest is created`);
        return;
      }
      parts.push(decodeChunk(path, data, index, n, chunkSizeAt(n, m.sizeBytes, m.chunkBytes)));
    }
    const bytes = new Uint8Array(Buffer.concat(parts));
    if (!sameBytes(createHash('sha256').update(bytes).digest(), m.sha256)) {
      this.fail(`P1: ${what} (t=${this.now()}): its chunks do not hash to the manifest's SHA-256`);
      return;
    }
    this.checkBytes(what, m.point, bytes);
  }

  /** The index of the snapshot whose manifest `path` is, or null. */
  private manifestIndex(path: string): number | null {
    const prefix = `${this.paths.snapshots}/`;
    if (!path.startsWith(prefix)) return null;
    const [dir, leaf, more] = path.slice(prefix.length).split('/');
    if (leaf !== SNAPSHOT_MANIFEST_NAME || more !== undefined || dir === undefined) return null;
    return parseSnapshotName(dir);
  }

  /** The newest snapshot in ZooKeeper whose manifest and chunks are all there (0: none). */
  private newestCompleteSnapshot(): number {
    let newest = 0;
    for (const name of this.model.childrenOf(this.paths.snapshots) ?? []) {
      const index = parseSnapshotName(name);
      if (index === null || index <= newest) continue;
      const manifestPath = this.paths.snapshotManifest(index);
      const data = this.model.dataOf(manifestPath);
      if (data === null) continue;
      let m: ZkSnapshotManifest;
      try {
        m = decodeManifest(manifestPath, data, index);
      } catch {
        continue;
      }
      let complete = true;
      for (let n = 0; n < m.chunkCount && complete; n++) complete = this.model.dataOf(this.paths.snapshotChunk(index, n)) !== null;
      if (complete) newest = index;
    }
    return newest;
  }
}
