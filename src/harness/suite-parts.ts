// The names of the bench suite's parts. A module of its own, with no imports, so the CLI can
// describe and check --only without loading the harness (it loads only when a bench runs:
// every other command, the node above all, starts without it).
export const LOOPBACK_PARTS = ['latency', 'throughput', 'reads', 'transfer', 'failover'] as const;
export const NETNS_PARTS = ['netns-partition-leader', 'netns-partition-voters', 'netns-latency-loss'] as const;
export const SNAPSHOT_PARTS = ['snapshot-stall', 'snapshot-rebuild', 'snapshot-failover', 'snapshot-restart'] as const;
export type SnapshotPart = (typeof SNAPSHOT_PARTS)[number];
/** Issue 13's targets: listener apply lag at depth 1 and 3, and the leader's CPU per write with 0, 1 and 3 listeners (bench-listeners.ts). */
export const LISTENER_PARTS = ['listeners'] as const;
/** Issue 12's "no false failovers": 64 writers for --steady-minutes while another process burns a core (bench-steady.ts). */
export const STEADY_PARTS = ['steady'] as const;
export const SUITE_PARTS = [...LOOPBACK_PARTS, ...NETNS_PARTS, ...SNAPSHOT_PARTS, ...LISTENER_PARTS, ...STEADY_PARTS] as const;
export type SuitePart = (typeof SUITE_PARTS)[number];
