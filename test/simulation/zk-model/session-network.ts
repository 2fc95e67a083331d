// What a model client needs from the model besides the server: time and latencies,
// its timeouts, the fault settings, and where to report exceptions.
import type { Logger } from '../../../src/common/logger.js';
import type { LinkNetwork } from './link.js';

export interface ClientNetwork extends LinkNetwork {
  readonly requestTimeoutMs: number;
  /** Pause before a reconnect attempt after the connection dropped. */
  reconnectDelay(): number;
  /** The wrapper's handshake timeout when set explicitly (else derived from the session timeout). */
  readonly handshakeTimeoutMs?: number;
  /** Whether a request that was still travelling when its connection dropped (or it timed out) reached the server anyway. */
  appliedAnyway(): boolean;
  /** Whether the client called `clientName` cannot reach the server now. */
  isPartitioned(clientName: string): boolean;
  /** Extra one-way latency of the client called `clientName` (a slow network to ZooKeeper), in ms. */
  extraLatency(clientName: string): number;
  readonly logger: Logger;
}
