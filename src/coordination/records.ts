// Encoding and validation of what duoraft keeps in znodes. A znode that does not decode,
// or decodes to nonsense, is reported as CorruptZnodeError naming its path: nothing is
// guessed and nothing is overwritten.
import { CorruptZnodeError } from '../common/errors.js';
import { pb } from '../common/proto.js';
import { CHAIN_BYTES } from '../core/chain.js';
import { type ChainedEntry, EntryType, type NodeId } from '../core/types.js';
import { crc32c } from '../storage/crc32c.js';

/** 2: every entry carries its hash chain value. */
export const SEGMENT_FORMAT_VERSION = 2;

/**
 * ZooKeeper refuses (by dropping the connection) any packet over jute.maxbuffer, 1 MiB - 1
 * by default, and a multi carries the segment, the tail record, three paths and headers.
 * Segments stay at or under this, which leaves more than 60 KiB for the rest (R5).
 */
export const MAX_SEGMENT_ZNODE_BYTES = 960 * 1024;
/** What one entry adds to an encoded segment beyond its data (index, term, type, framing), rounded up. */
export const SEGMENT_ENTRY_OVERHEAD_BYTES = 32;

export interface EpochRecord {
  readonly term: number;
  readonly leaderId: NodeId;
}

export interface TailRecord {
  readonly term: number;
  readonly lastIndex: number;
  readonly segmentFirstIndex: number;
}

export interface LeaseRecord {
  readonly term: number;
  readonly leaderId: NodeId;
  readonly seq: number;
  /** The leader's lease duration in ms (0: none published). */
  readonly durationMs: number;
  /** The clock drift bound the leader assumes (a fraction, e.g. 0.05). */
  readonly driftBound: number;
  /**
   * The leader's last record before a leadership transfer, written after its lease had
   * ended: no lease read is answered under it. A follower told to take over skips the lease
   * window only when the znode is at the version its TimeoutNow names and says this
   * (src/core/hand-over.ts). Absent in ordinary touches and in records written before it
   * existed: not relinquished.
   */
  readonly relinquished?: boolean;
}

/** Lease durations a record may publish: longer ones are refused as corrupt. */
export const MAX_LEASE_DURATION_MS = 60_000;

export interface LeaderRecord {
  readonly id: NodeId;
  readonly term: number;
  readonly address: string;
}

export interface MemberRecord {
  readonly id: NodeId;
  /** Where clients reach the member. */
  readonly address: string;
  readonly kind: 'voter' | 'listener';
  /** Where its peers reach it (defaults to address). */
  readonly peerAddress?: string;
}

export interface ConfigRecord {
  readonly voters: readonly NodeId[];
  readonly listeners: readonly NodeId[];
}

export interface SegmentRecord {
  readonly term: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /**
   * The first index of the segment before this one (its last index is firstIndex - 1).
   * 0: none (firstIndex is 1) or unknown (written before back-links existed, or by a
   * mirror that did not know where the tail's segment starts).
   */
  readonly prevFirstIndex: number;
  readonly entries: readonly ChainedEntry[];
}

/** Where the log kept in ZooKeeper starts: the data of the wal znode. */
export interface WalHeadRecord {
  /** The first index of the oldest segment still present; entries before it are gone. */
  readonly firstSegmentIndex: number;
  /** The snapshot whose manifest allowed the last compaction (0: never compacted). */
  readonly snapshotIndex: number;
}

/** What an empty wal znode (a cluster never compacted) means: the log starts at segment 1. */
export const UNCOMPACTED_WAL_HEAD: WalHeadRecord = { firstSegmentIndex: 1, snapshotIndex: 0 };

function decodeWith<T>(path: string, data: Uint8Array, decode: (d: Uint8Array) => T): T {
  try {
    return decode(data);
  } catch (err) {
    throw new CorruptZnodeError(path, `cannot decode: ${(err as Error).message}`, { cause: err });
  }
}

function check(path: string, ok: boolean, reason: string): void {
  if (!ok) throw new CorruptZnodeError(path, reason);
}

/** The format of the sealed small records (Sealed in proto/wal.proto). */
export const SEALED_FORMAT_VERSION = 1;

export type SealedKind = 'identity' | 'epoch' | 'tail' | 'lease' | 'leader' | 'member' | 'config' | 'wal-head' | 'snapshot-upload';

/** Wraps a record's bytes with its kind, format version and checksum. */
export function seal(kind: SealedKind, body: Uint8Array): Uint8Array {
  return pb.wal.Sealed.encode({ kind, formatVersion: SEALED_FORMAT_VERSION, crc32c: crc32c(body), body }).finish();
}

/** The body of a sealed record of `kind`, verified; anything else is CorruptZnodeError naming the path. */
export function unseal(path: string, kind: SealedKind, data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new CorruptZnodeError(path, `empty: expected a sealed ${kind} record`);
  const m = decodeWith(path, data, (d) => pb.wal.Sealed.decode(d));
  check(path, m.kind === kind, `holds a ${JSON.stringify(m.kind ?? '')} record, expected ${kind}`);
  check(path, m.formatVersion === SEALED_FORMAT_VERSION, `unknown format version ${m.formatVersion} of a ${kind} record`);
  const body = m.body ?? new Uint8Array(0);
  check(path, crc32c(body) === m.crc32c, `checksum mismatch in the ${kind} record`);
  return body;
}

export interface ClusterIdentity {
  readonly cluster: string;
  /** 32 hex digits. */
  readonly clusterId: string;
  readonly createdAtMs: number;
}

const CLUSTER_ID = /^[0-9a-f]{32}$/;

export function encodeIdentity(r: ClusterIdentity): Uint8Array {
  return seal('identity', pb.wal.ClusterIdentity.encode({ cluster: r.cluster, clusterId: r.clusterId, createdAtMs: r.createdAtMs }).finish());
}

export function decodeIdentity(path: string, data: Uint8Array): ClusterIdentity {
  const m = decodeWith(path, unseal(path, 'identity', data), (d) => pb.wal.ClusterIdentity.decode(d));
  const r = { cluster: m.cluster ?? '', clusterId: m.clusterId ?? '', createdAtMs: m.createdAtMs ?? 0 };
  check(path, CLUSTER_ID.test(r.clusterId), 'the cluster identity is not 32 hex digits');
  return r;
}

export function encodeEpoch(r: EpochRecord): Uint8Array {
  return seal('epoch', pb.wal.EpochRecord.encode({ term: r.term, leaderId: r.leaderId }).finish());
}

export function decodeEpoch(path: string, data: Uint8Array): EpochRecord {
  const m = decodeWith(path, unseal(path, 'epoch', data), (d) => pb.wal.EpochRecord.decode(d));
  const r = { term: m.term ?? 0, leaderId: m.leaderId ?? '' };
  check(path, Number.isSafeInteger(r.term) && r.term >= 0, `bad term ${r.term}`);
  check(path, r.term === 0 || r.leaderId !== '', 'a term without a leader');
  return r;
}

export function encodeTail(r: TailRecord): Uint8Array {
  return seal('tail', pb.wal.TailRecord.encode({ term: r.term, lastIndex: r.lastIndex, segmentFirstIndex: r.segmentFirstIndex }).finish());
}

export function decodeTail(path: string, data: Uint8Array): TailRecord {
  const m = decodeWith(path, unseal(path, 'tail', data), (d) => pb.wal.TailRecord.decode(d));
  const r = { term: m.term ?? 0, lastIndex: m.lastIndex ?? 0, segmentFirstIndex: m.segmentFirstIndex ?? 0 };
  check(path, Number.isSafeInteger(r.lastIndex) && r.lastIndex >= 0, `bad last index ${r.lastIndex}`);
  check(path, r.segmentFirstIndex <= r.lastIndex, `segment ${r.segmentFirstIndex} after last index ${r.lastIndex}`);
  return r;
}

export function encodeLease(r: LeaseRecord): Uint8Array {
  return seal(
    'lease',
    pb.wal.LeaseRecord.encode({
      term: r.term,
      leaderId: r.leaderId,
      seq: r.seq,
      durationMs: r.durationMs,
      driftBoundPpm: Math.round(r.driftBound * 1e6),
      relinquished: r.relinquished === true,
    }).finish(),
  );
}

export function decodeLease(path: string, data: Uint8Array): LeaseRecord {
  const m = decodeWith(path, unseal(path, 'lease', data), (d) => pb.wal.LeaseRecord.decode(d));
  const r = {
    term: m.term ?? 0,
    leaderId: m.leaderId ?? '',
    seq: m.seq ?? 0,
    durationMs: m.durationMs ?? 0,
    driftBound: (m.driftBoundPpm ?? 0) / 1e6,
    relinquished: m.relinquished === true,
  };
  check(path, r.durationMs <= MAX_LEASE_DURATION_MS, `lease duration ${r.durationMs} ms over ${MAX_LEASE_DURATION_MS}`);
  check(path, r.driftBound < 0.5, `drift bound ${r.driftBound} not below 0.5`);
  check(path, r.term === 0 || r.durationMs > 0, 'a lease of a term without a duration');
  return r;
}

/**
 * The least a follower must see a lease unchanged before it may take over, for a leader
 * that published `durationMs` and `driftBound` (notes/timing.md): the leader's lease ends
 * at most D(1+ρ) after the observation in real time, and a window W passes at least
 * W(1−ρ) after it, so W > D(1+ρ)/(1−ρ). ρ is the larger of the two drift bounds.
 */
export function leaseWindowFor(record: LeaseRecord, ownDriftBound: number): number {
  const rho = Math.max(record.driftBound, ownDriftBound);
  return (record.durationMs * (1 + rho)) / (1 - rho);
}

export function encodeLeader(r: LeaderRecord): Uint8Array {
  return seal('leader', pb.wal.LeaderRecord.encode({ id: r.id, term: r.term, address: r.address }).finish());
}

export function decodeLeader(path: string, data: Uint8Array): LeaderRecord {
  const m = decodeWith(path, unseal(path, 'leader', data), (d) => pb.wal.LeaderRecord.decode(d));
  const r = { id: m.id ?? '', term: m.term ?? 0, address: m.address ?? '' };
  check(path, r.id !== '' && r.term > 0, 'leader record without id or term');
  return r;
}

export function encodeMember(r: MemberRecord): Uint8Array {
  return seal('member', pb.wal.MemberRecord.encode({ id: r.id, address: r.address, kind: r.kind, peerAddress: r.peerAddress ?? '' }).finish());
}

export function decodeMember(path: string, data: Uint8Array): MemberRecord {
  const m = decodeWith(path, unseal(path, 'member', data), (d) => pb.wal.MemberRecord.decode(d));
  const kind = m.kind === 'listener' ? 'listener' : m.kind === 'voter' ? 'voter' : null;
  check(path, kind !== null && !!m.id && !!m.address, 'member record without id, address or kind');
  return { id: m.id ?? '', address: m.address ?? '', kind: kind ?? 'voter', peerAddress: m.peerAddress || m.address || '' };
}

export function encodeConfig(r: ConfigRecord): Uint8Array {
  return seal('config', pb.wal.ConfigRecord.encode({ voters: [...r.voters], listeners: [...r.listeners] }).finish());
}

export function decodeConfig(path: string, data: Uint8Array): ConfigRecord {
  const m = decodeWith(path, unseal(path, 'config', data), (d) => pb.wal.ConfigRecord.decode(d));
  const voters = m.voters ?? [];
  check(path, voters.length <= 2, `${voters.length} voters`);
  check(path, new Set(voters).size === voters.length, 'duplicate voter');
  return { voters, listeners: m.listeners ?? [] };
}

function toProtoEntry(e: ChainedEntry): { index: number; term: number; type: number; data: Uint8Array; chain: Uint8Array } {
  return { index: e.index, term: e.term, type: e.type === EntryType.Noop ? 1 : 0, data: e.data, chain: e.chain };
}

/** prevFirstIndex: the first index of the segment before this one, 0 when unknown (see SegmentRecord). */
export function encodeSegment(term: number, entries: readonly ChainedEntry[], prevFirstIndex = 0): Uint8Array {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (!first || !last) throw new Error('a segment needs at least one entry');
  if (!(Number.isSafeInteger(prevFirstIndex) && prevFirstIndex >= 0 && prevFirstIndex < first.index)) {
    throw new Error(`a segment from ${first.index} cannot follow one from ${prevFirstIndex}`);
  }
  const body = pb.wal.EntryBatch.encode({ entries: entries.map(toProtoEntry) }).finish();
  return pb.wal.Segment.encode({
    formatVersion: SEGMENT_FORMAT_VERSION,
    term,
    firstIndex: first.index,
    lastIndex: last.index,
    crc32c: crc32c(body),
    body,
    prevFirstIndex,
  }).finish();
}

export function decodeSegment(path: string, data: Uint8Array): SegmentRecord {
  const m = decodeWith(path, data, (d) => pb.wal.Segment.decode(d));
  check(path, m.formatVersion === SEGMENT_FORMAT_VERSION, `unknown segment format ${m.formatVersion}`);
  const body = m.body ?? new Uint8Array(0);
  check(path, crc32c(body) === m.crc32c, 'segment checksum mismatch');
  const batch = decodeWith(path, body, (d) => pb.wal.EntryBatch.decode(d));
  const entries: ChainedEntry[] = (batch.entries ?? []).map((e) => ({
    index: e.index ?? 0,
    term: e.term ?? 0,
    type: e.type === 1 ? EntryType.Noop : EntryType.Normal,
    data: e.data ?? new Uint8Array(0),
    chain: e.chain ?? new Uint8Array(0),
  }));
  const firstIndex = m.firstIndex ?? 0;
  const lastIndex = m.lastIndex ?? 0;
  check(path, entries.length > 0 && entries.length === lastIndex - firstIndex + 1, 'entry count does not match the index range');
  entries.forEach((e, k) => {
    check(path, e.index === firstIndex + k, `entry ${k} has index ${e.index}, expected ${firstIndex + k}`);
    check(path, e.term > 0 && e.term <= (m.term ?? 0), `entry ${e.index} has term ${e.term} in a segment of term ${m.term}`);
    check(path, e.chain.length === CHAIN_BYTES, `entry ${e.index} has no chain value`);
  });
  const prevFirstIndex = m.prevFirstIndex ?? 0;
  check(path, Number.isSafeInteger(prevFirstIndex) && prevFirstIndex < firstIndex, `back-link to ${prevFirstIndex} not before the segment's first index ${firstIndex}`);
  return { term: m.term ?? 0, firstIndex, lastIndex, prevFirstIndex, entries };
}

export function encodeWalHead(r: WalHeadRecord): Uint8Array {
  return seal('wal-head', pb.wal.WalHead.encode({ firstSegmentIndex: r.firstSegmentIndex, snapshotIndex: r.snapshotIndex }).finish());
}

/** The wal znode's data; empty means never compacted (cluster-init creates it empty). */
export function decodeWalHead(path: string, data: Uint8Array): WalHeadRecord {
  if (data.length === 0) return UNCOMPACTED_WAL_HEAD;
  const m = decodeWith(path, unseal(path, 'wal-head', data), (d) => pb.wal.WalHead.decode(d));
  const r = { firstSegmentIndex: m.firstSegmentIndex ?? 0, snapshotIndex: m.snapshotIndex ?? 0 };
  check(path, Number.isSafeInteger(r.firstSegmentIndex) && r.firstSegmentIndex >= 1, `bad first segment index ${r.firstSegmentIndex}`);
  // The segment holding snapshotIndex + 1 is never deleted, so the head is at most there.
  check(path, Number.isSafeInteger(r.snapshotIndex) && r.firstSegmentIndex <= r.snapshotIndex + 1, `head ${r.firstSegmentIndex} past the snapshot at ${r.snapshotIndex}`);
  return r;
}
