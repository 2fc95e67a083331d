// One gRPC client connection to one peer address, kept connected, and watched so the
// transport learns at once when an established connection breaks.
//
// Why keep it connected: a follower sends no requests to its leader in steady state,
// so a lazily connected channel would never be READY and its loss never noticed. The
// channel connects as soon as it is created and reconnects whenever it falls IDLE, so
// a dead leader's closed socket (FIN or RST, within a millisecond on loopback) shows up
// as READY -> IDLE without waiting for missed heartbeats.
//
// grpc-js also moves a channel to IDLE after `grpc.client_idle_timeout_ms` without
// calls. The option is set to its maximum (about 24.8 days), so that false alarm comes
// at most once per 24.8 days of total silence, and the watch reconnects right after it.
import * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { NodeId } from '../core/types.js';
import type { ChannelSecurity } from './channel-security.js';
import { MAX_PEER_MESSAGE_BYTES, PeerClient } from './peer-service.js';

/** The longest timeout Node's timers accept; grpc-js uses it as "never". */
const MAX_TIMER_MS = 2_147_483_647;

/** Delay before asking an IDLE channel to connect again; grpc's own backoff paces the attempts after that. */
const RECONNECT_KICK_MS = 10;

/**
 * Channel options tuned for two peers on a LAN or loopback: reconnect quickly (the
 * reconnect backoff starts at 50 ms and is capped at 500 ms, so a restarted peer is
 * reachable again within half a second), no keepalive pings (the peers' own heartbeats
 * carry that signal), and room for large AppendEntries bodies.
 */
export const peerChannelOptions: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.max_send_message_length': MAX_PEER_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_PEER_MESSAGE_BYTES,
  'grpc.client_idle_timeout_ms': MAX_TIMER_MS,
  // Each channel gets its own connection: two transports in one process (tests, or
  // an address handed over between peers) must not share or close each other's sockets.
  'grpc.use_local_subchannel_pool': 1,
  // Nothing reads channelz; its per-call bookkeeping is CPU on every AppendEntries and heartbeat.
  'grpc.enable_channelz': 0,
};

/** A channel's connectivity state by name; 'NONE' where no channel exists. */
export type ConnectionState = 'NONE' | 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN';

const stateNames: Readonly<Record<grpc.connectivityState, ConnectionState>> = {
  [grpc.connectivityState.IDLE]: 'IDLE',
  [grpc.connectivityState.CONNECTING]: 'CONNECTING',
  [grpc.connectivityState.READY]: 'READY',
  [grpc.connectivityState.TRANSIENT_FAILURE]: 'TRANSIENT_FAILURE',
  [grpc.connectivityState.SHUTDOWN]: 'SHUTDOWN',
};

export interface PeerChannelOptions {
  readonly peerId: NodeId;
  /** host:port */
  readonly address: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Plaintext or mutual TLS (see channel-security.ts). */
  readonly security: ChannelSecurity;
  /** Called each time an established (READY) connection is lost. */
  readonly onDisconnected: () => void;
}

export class PeerChannel {
  readonly peerId: NodeId;
  readonly address: string;
  /** The gRPC client for calls to this peer. */
  readonly client: grpc.Client;
  private readonly channel: grpc.ChannelInterface;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onDisconnected: () => void;
  private kickTimer: TimerHandle | null = null;
  private closed = false;

  /** Creates the client and starts connecting. Throws when grpc cannot parse the address. */
  constructor(options: PeerChannelOptions) {
    this.peerId = options.peerId;
    this.address = options.address;
    this.clock = options.clock;
    this.logger = options.logger;
    this.onDisconnected = options.onDisconnected;
    this.client = new PeerClient(options.address, options.security.credentials, { ...peerChannelOptions, ...options.security.options });
    this.channel = this.client.getChannel();
    this.watchFrom(this.channel.getConnectivityState(true));
  }

  /** The channel's state now (without starting a connection). */
  state(): grpc.connectivityState {
    return this.closed ? grpc.connectivityState.SHUTDOWN : this.channel.getConnectivityState(false);
  }

  stateName(): ConnectionState {
    return stateNames[this.state()];
  }

  /** Closes the connection and stops watching it. In-flight calls fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kickTimer?.cancel();
    this.kickTimer = null;
    // Closing moves the channel to SHUTDOWN, which ends the watch loop below.
    this.client.close();
  }

  private watchFrom(state: grpc.connectivityState): void {
    if (this.closed || state === grpc.connectivityState.SHUTDOWN) return;
    // No deadline (Infinity): grpc-js then sets no timer, and close() ends the watch.
    this.channel.watchConnectivityState(state, Infinity, () => this.onStateChange(state));
  }

  private onStateChange(previous: grpc.connectivityState): void {
    if (this.closed) return;
    const state = this.channel.getConnectivityState(false);
    if (state === grpc.connectivityState.SHUTDOWN) return;
    // grpc-js calls watchers synchronously on each transition, so `state` is normally
    // the state just entered (IDLE when the socket closed, TRANSIENT_FAILURE when it
    // failed); any state other than READY after READY means the connection is gone.
    if (previous === grpc.connectivityState.READY && state !== grpc.connectivityState.READY) {
      this.logger.info({ peer: this.peerId, address: this.address, state: stateNames[state] }, 'connection to peer lost');
      try {
        this.onDisconnected();
      } catch (err) {
        this.logger.error({ err, peer: this.peerId }, 'peer-disconnected listener threw');
      }
    }
    if (state === grpc.connectivityState.IDLE) this.scheduleReconnect();
    this.watchFrom(state);
  }

  /** Asks an IDLE channel to connect, outside grpc's state-change callback. */
  private scheduleReconnect(): void {
    if (this.kickTimer) return;
    this.kickTimer = this.clock.setTimeout(() => {
      this.kickTimer = null;
      if (!this.closed) this.channel.getConnectivityState(true);
    }, RECONNECT_KICK_MS);
  }
}
