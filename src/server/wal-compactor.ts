// The leader's compaction of wal/ in ZooKeeper outside its own publishes (notes/snapshots.md,
// "Who compacts wal/, and when").
//
// A publish compacts wal/ right after its upload. That alone let wal/ grow without bound when
// leaders changed every few seconds (notes/results.md, the soak of 2026-11-30: 249,427
// segments, 74.7 MB): a leader deposed during its publish, or whose compaction stopped with
// `more`, left the covered segments behind, and the next leader compacted only after its own
// next upload, which a short term rarely reached. So a leader also compacts
//   - soon after its term starts (behind the snapshots already in ZooKeeper: it takes no
//     snapshot for it), and
//   - after a publish, for what the publish left (a publish compacts at most one round
//     itself, so that it never holds up the upload of the next snapshot: in the soak, a
//     publish compacting 16 rounds of 10,000 segments took 77 s, the snapshots taken
//     meanwhile were never uploaded, ZooKeeper's newest snapshot fell ~94,000 entries
//     behind, and a wiped node's walk of the log after it took 97 s), or whose compaction
//     failed.
//
// What goes: exactly what a publish would delete, the segments covered by
// compactionTarget(complete snapshots, keep): the oldest of the `keep` newest complete
// snapshots, so the fallback snapshot's log stays (keep is 1 while the budget is tight or
// over, as for the publish). compactWal checks that manifest in
// ZooKeeper before it deletes anything, and every multi checks the epoch version this term
// fenced with: a deposed leader deletes nothing.
//
// How: in the background, after the term's first writes; rounds of at most ROUND_SEGMENTS
// segments (multis of at most 100 deletes, one at a time, so a commit multi on the same
// session waits for at most one of them); at most MAX_ROUNDS per run, then a pause and
// another run. The snapshot store runs its writes one at a time, so a publish waits for at
// most one round. A round never overlaps the budget's count of ZooKeeper (host.busy()), so
// the count stays exact. It stops quietly when the node no longer leads with that epoch
// version or a multi is fenced; other failures are retried a bounded number of times, then
// left to the next publish or term.
import { sleep, type Clock, type TimerHandle } from '../common/clock.js';
import { EpochFencedError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { compactionTarget, type ZkSnapshotStore } from '../coordination/zk-snapshot-store.js';
import type { CompactionReport } from '../coordination/zk-wal-compaction.js';

/** What the compactor needs of the snapshot store in ZooKeeper. */
export type CompactingStore = Pick<ZkSnapshotStore, 'list' | 'compactWal'>;

export interface WalCompactorHost {
  /** The epoch version this node leads with now, or null while it does not lead. */
  leaderEpochVersion(): number | null;
  /**
   * Complete snapshots whose log wal/ keeps (compactionTarget's keep): the snapshot
   * policy's, or 1 while the ZooKeeper budget is tight or over (a publish then compacts
   * through the newest too; budgeted-publish.ts).
   */
  keepSnapshots(): number;
  /** What a round must wait for before it starts (the budget's count of ZooKeeper), or null. */
  busy(): Promise<unknown> | null;
  /** A round under `epochVersion` deleted segments (the budget subtracts them). */
  compacted(epochVersion: number, report: CompactionReport): void;
  /**
   * A round under `epochVersion` failed: it may have deleted some segments before it did,
   * which the budget did not subtract (it counts ZooKeeper again soon).
   */
  compactionFailed?(epochVersion: number): void;
}

export interface WalCompactorLimits {
  /** A new term compacts this long after it starts (its take-over and first writes go first). */
  readonly startDelayMs: number;
  /** Segments one round deletes at most (one call of compactWal). */
  readonly roundSegments: number;
  /** Rounds one run makes at most; then it pauses for resumeAfterMs and runs again. */
  readonly maxRounds: number;
  readonly resumeAfterMs: number;
  /** Failed rounds in a row a run survives (each after a doubling backoff from failureBackoffMs). */
  readonly maxFailures: number;
  readonly failureBackoffMs: number;
}

export const defaultWalCompactorLimits: WalCompactorLimits = {
  startDelayMs: 1_000,
  roundSegments: 1_000,
  maxRounds: 50,
  resumeAfterMs: 1_000,
  maxFailures: 3,
  failureBackoffMs: 1_000,
};

export interface WalCompactorOptions {
  readonly store: CompactingStore;
  readonly host: WalCompactorHost;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits?: Partial<WalCompactorLimits>;
}

/** How a run ended. */
export type CompactionRunOutcome = 'done' | 'more' | 'stopped' | 'failed';

export class WalCompactor {
  private readonly o: WalCompactorOptions;
  private readonly limits: WalCompactorLimits;
  private planned: { readonly epoch: number; readonly timer: TimerHandle } | null = null;
  /** The run going on (or queued): its epoch, and whether it is asked to run again when done. */
  private current: { readonly epoch: number; again: boolean } | null = null;
  private runs: Promise<void> = Promise.resolve();
  private round: Promise<unknown> | null = null;
  private stopped = false;

  constructor(options: WalCompactorOptions) {
    this.o = options;
    this.limits = { ...defaultWalCompactorLimits, ...options.limits };
  }

  /** This node leads with `epochVersion` now (a new term): compact behind ZooKeeper's snapshots soon. */
  termStarted(epochVersion: number): void {
    this.plan(epochVersion, this.limits.startDelayMs);
  }

  /** A publish under `epochVersion` left covered segments behind (its compaction said `more`, or failed): go on now. */
  resume(epochVersion: number): void {
    this.start(epochVersion);
  }

  /** Whether a run under `epochVersion` is under way or planned (covered segments are still being deleted). */
  pending(epochVersion: number): boolean {
    return this.current?.epoch === epochVersion || this.planned?.epoch === epochVersion;
  }

  /** The round in flight, if any (the budget's count waits for it). */
  roundInFlight(): Promise<unknown> | null {
    return this.round;
  }

  /** Resolves when the runs started so far have ended (tests). */
  idle(): Promise<void> {
    return this.runs;
  }

  stop(): void {
    this.stopped = true;
    this.planned?.timer.cancel();
    this.planned = null;
  }

  private plan(epoch: number, delayMs: number): void {
    if (this.stopped || this.planned?.epoch === epoch) return;
    this.planned?.timer.cancel();
    const timer = this.o.clock.setTimeout(() => {
      if (this.planned?.timer !== timer) return;
      this.planned = null;
      this.start(epoch);
    }, delayMs);
    this.planned = { epoch, timer };
  }

  private start(epoch: number): void {
    if (this.stopped) return;
    if (this.current?.epoch === epoch) {
      this.current.again = true;
      return;
    }
    const me = { epoch, again: true };
    this.current = me;
    this.runs = this.runs.then(async () => {
      try {
        while (me.again && this.leads(epoch)) {
          me.again = false;
          if ((await this.run(epoch)) === 'more') {
            this.plan(epoch, this.limits.resumeAfterMs);
            return;
          }
        }
      } catch (err) {
        // run() throws nothing itself; a host callback might. Never an unhandled rejection,
        // and the runs after it still go.
        this.o.logger.error({ epochVersion: epoch, err: (err as Error).message }, 'zk wal: compaction run ended by an error');
      } finally {
        if (this.current === me) this.current = null;
      }
    });
  }

  private leads(epoch: number): boolean {
    return !this.stopped && this.o.host.leaderEpochVersion() === epoch;
  }

  /** Rounds until nothing covered is left, at most maxRounds; never throws. */
  private async run(epoch: number): Promise<CompactionRunOutcome> {
    const { host, logger } = this.o;
    const l = this.limits;
    let failures = 0;
    let rounds = 0;
    let deletedSegments = 0;
    let deletedBytes = 0;
    let through = 0;
    const end = (outcome: CompactionRunOutcome): CompactionRunOutcome => {
      if (deletedSegments > 0) logger.info({ epochVersion: epoch, through, rounds, deletedSegments, deletedBytes, outcome }, 'zk wal: compacted behind the snapshots in ZooKeeper');
      return outcome;
    };
    while (rounds < l.maxRounds) {
      for (let b = host.busy(); b !== null; b = host.busy()) {
        await b.then(
          () => undefined,
          () => undefined,
        );
      }
      // Checked after the wait and right before the round starts (no await in between), so
      // that a count starting now finds the round in flight and waits for it.
      if (!this.leads(epoch)) return end('stopped');
      const round = this.oneRound(epoch);
      this.round = round;
      let r: { through: number; report: CompactionReport } | null;
      try {
        r = await round;
      } catch (err) {
        // Deposed meanwhile: the new leader may be compacting the same segments, so a walk
        // that finds one gone (CorruptZnodeError) is no news; stop without a warning.
        host.compactionFailed?.(epoch);
        if (err instanceof EpochFencedError || !this.leads(epoch)) {
          logger.debug({ epochVersion: epoch, err: (err as Error).message }, 'zk wal: compaction stopped: this node no longer leads with this epoch');
          return end('stopped');
        }
        if (++failures > l.maxFailures) {
          logger.warn({ epochVersion: epoch, err: (err as Error).message, failures }, 'zk wal: compaction failed; left to the next publish or term');
          return end('failed');
        }
        logger.warn({ epochVersion: epoch, err: (err as Error).message, failures }, 'zk wal: compaction round failed; trying again');
        await sleep(this.o.clock, l.failureBackoffMs * 2 ** (failures - 1));
        continue;
      } finally {
        if (this.round === round) this.round = null;
      }
      if (r === null) return end('done');
      rounds++;
      failures = 0;
      through = r.through;
      if (r.report.deletedSegments > 0) {
        deletedSegments += r.report.deletedSegments;
        deletedBytes += r.report.deletedBytes;
        host.compacted(epoch, r.report);
      }
      if (!r.report.more) return end('done');
    }
    return end('more');
  }

  /** One bounded round through compactionTarget; null when no snapshot may be compacted through. */
  private async oneRound(epoch: number): Promise<{ through: number; report: CompactionReport } | null> {
    const target = compactionTarget(await this.o.store.list(), this.o.host.keepSnapshots());
    if (!target) return null;
    const report = await this.o.store.compactWal(epoch, target, this.limits.roundSegments);
    return { through: target.point.index, report };
  }
}
