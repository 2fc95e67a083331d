// The public surface of the duoraft package: the client, its options and the errors it throws.
export { connect, DuoraftClient } from './client/client.js';
export type { ConnectOptions, ClientTlsOptions, GetOptions, CallOptions, ReadConsistency, MemberStatusView, ZkBudgetView, SnapshotTakenView } from './client/client.js';
export {
  DuoraftError,
  NotLeaderError,
  BusyError,
  TimeoutError,
  InvalidArgumentError,
  UnknownOutcomeError,
  UnavailableError,
  SessionExpiredError,
  ZkUnavailableError,
  CorruptSnapshotError,
  ConfigError,
  UnauthenticatedError,
  PermissionDeniedError,
  ZkBudgetExceededError,
  type ErrorCode,
  type LeaderHint,
} from './common/errors.js';
