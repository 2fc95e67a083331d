// What a node's parts tell an observer while they work: the narrow, one-way interface
// between the parts and metrics (src/server/metrics.ts, the one module that knows
// prom-client). Each part declares only the events it emits (MirrorObserver next to the
// WAL mirror, WalSyncObserver next to the fsyncs, ...); NodeTelemetry is their union, handed
// to the driver, which passes each part its share. The observer is told, never asked: no
// event returns anything, and nothing a part does depends on who listens.
//
// The simulator and the tests use noTelemetry. Figures a part already holds (role, term,
// indexes, queue sizes) are not events: metrics read them when scraped (node-figures.ts).
import type { MirrorObserver } from '../coordination/wal-mirror.js';
import type { SoftState } from '../core/raft.js';
import type { LeaderTermObserver } from './leadership.js';
import type { SnapshotObserver } from './snapshotter.js';
import type { TakeoverObserver } from './takeover-runner.js';
import type { WalSyncObserver } from './wal-sync.js';

/** Why a peer message was refused: its content failed the core's checks, or its sender is not who its certificate says. */
export type PeerRefusal = 'invalid' | 'sender';

/** The events of the driver's own loop. */
export interface DriverObserver {
  /** A peer message (of type `type`) was refused. */
  peerRefused(type: string, why: PeerRefusal): void;
  /** The core's role, term or leader changed; `leaderContactAgeMs` is how long ago it last heard a leader (Infinity: never). */
  roleChanged(prev: SoftState, next: SoftState, leaderContactAgeMs: number): void;
  /** A leader's commit index moved, and an entry of its own term is committed (its no-op first). */
  committedInTerm(term: number): void;
}

export type NodeTelemetry = DriverObserver & LeaderTermObserver & MirrorObserver & TakeoverObserver & WalSyncObserver & SnapshotObserver;

/** Listens to nothing: the default. */
export const noTelemetry: NodeTelemetry = {
  peerRefused: () => undefined,
  roleChanged: () => undefined,
  committedInTerm: () => undefined,
  leaseLapsed: () => undefined,
  mirrorMulti: () => undefined,
  takeoverDone: () => undefined,
  walSynced: () => undefined,
  snapshotTaken: () => undefined,
  snapshotPublished: () => undefined,
  snapshotInstalled: () => undefined,
};
