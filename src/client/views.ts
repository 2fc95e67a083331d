// What the client hands back: the results of transfers, status and snapshots, as plain
// views (no wire types), and the conversion of the wire's budget into its view.
export interface TransferResult {
  readonly leaderId: string;
  /** How long the old leader took to hand over (0 when it was already done). */
  readonly tookMs: number;
  /** The target led already when asked (a retry after a hand-over, or --to the leader): nothing was handed over. */
  readonly alreadyLeader: boolean;
}

export interface MemberStatusView {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly leaderId: string;
  readonly address: string;
  /** Listeners only: who feeds it ('zookeeper' when it reads ZooKeeper's log directly). */
  readonly upstream?: string;
  /** Listeners only: 1 when fed by a voter, n+1 when fed by a depth-n listener, 0 when reading ZooKeeper. */
  readonly depth?: number;
  /** Listeners only: entries it knows are committed and has not applied yet, and for how long it has been behind. */
  readonly lagEntries?: number;
  readonly lagMs?: number;
  /** The member's newest local snapshot (0: none) and its size. */
  readonly snapshotIndex: number;
  readonly snapshotBytes: number;
  /** The leader's count of what the cluster keeps in ZooKeeper (null elsewhere, or not counted yet). */
  readonly zkBudget: ZkBudgetView | null;
}

/** What the cluster keeps in ZooKeeper against its budget (--zk-budget-bytes), as the leader counts it. */
export interface ZkBudgetView {
  readonly usedBytes: number;
  readonly budgetBytes: number;
  readonly walBytes: number;
  readonly snapshotBytes: number;
  /** The state is too large for the budget: put, incr and cas are refused (ZK_BUDGET_EXCEEDED). */
  readonly over: boolean;
  /** normal, tight (wal/ compacted through the newest snapshot) or over. */
  readonly mode: string;
  readonly reason: string;
  readonly countedMsAgo: number;
}

/** A snapshot taken by `takeSnapshot`. */
export interface SnapshotTakenView {
  readonly memberId: string;
  readonly address: string;
  readonly index: number;
  readonly term: number;
  readonly sizeBytes: number;
  readonly tookMs: number;
  /** The upload to ZooKeeper: 'published', 'not-leader', 'over-budget' or 'failed: why'. */
  readonly publish: string;
  readonly zkBudget: ZkBudgetView | null;
}

export function budgetView(b: { usedBytes?: number | null; budgetBytes?: number | null; walBytes?: number | null; snapshotBytes?: number | null; over?: boolean | null; mode?: string | null; reason?: string | null; countedMsAgo?: number | null } | null | undefined): ZkBudgetView | null {
  if (!b || !b.budgetBytes) return null;
  return {
    usedBytes: b.usedBytes ?? 0,
    budgetBytes: b.budgetBytes,
    walBytes: b.walBytes ?? 0,
    snapshotBytes: b.snapshotBytes ?? 0,
    over: b.over ?? false,
    mode: b.mode ?? '',
    reason: b.reason ?? '',
    countedMsAgo: b.countedMsAgo ?? 0,
  };
}
