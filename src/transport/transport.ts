// What the node driver needs from the network to let its Raft core talk to the peer.
// The gRPC implementation is GrpcPeerTransport; the simulator passes messages directly.
import type { SnapshotTransfer } from './snapshot-transfer.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';

/**
 * What the transport can prove about who sent a delivered message. With mutual TLS the
 * transport already refuses a request whose `from` differs from the voter its certificate
 * names, so a 'verified' message always has m.from === sender.id; the driver (or core)
 * checks it again and refuses a `from` that is not its known peer.
 */
export type MessageSender =
  /** Mutual TLS: the caller's certificate, signed by the cluster CA, names this voter (for a reply: the peer we called proved it is this voter). */
  | { readonly kind: 'verified'; readonly id: NodeId }
  /** Plaintext transport: `from` is only what the sender claims. */
  | { readonly kind: 'unverified' }
  /** Made by the transport itself ('unreachable'). */
  | { readonly kind: 'local' };

export interface PeerTransport {
  /** Sends a core message to m.to. Requests become RPCs; a reply (m.rpcId set) answers the pending call it belongs to. Never throws; failures come back as 'unreachable' messages. */
  send(m: Message): void;
  /**
   * Where every incoming message goes: requests from the peer (with rpcId), replies to our
   * requests, and 'unreachable' (from = the peer, to = us) when a request of ours failed.
   * `sender` says what the transport could prove about who sent it.
   */
  setHandler(handler: (m: Message, sender: MessageSender) => void): void;
  /** Where peer `id` can be reached (host:port); replaces an earlier address (closing the old channel). '' forgets it. */
  setPeerAddress(id: NodeId, address: string): void;
  /** Called when an established connection to a peer breaks (its process died or the link was cut): lets a follower suspect its leader at once instead of waiting for missed heartbeats. */
  onPeerDisconnected(listener: (id: NodeId) => void): void;
  /**
   * The peer announced itself (its member znode appeared or changed): if the connection to
   * it is waiting out a reconnect backoff, connect again now. Optional: a transport without
   * backoff has nothing to do.
   */
  peerMayBeBack?(id: NodeId): void;
  /** Closes every connection, answers the peer's pending calls with no_reply and stops all timers. Later sends are dropped. */
  close(): Promise<void>;
  /** Snapshots between the voters; absent where the transport carries none (the follower then loads them from ZooKeeper). */
  readonly snapshots?: SnapshotTransfer;
}
