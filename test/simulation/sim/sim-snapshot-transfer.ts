// Snapshots between the simulated voters: the SnapshotTransfer of src/transport
// (InstallSnapshot and SnapshotChunk of the gRPC transport) as calls over the SimNetwork,
// so offers and range reads are dropped, delayed, reordered, cut and lost with their
// process like every other peer message.
import type { NodeId } from '../../../src/core/types.js';
import type { SnapshotOffer, SnapshotOfferReply, SnapshotRange, SnapshotTransfer, SnapshotTransferHandlers } from '../../../src/transport/snapshot-transfer.js';
import type { SimNetwork, SimTransport } from './sim-network.js';

export class SimSnapshotTransfer implements SnapshotTransfer {
  private handlers: SnapshotTransferHandlers | null = null;

  constructor(
    private readonly self: SimTransport,
    private readonly net: SimNetwork,
  ) {}

  serve(handlers: SnapshotTransferHandlers): void {
    this.handlers = handlers;
  }

  offer(offer: SnapshotOffer, timeoutMs: number): Promise<SnapshotOfferReply> {
    return this.net.call(this.self, offer.to, timeoutMs, (target) => target.snapshots.served().onOffer(offer, false));
  }

  readRange(from: NodeId, range: SnapshotRange, timeoutMs: number): Promise<Uint8Array> {
    const self = this.self.id;
    return this.net.call(this.self, from, timeoutMs, (target) => target.snapshots.served().onRange(self, range));
  }

  /** What this process serves (a process that serves nothing yet refuses, as an unimplemented gRPC method would). */
  served(): SnapshotTransferHandlers {
    return (
      this.handlers ?? {
        onOffer: () => Promise.reject(new Error(`${this.self.id} does not serve snapshots yet`)),
        onRange: () => Promise.reject(new Error(`${this.self.id} does not serve snapshots yet`)),
      }
    );
  }
}
