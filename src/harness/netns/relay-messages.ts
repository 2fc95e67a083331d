// What the harness and its relay process say to each other over the IPC channel.
import type { RelaySpec } from './relay.js';
import type { RelayLatenessStats } from './relay-lateness.js';

export interface RelayProcessConfig {
  readonly relays: readonly RelaySpec[];
}

export type ToRelayProcess =
  | { readonly type: 'delay'; readonly id: number; readonly names: readonly string[]; readonly latencyMs: number; readonly jitterMs: number }
  | { readonly type: 'lateness'; readonly id: number };

export type FromRelayProcess =
  | { readonly type: 'ready'; readonly ports: Readonly<Record<string, number>> }
  | { readonly type: 'done'; readonly id: number; readonly error?: string }
  | { readonly type: 'lateness'; readonly id: number; readonly stats: RelayLatenessStats }
  | { readonly type: 'error'; readonly message: string };
