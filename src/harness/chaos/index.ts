// duoraft chaos: faults injected into real processes under a recorded, checked load.
export { ALL_FAULT_KINDS, defaultKinds, FAULT_KINDS, type FaultKind, NETNS_FAULT_KINDS, type NetMode, parseFaultKinds, ZK_FAULT_KINDS } from './fault-kinds.js';
export { CheckedLoad, type CheckedLoadOptions, type LoadVerdict } from './checked-load.js';
export { CHAOS_DEFAULTS, type ChaosOptions } from './options.js';
export { type ChaosRun, runChaos } from './run.js';
export type { ChaosResult, FailoverRecord } from './result.js';
