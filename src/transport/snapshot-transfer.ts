// Snapshots between the voters (PROTOCOL.md section 8): the leader offers its newest
// snapshot to a follower behind its compaction point; the follower pulls the bytes range by
// range (so a broken transfer resumes where it stopped), verifies and installs them, then
// answers the offer. Outside the core: the core only says that the follower needs one.
import type { NodeId, SnapshotMeta } from '../core/types.js';

export interface SnapshotOffer {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly point: SnapshotMeta;
  readonly sizeBytes: number;
  /** Of the whole file, lowercase hex. */
  readonly sha256: string;
}

export interface SnapshotOfferReply {
  readonly installed: boolean;
  /** The follower's commit index after the offer (the snapshot's index when installed). */
  readonly index: number;
  readonly reason: string;
}

export interface SnapshotRange {
  readonly index: number;
  readonly sha256: string;
  readonly offset: number;
  readonly maxBytes: number;
}

export interface SnapshotTransferHandlers {
  /**
   * A follower: the leader offers a snapshot. Resolves once it is installed (or not).
   * `authenticated`: the transport proved the sender is the other voter (mutual TLS).
   */
  onOffer(offer: SnapshotOffer, authenticated: boolean): Promise<SnapshotOfferReply>;
  /** The leader: the follower reads a range of the snapshot it was offered. */
  onRange(from: NodeId, range: SnapshotRange): Promise<Uint8Array>;
}

export interface SnapshotTransfer {
  /** Offers a snapshot to `offer.to`; resolves with its answer (rejects when the call fails). */
  offer(offer: SnapshotOffer, timeoutMs: number): Promise<SnapshotOfferReply>;
  /** Reads a range of the snapshot `from` offered (rejects when the call fails or the range is refused). */
  readRange(from: NodeId, range: SnapshotRange, timeoutMs: number): Promise<Uint8Array>;
  serve(handlers: SnapshotTransferHandlers): void;
}
