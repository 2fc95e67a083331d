// duoraft fuzz: hostile peer messages, client requests, WAL files and znode values against
// real processes under a checked load.
export { FUZZ_TARGETS, type FuzzTarget, parseFuzzTargets } from './context.js';
export { FUZZ_DEFAULTS, type FuzzOptions } from './options.js';
export { type FuzzResult, type FuzzRun, type RoundRecord, replayCommand, runFuzz } from './run.js';
