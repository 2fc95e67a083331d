// The snapshot transfer (snapshot-transfer.ts) over the Peer service's InstallSnapshot and
// SnapshotChunk methods, on the voters' own channels and with the same checks as every peer
// call: under TLS only the other voter, proven by its certificate, is served.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { Received } from '../common/grpc-unary.js';
import type { duoraft } from '../common/proto.js';
import type { NodeId } from '../core/types.js';
import type { SnapshotOffer, SnapshotOfferReply, SnapshotRange, SnapshotTransfer, SnapshotTransferHandlers } from './snapshot-transfer.js';
import type { InstallSnapshotMethod, SnapshotChunkMethod } from './peer-service.js';

/** What the transfer needs of the transport it rides on. */
export interface SnapshotChannels {
  readonly selfId: NodeId;
  readonly cluster: string;
  readonly logger: Logger;
  /** One unary call to `peer` on its channel (rejects when there is no channel or the call fails). */
  unary<ReqOut, ResIn>(peer: NodeId, method: { path: string; requestSerialize: (v: ReqOut) => Buffer; responseDeserialize: (b: Buffer) => ResIn }, request: ReqOut, timeoutMs: number): Promise<ResIn>;
  /** The voter a server call proved to come from, or why it is refused. */
  callerOf(call: grpc.ServerUnaryCall<unknown, unknown>): { readonly id: NodeId | null } | { readonly code: grpc.status; readonly why: string };
}

/** Bound on one range read. */
export const MAX_RANGE_BYTES = 4 * 1024 * 1024;

export class GrpcSnapshotTransfer implements SnapshotTransfer {
  private handlers: SnapshotTransferHandlers | null = null;

  constructor(
    private readonly c: SnapshotChannels,
    private readonly methods: { readonly installSnapshot: InstallSnapshotMethod; readonly snapshotChunk: SnapshotChunkMethod },
  ) {}

  serve(handlers: SnapshotTransferHandlers): void {
    this.handlers = handlers;
  }

  async offer(o: SnapshotOffer, timeoutMs: number): Promise<SnapshotOfferReply> {
    const res = await this.c.unary(
      o.to,
      this.methods.installSnapshot,
      {
        cluster: this.c.cluster,
        from: o.from,
        to: o.to,
        term: o.term,
        point: { index: o.point.index, term: o.point.term, chain: o.point.chain },
        sizeBytes: o.sizeBytes,
        sha256: o.sha256,
      },
      timeoutMs,
    );
    return { installed: res.installed === true, index: Number(res.index ?? 0), reason: res.reason ?? '' };
  }

  async readRange(from: NodeId, r: SnapshotRange, timeoutMs: number): Promise<Uint8Array> {
    const res = await this.c.unary(
      from,
      this.methods.snapshotChunk,
      { cluster: this.c.cluster, from: this.c.selfId, to: from, index: r.index, sha256: r.sha256, offset: r.offset, maxBytes: Math.min(r.maxBytes, MAX_RANGE_BYTES) },
      timeoutMs,
    );
    if (res.error) throw new Error(`${from} refused the snapshot range: ${res.error}`);
    return new Uint8Array(res.data ?? new Uint8Array(0));
  }

  /** The InstallSnapshot handler. */
  handleOffer(
    call: grpc.ServerUnaryCall<Received<duoraft.peer.InstallSnapshotRequest>, duoraft.peer.InstallSnapshotResponse.$Properties>,
    callback: grpc.sendUnaryData<duoraft.peer.InstallSnapshotResponse.$Properties>,
  ): void {
    const admitted = this.admit(call, callback);
    if (!admitted) return;
    const req = admitted.request;
    const p = req.point;
    const handlers = this.handlers;
    const no = (reason: string): void => callback(null, { from: this.c.selfId, to: req.from, term: Number(req.term ?? 0), installed: false, index: 0, reason });
    if (!handlers || !p || !(p.chain instanceof Uint8Array)) {
      no(handlers ? 'malformed offer' : 'not serving snapshots');
      return;
    }
    handlers
      .onOffer(
        {
          from: req.from ?? '',
          to: req.to ?? '',
          term: Number(req.term ?? 0),
          point: { index: Number(p.index ?? 0), term: Number(p.term ?? 0), chain: new Uint8Array(p.chain) },
          sizeBytes: Number(req.sizeBytes ?? 0),
          sha256: req.sha256 ?? '',
        },
        admitted.proven,
      )
      .then(
        (r) => callback(null, { from: this.c.selfId, to: req.from, term: Number(req.term ?? 0), installed: r.installed, index: r.index, reason: r.reason }),
        (err: unknown) => no((err as Error).message),
      );
  }

  /** The SnapshotChunk handler. */
  handleRange(
    call: grpc.ServerUnaryCall<Received<duoraft.peer.SnapshotChunkRequest>, duoraft.peer.SnapshotChunkResponse.$Properties>,
    callback: grpc.sendUnaryData<duoraft.peer.SnapshotChunkResponse.$Properties>,
  ): void {
    const admitted = this.admit(call, callback);
    if (!admitted) return;
    const req = admitted.request;
    const handlers = this.handlers;
    if (!handlers) {
      callback(null, { error: 'not serving snapshots' });
      return;
    }
    handlers
      .onRange(req.from ?? '', { index: Number(req.index ?? 0), sha256: req.sha256 ?? '', offset: Number(req.offset ?? 0), maxBytes: Math.min(Number(req.maxBytes ?? 0), MAX_RANGE_BYTES) })
      .then(
        (data) => callback(null, { data }),
        (err: unknown) => callback(null, { error: (err as Error).message }),
      );
  }

  /**
   * The request, if the caller is the other voter of this cluster addressing us, and whether
   * its certificate proved that (mutual TLS); else answered with a refusal.
   */
  private admit<T extends { cluster?: string | null; from?: string | null; to?: string | null }>(
    call: grpc.ServerUnaryCall<Received<T>, unknown>,
    callback: grpc.sendUnaryData<never>,
  ): { readonly request: T; readonly proven: boolean } | null {
    const who = this.c.callerOf(call);
    if ('why' in who) {
      callback({ code: who.code, details: who.why });
      return null;
    }
    const received = call.request;
    const refuse = (why: string): null => {
      this.c.logger.warn({ remote: call.getPeer(), reason: why }, 'refused a snapshot call');
      callback({ code: grpc.status.INVALID_ARGUMENT, details: why });
      return null;
    };
    if (!received.ok) return refuse(received.reason);
    const r = received.request;
    if (r.cluster !== this.c.cluster) return refuse(`cluster ${JSON.stringify(r.cluster)} is not ${JSON.stringify(this.c.cluster)}`);
    if (r.to !== this.c.selfId) return refuse(`addressed to ${JSON.stringify(r.to)}`);
    if (who.id !== null && r.from !== who.id) return refuse(`the certificate names ${who.id}, the call claims ${String(r.from)}`);
    return { request: r, proven: who.id !== null };
  }
}
