// The public surface of the pure Raft core.
export * from './types.js';
export * from './messages.js';
export * from './config.js';
export * from './random.js';
export { RaftLog, CoreInvariantError, invariant } from './log.js';
export { RaftCore } from './raft.js';
export type { Role, SoftState, Ready, TakeoverRequest, TakeoverResult, LeadershipLost, RestoredState, CoreStatus, ProposeResult } from './raft.js';
export { judgeHandOver } from './hand-over.js';
export type { HandOverClaim, HandOverVerdict, LeaseSighting } from './hand-over.js';
