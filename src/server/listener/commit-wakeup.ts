// How a follower's feeder learns, without a hook in the node driver, that its commit index
// may have moved: a follower's commit index moves only when its core steps an AppendEntries
// or a heartbeat from its leader (which carry the leader's commit index), or when it catches
// up from ZooKeeper (the feeder's sweep finds that). The driver steps every peer message
// synchronously inside the transport's handler, so right after the handler returns the
// core's commit index is current: the feeder is kicked then, and pushes on the next turn.
//
// Only those two requests kick: a leader receives replies, never AppendEntries or
// heartbeats of its own term, so a leader does no listener work here (and its feeder,
// which has no streams, would return at once anyway).
import type { Message } from '../../core/messages.js';
import type { MessageSender, PeerTransport } from '../../transport/transport.js';

/** The message types whose stepping can move a follower's commit index. */
export function carriesLeaderCommit(m: Message): boolean {
  return m.type === 'append' || m.type === 'heartbeat';
}

/** `transport`, with `wake` called after the driver's handler has stepped a message that carries the leader's commit index. */
export function wakeOnLeaderCommit(transport: PeerTransport, wake: () => void): PeerTransport {
  return {
    send: (m) => transport.send(m),
    setHandler: (handler: (m: Message, sender: MessageSender) => void) =>
      transport.setHandler((m, sender) => {
        handler(m, sender);
        if (carriesLeaderCommit(m)) wake();
      }),
    setPeerAddress: (id, address) => transport.setPeerAddress(id, address),
    onPeerDisconnected: (listener) => transport.onPeerDisconnected(listener),
    close: () => transport.close(),
    ...(transport.snapshots ? { snapshots: transport.snapshots } : {}),
  };
}
