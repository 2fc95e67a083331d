// Where everything of one cluster lives in ZooKeeper: /duoraft/<cluster>/...
// See notes/zookeeper.md for what each znode holds and who writes it.

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MEMBER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidClusterName(name: string): boolean {
  return CLUSTER_NAME.test(name);
}

export function isValidMemberId(id: string): boolean {
  return MEMBER_ID.test(id);
}

/** Segment znodes are named by their first index, zero-padded so names sort by index. */
const SEGMENT_PREFIX = 'seg-';
const INDEX_DIGITS = 20;

export function segmentName(firstIndex: number): string {
  return SEGMENT_PREFIX + String(firstIndex).padStart(INDEX_DIGITS, '0');
}

/** The first index a segment name stands for, or null for a name that is not a segment. */
export function parseSegmentName(name: string): number | null {
  if (!name.startsWith(SEGMENT_PREFIX)) return null;
  const digits = name.slice(SEGMENT_PREFIX.length);
  if (digits.length !== INDEX_DIGITS || !/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Snapshot directories are named by their index, zero-padded like segments. */
export function snapshotName(index: number): string {
  return String(index).padStart(INDEX_DIGITS, '0');
}

/** The index a snapshot directory name stands for, or null for anything else. */
export function parseSnapshotName(name: string): number | null {
  if (name.length !== INDEX_DIGITS || !/^\d+$/.test(name)) return null;
  const n = Number(name);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const CHUNK_PREFIX = 'chunk-';
const CHUNK_DIGITS = 6;
/** Chunk numbers a name can carry (6 digits). */
export const MAX_SNAPSHOT_CHUNKS = 10 ** CHUNK_DIGITS;
export const SNAPSHOT_MANIFEST_NAME = 'manifest';

export function chunkName(n: number): string {
  return CHUNK_PREFIX + String(n).padStart(CHUNK_DIGITS, '0');
}

/** The number a chunk name stands for, or null for anything else. */
export function parseChunkName(name: string): number | null {
  if (!name.startsWith(CHUNK_PREFIX)) return null;
  const digits = name.slice(CHUNK_PREFIX.length);
  if (digits.length !== CHUNK_DIGITS || !/^\d+$/.test(digits)) return null;
  return Number(digits);
}

export class ClusterPaths {
  readonly root: string;
  readonly epoch: string;
  readonly leader: string;
  readonly lease: string;
  readonly members: string;
  readonly config: string;
  readonly wal: string;
  readonly tail: string;
  readonly snapshots: string;
  /**
   * Exists while duoraft admin restore-zk writes the tree (and after a restore that was
   * interrupted): a node refuses to start on such a tree (cluster-init.ts).
   */
  readonly restoring: string;

  constructor(readonly cluster: string) {
    if (!isValidClusterName(cluster)) {
      throw new Error(`invalid cluster name ${JSON.stringify(cluster)}: use 1-64 letters, digits, '.', '_' or '-'`);
    }
    this.root = `/duoraft/${cluster}`;
    this.epoch = `${this.root}/epoch`;
    this.leader = `${this.root}/leader`;
    this.lease = `${this.root}/lease`;
    this.members = `${this.root}/members`;
    this.config = `${this.root}/config`;
    this.wal = `${this.root}/wal`;
    this.tail = `${this.root}/tail`;
    this.snapshots = `${this.root}/snapshots`;
    this.restoring = `${this.root}/restoring`;
  }

  member(id: string): string {
    return `${this.members}/${id}`;
  }

  segment(firstIndex: number): string {
    return `${this.wal}/${segmentName(firstIndex)}`;
  }

  /** The directory of the snapshot at index: its data is a SnapshotUpload record. */
  snapshot(index: number): string {
    return `${this.snapshots}/${snapshotName(index)}`;
  }

  snapshotChunk(index: number, n: number): string {
    return `${this.snapshot(index)}/${chunkName(n)}`;
  }

  snapshotManifest(index: number): string {
    return `${this.snapshot(index)}/${SNAPSHOT_MANIFEST_NAME}`;
  }
}
