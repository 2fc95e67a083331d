// A voter follows the config znode live (PROTOCOL.md section 3, notes/listeners.md): who the
// other voter is, and where it can be reached. A promotion (`admin promote L --replace V`)
// gives the remaining voter a new peer; a demotion (`admin demote V`) leaves it with none.
// Either way the core, the transport and the peer's member-znode watch change at once,
// without a restart; before this module a demotion left the remaining voter sending its
// appends, heartbeats and votes to the demoted member until it was restarted.
//
// It also remembers the config version it last saw and whether that named this node a
// voter: the take-over's fence checks that version (takeover.ts), so a voter replaced while
// it was thought dead cannot fence even in the moment before its role watch stops it.
import type { Logger } from '../common/logger.js';
import { peerOf } from '../coordination/membership.js';
import type { NodeId } from '../core/types.js';

export interface VoterConfigHost {
  /** The core's peer (the empty id: no other voter). */
  setCorePeer(peer: NodeId): void;
  /** Where the transport reaches `peer` (the empty address forgets it). */
  setPeerAddress(peer: NodeId, address: string): void;
  /** Watch this member's znode for its address (the empty id: watch none). */
  watchPeerMember(peer: NodeId): void;
  /** Something changed that the core must act on. */
  schedule(): void;
}

export interface ConfigSeen {
  readonly version: number;
  /** Whether that config names this node a voter. */
  readonly voter: boolean;
}

export class VoterConfig {
  private peerId: NodeId;
  private peerAddress = '';
  private seen: ConfigSeen | null = null;

  constructor(
    private readonly selfId: NodeId,
    initialVoters: readonly NodeId[],
    private readonly host: VoterConfigHost,
    private readonly logger: Logger,
  ) {
    this.peerId = peerOf(initialVoters, selfId);
  }

  peer(): NodeId {
    return this.peerId;
  }

  /** The config as last seen (null before the first look): what the fence checks. */
  configSeen(): ConfigSeen | null {
    return this.seen;
  }

  /** The config znode as now read. */
  onConfig(version: number, voters: readonly NodeId[]): void {
    if (this.seen && version < this.seen.version) return; // an older read arriving late
    const voter = voters.includes(this.selfId);
    this.seen = { version, voter };
    // Not a voter any more: the role watch stops this node; keep the peer meanwhile (the
    // fence is refused by the config check, and nothing else it does needs the change).
    if (!voter) return;
    const next = peerOf(voters, this.selfId);
    if (next === this.peerId) return;
    const before = this.peerId;
    this.peerId = next;
    if (before !== '') this.host.setPeerAddress(before, '');
    this.peerAddress = '';
    this.host.setCorePeer(next);
    this.host.watchPeerMember(next);
    this.logger.info({ peer: next || 'none', previous: before || 'none', configVersion: version }, next ? 'the other voter is known' : 'no other voter in the cluster configuration');
    this.host.schedule();
  }

  /** The other voter published where it can be reached. */
  onPeerMember(peer: NodeId, peerAddress: string): void {
    if (peer !== this.peerId || this.peerAddress === peerAddress) return;
    this.peerAddress = peerAddress;
    this.host.setPeerAddress(peer, peerAddress);
    this.logger.info({ peer, peerAddress }, 'peer address');
  }
}
