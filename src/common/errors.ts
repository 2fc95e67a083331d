// Typed errors with stable codes. Every error says what the caller should do next:
// `retryable` tells whether the same call may be tried again, and NotLeaderError
// carries the leader hint.

export type ErrorCode =
  | 'NOT_LEADER'
  | 'BUSY'
  | 'TIMEOUT'
  | 'SESSION_EXPIRED'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_OUTCOME'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'CORRUPT_WAL'
  | 'CORRUPT_ZNODE'
  | 'CORRUPT_SNAPSHOT'
  | 'ZK_UNAVAILABLE'
  | 'ZK_DATA_LOST'
  | 'CONFIG'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'COMPACTED'
  | 'FENCED'
  | 'ZK_BUDGET_EXCEEDED'
  | 'RESTORE_REFUSED'
  | 'LISTENER_FEED'
  | 'PROMOTION_REFUSED'
  | 'REMOVAL_REFUSED';

export class DuoraftError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

export interface LeaderHint {
  readonly leaderId: string;
  readonly leaderAddress: string;
}

/** This member is not the leader. Retry at the hinted leader (empty while unknown). */
export class NotLeaderError extends DuoraftError {
  readonly leaderId: string;
  readonly leaderAddress: string;

  constructor(hint: LeaderHint, message?: string) {
    const where = hint.leaderId ? `leader is ${hint.leaderId} at ${hint.leaderAddress || 'unknown address'}` : 'leader unknown';
    super('NOT_LEADER', message ?? `not the leader (${where}); retry at the leader`, true);
    this.leaderId = hint.leaderId;
    this.leaderAddress = hint.leaderAddress;
  }
}

/** The proposal queue is full. Back off for retryAfterMs, then retry. */
export class BusyError extends DuoraftError {
  readonly retryAfterMs: number;
  readonly leaderId: string;
  readonly leaderAddress: string;

  constructor(retryAfterMs: number, hint: LeaderHint, message?: string) {
    super('BUSY', message ?? `busy: the proposal queue is full; retry after ${retryAfterMs} ms`, true);
    this.retryAfterMs = retryAfterMs;
    this.leaderId = hint.leaderId;
    this.leaderAddress = hint.leaderAddress;
  }
}

/** A deadline passed. For a write, whether it took effect is unknown. */
export class TimeoutError extends DuoraftError {
  constructor(message: string) {
    super('TIMEOUT', message, true);
  }
}

/** Malformed input: fix the request; retrying it unchanged fails again. */
export class InvalidArgumentError extends DuoraftError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message, false);
  }
}

/** A write was in flight when leadership was lost: it may or may not have taken effect. */
export class UnknownOutcomeError extends DuoraftError {
  constructor(message: string) {
    super('UNKNOWN_OUTCOME', message, true);
  }
}

/** The member cannot serve right now (starting, stopping, ZooKeeper unreachable). */
export class UnavailableError extends DuoraftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, true, options);
  }
}

export class SessionExpiredError extends DuoraftError {
  constructor(message: string) {
    super('SESSION_EXPIRED', message, false);
  }
}

/** A local WAL record failed its checks. The node rebuilds from ZooKeeper. */
export class CorruptWalError extends DuoraftError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super('CORRUPT_WAL', `corrupt WAL record in ${file} at offset ${offset}: ${reason}`, false);
    this.file = file;
    this.offset = offset;
  }
}

/** A znode did not hold what duoraft writes there. Nothing was guessed or overwritten. */
export class CorruptZnodeError extends DuoraftError {
  readonly path: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('CORRUPT_ZNODE', `corrupt znode ${path}: ${reason}`, false, options);
    this.path = path;
  }
}

/**
 * A snapshot file (or snapshot bytes received for one) failed its checks: framing,
 * checksums, digest, counts, or it is not the snapshot it claims to be. It was not loaded
 * (nothing of it reached a live store) and a local file was set aside; use the previous
 * snapshot, or fetch one from ZooKeeper or the other voter.
 */
export class CorruptSnapshotError extends DuoraftError {
  readonly file: string;
  /** Byte offset of the bad part, or -1 when the problem is with the file as a whole. */
  readonly offset: number;

  constructor(file: string, offset: number, reason: string, options?: { cause?: unknown }) {
    const where = offset >= 0 ? ` at offset ${offset}` : '';
    super('CORRUPT_SNAPSHOT', `corrupt snapshot ${file}${where}: ${reason}`, false, options);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * ZooKeeper has no tree for this cluster, or one of another identity, while this node holds
 * the cluster's data: ZooKeeper's data was lost (and maybe recreated empty). What it lacked
 * may include acknowledged writes; the node serves nothing rather than guess.
 */
export class ZkDataLostError extends DuoraftError {
  constructor(message: string) {
    super(
      'ZK_DATA_LOST',
      `${message}. This node serves nothing and keeps its data. Stop the nodes, run \`duoraft admin restore-zk\` with the data folder of the most advanced node (it shows what may be lost before it writes anything), then start them again`,
      false,
    );
  }
}

/** ZooKeeper could not be reached. */
export class ZkUnavailableError extends DuoraftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ZK_UNAVAILABLE', message, true, options);
  }
}

/** A bad setting or flag. */
export class ConfigError extends DuoraftError {
  constructor(message: string) {
    super('CONFIG', message, false);
  }
}

/**
 * An id the config znode names as a voter was to be registered as a listener. A class of its
 * own (code CONFIG, as before) so callers that expect it (a listener promoted meanwhile, an id
 * that starts as a voter) test its type, not its wording: start it with --role voter, or demote
 * it first.
 */
export class ListenerIsVoterError extends ConfigError {
  readonly memberId: string;

  constructor(memberId: string, message: string) {
    super(message);
    this.memberId = memberId;
  }
}

/**
 * The other side would not accept our credentials, or we would not accept its: a missing or
 * wrong client certificate or token, a member whose certificate the cluster CA does not
 * vouch for, ZooKeeper credentials missing or wrong. Retrying unchanged fails again: give
 * the right --tls-ca/--tls-cert/--tls-key, --token or --zk-user/--zk-password.
 */
export class UnauthenticatedError extends DuoraftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAUTHENTICATED', message, false, options);
  }
}

/** The credentials were valid but do not allow this call (a client certificate on the peer service, another voter's certificate). */
export class PermissionDeniedError extends DuoraftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERMISSION_DENIED', message, false, options);
  }
}

/**
 * The entries asked for were compacted out of ZooKeeper: a snapshot holds them now. Load
 * the newest complete snapshot (at index >= snapshotIndex), then read the entries after it.
 */
export class CompactedError extends DuoraftError {
  /** The first index asked for. */
  readonly wantedIndex: number;
  /** The first index ZooKeeper's log still holds (the oldest segment's first index). */
  readonly firstAvailableIndex: number;
  /** The snapshot that allowed the compaction (0 if unknown). */
  readonly snapshotIndex: number;

  constructor(wantedIndex: number, firstAvailableIndex: number, snapshotIndex: number) {
    super(
      'COMPACTED',
      `entry ${wantedIndex} was compacted out of ZooKeeper (its log starts at index ${firstAvailableIndex}` +
        `${snapshotIndex > 0 ? `, covered by the snapshot at index ${snapshotIndex}` : ''}): load the newest snapshot first, then read the entries after it`,
      false,
    );
    this.wantedIndex = wantedIndex;
    this.firstAvailableIndex = firstAvailableIndex;
    this.snapshotIndex = snapshotIndex;
  }
}

/** A write that checks the epoch was refused: another node took over. Stop acting as leader. */
export class EpochFencedError extends DuoraftError {
  readonly epochVersion: number;

  constructor(epochVersion: number, what: string) {
    super('FENCED', `${what} refused: the epoch moved past version ${epochVersion} (another node leads); stop acting as leader`, false);
    this.epochVersion = epochVersion;
  }
}

/**
 * The cluster's state is too large for what it may keep in ZooKeeper (--zk-budget-bytes):
 * the leader refuses writes that add data (put, incr, cas) rather than fill ZooKeeper.
 * Deletes still pass. Retrying unchanged fails again: delete keys (then `duoraft admin
 * snapshot` re-checks at once), or raise --zk-budget-bytes on both voters (notes/snapshots.md).
 */
export class ZkBudgetExceededError extends DuoraftError {
  constructor(message: string) {
    super('ZK_BUDGET_EXCEEDED', message, false);
  }
}

/** Why `duoraft admin restore-zk` wrote nothing (RestoreRefusedError.reason). */
export type RestoreRefusal =
  /** ZooKeeper holds a live tree of this cluster that holds everything this folder knows committed. */
  | 'nothing-to-restore'
  /** members/ or leader ephemerals exist: nodes are running against ZooKeeper. */
  | 'nodes-registered'
  /** The data folder cannot seed a cluster (no identity on record, nothing in it). */
  | 'folder-unusable'
  /** The two folders belong to different clusters. */
  | 'other-identity'
  /** The two folders' committed prefixes differ (a forged or diverged entry in one of them). */
  | 'chains-disagree'
  /** The other folder holds more: restoring from this one would lose what only it has. */
  | 'other-folder-ahead'
  /** ZooKeeper holds a tree of another identity with data, or one that cannot be read. */
  | 'foreign-tree'
  /** The operator did not confirm. */
  | 'not-confirmed';

/**
 * duoraft admin restore-zk refused to write: the message says why and what to do (some
 * refusals can be overridden with --force after checking by hand). Nothing was written.
 */
export class RestoreRefusedError extends DuoraftError {
  constructor(
    readonly reason: RestoreRefusal,
    message: string,
  ) {
    super('RESTORE_REFUSED', `${message}; nothing was written to ZooKeeper`, false);
  }
}

/**
 * What an upstream sent a listener does not continue the listener's committed log (a gap,
 * a chain value that does not follow). Nothing of it was applied: the listener drops that
 * upstream and chooses another (or reads ZooKeeper's log).
 */
export class ListenerFeedError extends DuoraftError {
  constructor(message: string) {
    super('LISTENER_FEED', message, true);
  }
}

/**
 * `duoraft admin promote` (or demote) refused, and nothing changed: the voter to replace is
 * alive, the listener is unknown or not caught up, or the configuration moved meanwhile.
 * The message says which and what to do.
 */
export class PromotionRefusedError extends DuoraftError {
  constructor(message: string, retryable = false) {
    super('PROMOTION_REFUSED', message, retryable);
  }
}

/**
 * `duoraft admin remove-listener` refused, and nothing changed: the id is no listener of
 * the cluster, or the listener runs (its member znode exists: stop it first, or retry once
 * its session expired). The message says which.
 */
export class RemovalRefusedError extends DuoraftError {
  constructor(message: string, retryable = false) {
    super('REMOVAL_REFUSED', message, retryable);
  }
}
