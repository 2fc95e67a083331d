// The linearizability checker for duoraft's key-value model.

export type {
  CasOutput,
  DelOutput,
  GetOutput,
  IncrOutput,
  KvInput,
  KvKind,
  KvOutput,
  Operation,
  PutOutput,
} from './history.js';
export { isUnknownOutcome, validateHistory } from './history.js';
export { type HistoryEvent, HistoryBuilder, historyFromEvents } from './history-builder.js';
export { type KeyState, type Transition, applyKv, outputMatches, parseKvInteger } from './kv-model.js';
export { formatOperation } from './format.js';
export { partitionByKey } from './partition.js';
export { type SearchOptions, type SearchResult, searchLinearization } from './wgl-search.js';
export { type CheckOptions, type CheckResult, DEFAULT_STEP_BUDGET_PER_KEY, checkLinearizable } from './linearizability.js';
export { type ShrinkBudget, type Violation, asUnknown, describeViolation, violationHistory } from './violation.js';
